"""The alert outbox: each notification to send, per channel, until the channel accepted it.

An evaluation's alert states and the notifications they call for are written in one
transaction (`record_alerts`), one row of `monitoring.alert_outbox` per notification and
channel, so a run that dies after the evaluation leaves them to whoever delivers next. Every
deliverer (the sensor each tick, `make run` after its job) sends from here and nowhere else:

- it **claims** the rows that are due in one transaction (state ``attempting``, its id, the
  time); a row another deliverer claimed is left alone unless that deliverer's process is gone
  or its claim is older than ``CLAIM_TIMEOUT``;
- it sends each claimed row and records the outcome: ``sent`` once the channel accepted it;
  else ``pending`` again with its next try after an exponential back-off, and ``failed`` after
  ``MAX_ATTEMPTS`` tries (said in the log, kept in the table). A channel that failed is not
  tried again in the same pass; the channels that accepted are never sent the row again.

DuckDB lets one process write a file at a time, and a run's steps open the warehouse whenever
they need it: a deliverer holds the warehouse's run lock (`run_lock`) for its pass, and gives up
at once (nothing lost: the rows wait) when a run holds it. The process that runs the job holds
that lock already and delivers under it. The warehouse itself is opened only for the claim and
for recording outcomes, never while a message is on its way.

Every run of the job holds that lock from its first step to its last, however launched
(`orchestration.defs.reporting_day`); a deliverer also leaves the warehouse alone while a run
of its Dagster instance is at work (``busy``), whatever that run holds. When the warehouse
cannot be opened to record the outcomes (another program has it open), they are kept
(`Pass.unrecorded`, in the sensor's cursor) and recorded by the next pass before it claims
anything.

A message is sent at most once unless its deliverer dies between the channel's acceptance and
the record of it: the next deliverer sends it again with the same ``message_id``, by which the
receiver can tell.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from orchestration.lib.notify import LOG, ChannelError, redacted, send, title
from orchestration.lib.run_lock import Owner, is_alive, lock_path, process_start_ticks

# Tries per message and channel, the wait before the second, doubled after each failure up to
# the longest: 15 s, 30 s, 1 min … 1 h, so a channel is given about two hours to come back.
MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=15)
LONGEST_RETRY = timedelta(hours=1)
# A claim whose deliverer cannot be seen (another host) or hangs is taken over after this.
CLAIM_TIMEOUT = timedelta(minutes=10)
# Recording a pass's outcomes is retried this long if the warehouse is briefly unavailable.
RECORD_PATIENCE_SECONDS = 10.0

OUTBOX_DDL = """
create schema if not exists monitoring;
create table if not exists monitoring.alert_outbox (
    message_id varchar not null primary key,  -- stable: alert, evaluation day, state, channel
    channel varchar not null,          -- 'log', or a hash of the channel's URL (secrets stay out)
    channel_shown varchar not null,    -- the channel without its secrets
    alert_id varchar not null,
    evaluated_on date not null,
    state varchar not null,            -- the alert's: new, escalated, recovered, suppressed
    position integer not null,         -- order of the notification in its evaluation
    payload varchar not null,          -- the notification, JSON
    status varchar not null,           -- pending, attempting, sent, failed
    attempts integer not null,
    next_attempt_at timestamp not null,  -- UTC
    claimed_by varchar,
    claimed_at timestamp,
    last_error varchar,
    recorded_at timestamp not null,
    sent_at timestamp
);
create table if not exists monitoring.alert_evaluations (
    evaluated_at timestamp not null,   -- UTC
    evaluated_on date not null,
    series_evaluated integer not null,
    suppressed_because varchar
);
"""

SUPPRESSION_ID = "kpi_alerts|suppressed"


def utcnow() -> datetime:
    """Now in UTC, naive, as the outbox's timestamps are stored."""
    return datetime.now(UTC).replace(tzinfo=None)


def channel_key(channel: str) -> str:
    """How a channel is named in the warehouse: its URL holds secrets, so a hash of it."""
    if channel == LOG:
        return LOG
    return "url:" + hashlib.sha256(channel.encode()).hexdigest()[:16]


def message_id(alert_id: str, evaluated_on: date | str, state: str, channel: str) -> str:
    """The stable id of one notification to one channel.

    >>> message_id("acv|total|all|decline", "2026-06-30", "new", "log")
    '387c1a47e25d7d950cce91a2'
    """
    text = f"{alert_id}|{evaluated_on}|{state}|{channel_key(channel)}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed try.

    >>> [int(retry_delay(n).total_seconds()) for n in (1, 2, 3, 9, 10)]
    [15, 30, 60, 3600, 3600]
    """
    return min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)


def previous_suppression(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the latest evaluation recorded was suppressed (its suppression was announced)."""
    row = con.execute(
        "select suppressed_because from monitoring.alert_evaluations "
        "order by evaluated_at desc limit 1"
    ).fetchone()
    return row is not None and row[0] is not None


