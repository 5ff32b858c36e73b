"""Faults of operation, on the demo company: each ends with nothing lost and nothing sent twice.

A run is killed (``kill -9`` of its process, as the OOM killer does) at a point of its work,
then a normal run follows; two runs start at once; the disk fills up, then space is freed. After
each, the serving copy must equal a clean run's row for row (EXCEPT ALL both ways), the raw
tables must hold as many rows, and the alert channel (a webhook on loopback) must have accepted
each of the clean run's alerts exactly once. The suite prints a table of what it found:

    make test-faults

The faults of the CRM API are `test_crm_faults.py`'s.
"""

import os
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from radar_runs import RUN_TIMEOUT, Run, radar_env, wait_until
from receivers import Receivers
from report import print_table

from orchestration.lib.outbox import message_id
from orchestration.lib.settings import PROJECT_ROOT

pytestmark = pytest.mark.faults

# `python -m orchestration run` that stops, once, at a point of its work until it is killed:
# PAUSE_AT names a function (module:qualified name), the call to stop at and whether before or
# after it runs; PAUSE_MARKER is the file that says the run got there.
PAUSED_RUN = textwrap.dedent(
    """
    import importlib, os, sys, time
    from pathlib import Path

    target, call, when = os.environ["PAUSE_AT"].split("|")
    module_name, name = target.split(":")
    owner = importlib.import_module(module_name)
    *path, attribute = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = getattr(owner, attribute)
    calls = []

    def pause():
        Path(os.environ["PAUSE_MARKER"]).write_text(target)
        time.sleep(3600)

    def paused(*args, **kwargs):
        calls.append(1)
        if len(calls) == int(call) and when == "before":
            pause()
        result = original(*args, **kwargs)
        if len(calls) == int(call) and when == "after":
            pause()
        return result

    setattr(owner, attribute, paused)
    from orchestration.__main__ import main
    sys.exit(main(["run"]))
    """
)

# Columns whose value is the time of the run that wrote them, not a fact of the data.
RUN_TIME_COLUMNS = {"_loaded_at", "recorded_at", "evaluated_at", "next_attempt_at"}
# Monitoring tables that log each evaluation and delivery: compared through the alerts received.
DELIVERY_LOGS = {"alert_outbox", "alert_evaluations"}


@dataclass(frozen=True)
class Outcome:
    fault: str
    outcome: str
    raw_rows_lost: int
    raw_rows_extra: int
    mart_rows_lost: int
    mart_rows_extra: int
    alerts_lost: int
    alerts_duplicated: int


FOUND: list[Outcome] = []


@pytest.fixture(scope="module", autouse=True)
def table(request):
    """Prints what each fault came to once the module's tests ran."""
    yield
    header = list(Outcome.__dataclass_fields__)
    rows = [header] + [[str(getattr(found, name)) for name in header] for found in FOUND]
    print_table(request.config, "faults of operation", rows if FOUND else [])


@dataclass(frozen=True)
class Clean:
    data: Path
    alerts: set[tuple[str, str, str]]  # (alert_id, evaluated_on, state) of each notification


@pytest.fixture(scope="module")
def clean(tmp_path_factory, small_demo) -> Clean:
    """A run that nothing disturbs: what every fault must end with."""
    root = tmp_path_factory.mktemp("clean")
    receivers = Receivers()
    try:
        env = radar_env(root, small_demo, ALERT_CHANNELS=receivers.url("/alerts"))
        run = Run(env, root / "run.out")
        try:
            assert run.finish() == 0, run.text()
        finally:
            run.stop()
    finally:
        receivers.close()
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        alerts = con.execute(
            "select alert_id, evaluated_on::varchar, state from monitoring.alert_outbox "
            "where channel = 'log'"
        ).fetchall()
    assert alerts, "the demo company raises alerts on its as-of day"
    assert len(receivers.accepted) == len(alerts)
    return Clean(root / "data", set(alerts))


def _tables(con: duckdb.DuckDBPyConnection, database: str, schemas: str) -> list[tuple]:
    return con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = ? "
        f"and regexp_matches(schema_name, '{schemas}') and not starts_with(table_name, '_dlt') "
        "and not ends_with(schema_name, '_staging') "
        "order by all",
        [database],
    ).fetchall()