def enqueue(
    con: duckdb.DuckDBPyConnection,
    evaluated_on: date,
    series_evaluated: int,
    suppressed_because: str | None,
    to_send: Sequence[Mapping[str, Any]],
    channels: Iterable[str],
) -> None:
    """Records an evaluation and its notifications for the log and each channel, inside the
    caller's transaction. A message already recorded (same id) is kept as it is."""
    now = utcnow()
    con.execute(
        "insert into monitoring.alert_evaluations values (?, ?, ?, ?)",
        [now, evaluated_on, series_evaluated, suppressed_because],
    )
    rows = []
    for position, notification in enumerate(to_send):
        alert_id = notification.get("alert_id") or SUPPRESSION_ID
        payload = {**notification, "alert_id": alert_id, "evaluated_on": str(evaluated_on)}
        for channel in dict.fromkeys([LOG, *channels]):
            state = notification["state"]
            rows.append(
                [
                    message_id(alert_id, evaluated_on, state, channel),
                    channel_key(channel),
                    redacted(channel),
                    alert_id,
                    evaluated_on,
                    state,
                    position,
                    json.dumps(payload, default=str),
                    now,
                    now,
                ]
            )
    if not rows:
        return
    con.executemany(
        """insert or ignore into monitoring.alert_outbox (message_id, channel, channel_shown,
        alert_id, evaluated_on, state, position, payload, status, attempts, next_attempt_at,
        recorded_at) values (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)""",
        rows,
    )


@dataclass
class Pass:
    """What one delivery pass did."""

    # the notifications it sent to the log, i.e. raised, in the order they were recorded
    raised: list[dict] = field(default_factory=list)
    accepted: int = 0  # messages the channels accepted
    failures: list[str] = field(default_factory=list)  # failed tries, without secrets
    gave_up: list[str] = field(default_factory=list)  # messages marked failed for good
    skipped: str | None = None  # why it did not deliver at all
    next_due: datetime | None = None  # when the earliest message still waiting is due
    # outcomes sent but not yet recorded (another was at work on the warehouse), JSON-ready:
    # for the next pass to record before it claims anything
    unrecorded: list[dict] = field(default_factory=list)


@dataclass(frozen=True)
class _Claimed:
    message_id: str
    channel: str
    attempts: int
    payload: dict


def deliver(
    warehouse: Path,
    channels: Sequence[str],
    log: logging.Logger,
    *,
    now: Callable[[], datetime] = utcnow,
    busy: Callable[[], str | None] = lambda: None,
    unrecorded: Sequence[Mapping[str, Any]] = (),
) -> Pass:
    """One pass: claims what is due for the log and ``channels``, sends it, records how it went.

    ``now`` is the clock of the claims and back-offs (UTC, naive). ``busy`` names what else is
    at work on the warehouse without its lock (a run launched by the daemon), if anything: the
    warehouse is not opened meanwhile. ``unrecorded`` are the outcomes an earlier pass of this
    deliverer could not record (its `Pass.unrecorded`): recorded first.
    """
    if not warehouse.exists():
        return Pass(skipped=f"{warehouse} does not exist yet")
    by_key = {channel_key(channel): channel for channel in dict.fromkeys([LOG, *channels])}
    claimer = _claimer_id()
    with _turn(warehouse) as holder:
        if holder is not None:
            return Pass(skipped=f"the warehouse is in use by {holder}", unrecorded=[*unrecorded])
        if other := busy():
            return Pass(skipped=other, unrecorded=[*unrecorded])
        if unrecorded:
            carried = Pass()
            _record(warehouse, [_Result.load(item) for item in unrecorded], [], now(), log, carried)
            if carried.unrecorded:
                return Pass(
                    skipped="the outcomes of the last pass are still to be recorded",
                    unrecorded=carried.unrecorded,
                )
        try:
            with duckdb.connect(str(warehouse)) as con:
                if not _has_outbox(con):
                    return Pass()
                claimed = _claim(con, claimer, list(by_key), now())
                _warn_unknown_channels(con, list(by_key), log)
                if not claimed:
                    return Pass(next_due=_next_due(con, list(by_key)))
        except duckdb.Error as error:
            return Pass(skipped=f"the warehouse could not be opened: {_first_line(error)}")
        outcome = Pass()
        results = _send(claimer, claimed, by_key, log, outcome)
        _record(warehouse, results, list(by_key), now(), log, outcome, busy)
    return outcome


def _claimer_id() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{process_start_ticks(pid) or ''}:{uuid.uuid4().hex[:8]}"


def _claimer_gone(claimer: str | None, claimed_at: datetime | None, now: datetime) -> bool:
    """Whether a claim may be taken over: its process is gone, or it is too old."""
    if claimed_at is None or now - claimed_at > CLAIM_TIMEOUT:
        return True
    host, pid, ticks, _ = (claimer or ":::").split(":", 3)
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return not is_alive(int(pid), int(ticks) if ticks.isdigit() else None)


def _has_outbox(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'monitoring' and table_name = 'alert_outbox'"
        ).fetchone()[0]
    )


def _claim(
    con: duckdb.DuckDBPyConnection, claimer: str, channels: list[str], now: datetime
) -> list[_Claimed]:
    """Marks the due rows of ``channels`` as attempted by ``claimer``, in one transaction: of
    two deliverers at once, one gets each row (the other's update conflicts and claims none)."""
    try:
        con.execute("begin")
        attempting = con.execute(
            "select message_id, claimed_by, claimed_at from monitoring.alert_outbox "
            "where status = 'attempting' and list_contains($channels, channel)",
            {"channels": channels},
        ).fetchall()
        orphans = [row[0] for row in attempting if _claimer_gone(row[1], row[2], now)]
        rows = con.execute(
            """
            update monitoring.alert_outbox
            set status = 'attempting', claimed_by = $claimer, claimed_at = $now,
                attempts = attempts + 1
            where list_contains($channels, channel) and (
                (status = 'pending' and next_attempt_at <= $now)
                or (status = 'attempting' and list_contains($orphans, message_id)))
            returning message_id, channel, attempts, payload, recorded_at, position
            """,
            {"claimer": claimer, "now": now, "channels": channels, "orphans": orphans},
        ).fetchall()
        con.execute("commit")
    except duckdb.TransactionException:
        con.execute("rollback")
        return []
    rows.sort(key=lambda row: (row[4], row[5], row[1] != LOG))
    return [_Claimed(row[0], row[1], row[2], json.loads(row[3])) for row in rows]


def _next_due(con: duckdb.DuckDBPyConnection, channels: list[str]) -> datetime | None:
    return con.execute(
        "select min(next_attempt_at) from monitoring.alert_outbox "
        "where status = 'pending' and list_contains($channels, channel)",
        {"channels": channels},
    ).fetchone()[0]


def _warn_unknown_channels(
    con: duckdb.DuckDBPyConnection, channels: list[str], log: logging.Logger
) -> None:
    waiting = con.execute(
        "select channel_shown, count(*) from monitoring.alert_outbox "
        "where status in ('pending', 'attempting') and not list_contains($channels, channel) "
        "group by all order by all",
        {"channels": channels},
    ).fetchall()
    for shown, count in waiting:
        log.warning(
            "%d alert message(s) wait for %s, which ALERT_CHANNELS no longer names: they are "
            "sent once it does again",
            count,
            shown,
        )


@dataclass(frozen=True)
class _Result:
    claimer: str
    claimed: _Claimed
    error: str | None = None  # why the channel refused it
    tried: bool = True  # False: not tried, its channel had failed already in this pass

    def dump(self) -> dict:
        return asdict(self)

    @classmethod
    def load(cls, item: Mapping[str, Any]) -> _Result:
        return cls(**{**item, "claimed": _Claimed(**item["claimed"])})


def _send(
    claimer: str,
    claimed: list[_Claimed],
    by_key: Mapping[str, str],
    log: logging.Logger,
    outcome: Pass,
) -> list[_Result]:
    results: list[_Result] = []
    failed: set[str] = set()
    for row in claimed:
        if row.channel in failed:
            results.append(_Result(claimer, row, tried=False))
            continue
        try:
            send(by_key[row.channel], {**row.payload, "message_id": row.message_id}, log)
        except ChannelError as error:
            failed.add(row.channel)
            outcome.failures.append(str(error))
            results.append(_Result(claimer, row, error=str(error)))
            continue
        results.append(_Result(claimer, row))
        outcome.accepted += 1
        if row.channel == LOG:
            outcome.raised.append(row.payload)
    return results