def _count(con: duckdb.DuckDBPyConnection, query: str) -> int:
    return con.execute(f"select count(*) from ({query})").fetchone()[0]


def _rows_differing(clean: Path, other: Path) -> tuple[int, int, int, int]:
    """Raw rows the other warehouse lacks and has more of (by count per table), and rows of
    the serving copy the other lacks and has more of (EXCEPT ALL both ways)."""
    with duckdb.connect() as con:
        for name, data in (("clean", clean), ("other", other)):
            con.execute(f"attach '{data / 'warehouse.duckdb'}' as {name}_warehouse (read_only)")
            con.execute(f"attach '{data / 'serving.duckdb'}' as {name}_serving (read_only)")
        raw_lost = raw_extra = 0
        raw_tables = _tables(con, "clean_warehouse", "^raw_")
        assert raw_tables == _tables(con, "other_warehouse", "^raw_")
        for schema, name in raw_tables:
            (difference,) = con.execute(
                f"select (select count(*) from other_warehouse.{schema}.{name}) "
                f"- (select count(*) from clean_warehouse.{schema}.{name})"
            ).fetchone()
            raw_lost += max(-difference, 0)
            raw_extra += max(difference, 0)
        mart_lost = mart_extra = 0
        served = [t for t in _tables(con, "clean_serving", ".") if t[1] not in DELIVERY_LOGS]
        assert served == [
            t for t in _tables(con, "other_serving", ".") if t[1] not in DELIVERY_LOGS
        ]
        for schema, name in served:
            columns = [
                column
                for (column,) in con.execute(
                    "select column_name from duckdb_columns() where database_name = "
                    "'clean_serving' and schema_name = ? and table_name = ? order by column_index",
                    [schema, name],
                ).fetchall()
                if column not in RUN_TIME_COLUMNS
            ]
            select = ", ".join(f'"{column}"' for column in columns)
            clean_rows = f"select {select} from clean_serving.{schema}.{name}"
            other_rows = f"select {select} from other_serving.{schema}.{name}"
            mart_lost += _count(con, f"{clean_rows} except all {other_rows}")
            mart_extra += _count(con, f"{other_rows} except all {clean_rows}")
    return raw_lost, raw_extra, mart_lost, mart_extra


def _record(fault: str, outcome: str, clean: Clean, data: Path, receivers: Receivers) -> Outcome:
    channel = receivers.url("/alerts")
    expected = {message_id(*alert, channel) for alert in clean.alerts}
    received = Counter(body["message_id"] for _, body in receivers.accepted)
    assert set(received) <= expected, "only the clean run's alerts are sent"
    found = Outcome(
        fault,
        outcome,
        *_rows_differing(clean.data, data),
        alerts_lost=len(expected - set(received)),
        alerts_duplicated=sum(count - 1 for count in received.values()),
    )
    FOUND.append(found)
    return found


def _nothing_lost_nothing_twice(found: Outcome) -> None:
    assert (
        found.raw_rows_lost,
        found.raw_rows_extra,
        found.mart_rows_lost,
        found.mart_rows_extra,
        found.alerts_lost,
        found.alerts_duplicated,
    ) == (0, 0, 0, 0, 0, 0), found


@dataclass(frozen=True)
class Kill:
    fault: str
    pause_at: str | None = None  # module:function|call|before or after
    log_line: str | None = None  # or: a line of the run's log to kill it at


KILLS = [
    Kill(
        "kill -9 during extraction (CRM landed, ERP being read)",
        pause_at="orchestration.lib.sources.erp:_Sorter.batches|3|before",
    ),
    Kill(
        "kill -9 during dbt (staging built, marts being built)",
        log_line="OK created sql view model staging.stg_erp__orders",
    ),
    Kill(
        "kill -9 after the KPI evaluation, before delivery",
        pause_at="orchestration.defs.monitoring.alerts:raise_alerts|1|before",
    ),
    Kill(
        "kill -9 during publication (new copy written, not yet renamed)",
        pause_at="orchestration.lib.serving:_copy|1|after",
    ),
]