def _record(
    warehouse: Path,
    results: list[_Result],
    channels: list[str],
    now: datetime,
    log: logging.Logger,
    outcome: Pass,
    busy: Callable[[], str | None] = lambda: None,
) -> None:
    """Writes each outcome, in one transaction (retried a little while the warehouse cannot be
    opened or another is at work on it), then logs what failed."""
    # A message not tried because its channel failed in this pass waits as long as the failure.
    retry_at = {
        result.claimed.channel: now + retry_delay(result.claimed.attempts)
        for result in results
        if result.error is not None
    }
    deadline = time.monotonic() + RECORD_PATIENCE_SECONDS
    while True:
        try:
            if other := busy():
                raise duckdb.IOException(other)
            with duckdb.connect(str(warehouse)) as con:
                con.execute("begin")
                for result in results:
                    _record_one(con, result, now, retry_at)
                outcome.next_due = _next_due(con, channels)
                con.execute("commit")
            break
        except duckdb.Error as error:
            if time.monotonic() > deadline:
                log.warning(
                    "the outcome of %d alert message(s), %d of them accepted, is recorded by "
                    "the next pass (%s)",
                    len(results),
                    sum(result.tried and result.error is None for result in results),
                    _first_line(error),
                )
                outcome.unrecorded = [result.dump() for result in results]
                return
            time.sleep(0.5)
    for result in results:
        row = result.claimed
        if result.error is None:
            continue
        if row.attempts >= MAX_ATTEMPTS:
            outcome.gave_up.append(row.message_id)
            log.error(
                "alert message %s (%s) FAILED for good after %d tries: %s",
                row.message_id,
                _headline(row.payload),
                row.attempts,
                result.error,
            )
        else:
            log.error(
                "alert channel %s (try %d of %d); tried again in %d s",
                result.error,
                row.attempts,
                MAX_ATTEMPTS,
                retry_delay(row.attempts).total_seconds(),
            )


def _record_one(
    con: duckdb.DuckDBPyConnection,
    result: _Result,
    now: datetime,
    retry_at: Mapping[str, datetime],
) -> None:
    row = result.claimed
    mine = "where message_id = $id and claimed_by = $claimer and status = 'attempting'"
    ids = {"id": row.message_id, "claimer": result.claimer}
    if result.error is None and result.tried:
        # accepted, whoever holds the claim now: it must not be sent again
        con.execute(
            "update monitoring.alert_outbox set status = 'sent', sent_at = $now, "
            "claimed_by = null, last_error = null where message_id = $id and status <> 'sent'",
            {"id": row.message_id, "now": now},
        )
    elif not result.tried:
        con.execute(
            "update monitoring.alert_outbox set status = 'pending', attempts = attempts - 1, "
            f"claimed_by = null, next_attempt_at = $next {mine}",
            {**ids, "next": retry_at[row.channel]},
        )
    elif row.attempts >= MAX_ATTEMPTS:
        con.execute(
            "update monitoring.alert_outbox set status = 'failed', claimed_by = null, "
            f"last_error = $error {mine}",
            {**ids, "error": result.error},
        )
    else:
        con.execute(
            "update monitoring.alert_outbox set status = 'pending', claimed_by = null, "
            f"last_error = $error, next_attempt_at = $next {mine}",
            {**ids, "error": result.error, "next": retry_at[row.channel]},
        )


def _headline(payload: Mapping[str, Any]) -> str:
    return f"[{payload['state'].upper()}] {title(payload)}"


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


@contextmanager
def _turn(warehouse: Path) -> Iterator[str | None]:
    """This deliverer's turn at the warehouse: yields None while it may use it, or who holds it.

    The lock is the runs' (`run_lock`): a process that holds it already (`make run`, whose job
    ran under it) delivers under its hold. Another takes it without waiting, naming itself for
    a run that would wait meanwhile, and puts back what the file said before (a run that died
    holding it is for the next run to find).
    """
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = Owner.parse(file.read())
            if holder is not None and _is_this_process(holder):
                yield None
            else:
                yield holder.describe() if holder else "another process"
            return
        file.seek(0)
        before = file.read()
        _rewrite(file, json.dumps(asdict(Owner.current("alert-delivery"))))
        try:
            yield None
        finally:
            _rewrite(file, before)
            # closing the file drops the lock


def _is_this_process(owner: Owner) -> bool:
    pid = os.getpid()
    return (
        owner.pid == pid
        and owner.host == socket.gethostname()
        and owner.start_ticks == process_start_ticks(pid)
    )


def _rewrite(file: Any, text: str) -> None:
    try:
        file.seek(0)
        file.truncate()
        file.write(text)
        file.flush()
    except OSError:
        pass  # on a full disk the lock holds all the same, only nameless