@pytest.mark.parametrize("kill", KILLS, ids=lambda kill: kill.fault.split(" (")[0])
def test_a_run_killed_at_each_point_is_followed_by_a_run_that_ends_as_a_clean_one(
    kill, clean, small_demo, tmp_path, receivers
):
    env = radar_env(tmp_path, small_demo, ALERT_CHANNELS=receivers.url("/alerts"))
    marker = tmp_path / "paused"
    if kill.pause_at:
        env.update(PAUSE_AT=kill.pause_at, PAUSE_MARKER=str(marker))
        killed = Run(env, tmp_path / "killed.out", [sys.executable, "-c", PAUSED_RUN])
    else:
        killed = Run(env, tmp_path / "killed.out")
    following = None
    try:
        if kill.pause_at:
            wait_until(
                lambda: marker.exists() or killed.process.poll() is not None,
                RUN_TIMEOUT,
                "at the point to kill",
            )
            assert marker.exists(), killed.text()
        else:
            log = PROJECT_ROOT / killed.wait_for(r"Run log: (\S+)").group(1)
            wait_until(lambda: kill.log_line in log.read_text(), RUN_TIMEOUT, kill.log_line)
        sent_before = len(receivers.accepted)
        killed.kill()
        following = Run(env, tmp_path / "following.out")
        assert following.finish() == 0, following.text()
        out = following.text()
        assert "Recovered from run" in out, out
        found = _record(
            kill.fault,
            f"next run recovered and succeeded ({sent_before} alerts sent before the kill)",
            clean,
            tmp_path / "data",
            receivers,
        )
    finally:
        killed.stop()
        if following is not None:
            following.stop()
    _nothing_lost_nothing_twice(found)


def test_two_runs_started_at_once_take_turns_and_end_as_a_clean_one(
    clean, small_demo, tmp_path, receivers
):
    env = radar_env(tmp_path, small_demo, ALERT_CHANNELS=receivers.url("/alerts"))
    runs = [Run(env, tmp_path / f"run{n}.out") for n in (1, 2)]
    try:
        statuses = [run.finish() for run in runs]
        texts = [run.text() for run in runs]
    finally:
        for run in runs:
            run.stop()
    assert statuses == [0, 0], texts
    waited = [text for text in texts if "The warehouse is in use by run" in text]
    assert len(waited) == 1, texts
    found = _record(
        "two runs started at once",
        "the second waited for the first, naming it; both succeeded",
        clean,
        tmp_path / "data",
        receivers,
    )
    _nothing_lost_nothing_twice(found)


@pytest.fixture
def small_disk(tmp_path, clean):
    """A tmpfs with half the room a run needs (only root may mount one)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a full disk needs a small tmpfs, which only root can mount")
    needed = sum(path.stat().st_size for path in clean.data.rglob("*") if path.is_file())
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={needed // 2}", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")

    def free_space() -> None:
        subprocess.run(["mount", "-o", f"remount,size={needed * 4}", str(disk)], check=True)

    yield disk, free_space
    subprocess.run(["umount", "-l", str(disk)], check=True)


def test_a_run_on_a_full_disk_says_so_and_the_run_after_space_is_freed_ends_as_a_clean_one(
    clean, small_demo, tmp_path, receivers, small_disk
):
    disk, free_space = small_disk
    env = radar_env(tmp_path, small_demo, disk, ALERT_CHANNELS=receivers.url("/alerts"))
    full = Run(env, tmp_path / "full.out")
    try:
        assert full.finish() == 1, full.text()
    finally:
        full.stop()
    assert "disk" in full.text().lower() and str(disk) in full.text(), full.text()
    free_space()
    after = Run(env, tmp_path / "after.out")
    try:
        assert after.finish() == 0, after.text()
    finally:
        after.stop()
    found = _record(
        "full disk, then space freed",
        "the run failed naming the full disk; the next succeeded",
        clean,
        disk,
        receivers,
    )
    _nothing_lost_nothing_twice(found)
