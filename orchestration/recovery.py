"""What a run whose process died leaves in the Dagster instance, and how the next run clears it.

A run killed mid-way (``kill -9``, out of memory) stays STARTED in ``DAGSTER_HOME`` and keeps
its claim on the ``duckdb_warehouse`` concurrency pool, so every later step waits for a slot
that is never given back. Before a run starts, ``recover_dead_runs`` finds the in-progress runs
whose process is gone, marks them failed and frees their pool slots; ``live_runs`` names the
runs that are still at work (a run launched by ``dagster dev``, say), so an alert deliverer
leaves the warehouse to them.

A run's process is known by the tag `python -m orchestration run` sets (host, PID and the
process's start time, so a reused PID is not mistaken for it), or by the engine event
"Started process for run (pid: N)" of a run launched by the webserver or the daemon.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES, RunsFilter

from orchestration.lib.run_lock import is_alive, process_start_ticks, process_started_at

OWNER_TAG = "radar/owner"
WAREHOUSE_POOL = "duckdb_warehouse"
_STARTED_PROCESS = re.compile(r"Started process for run \(pid: (\d+)\)")
# A worker reports its PID once started; clocks of /proc and the event log differ a little.
_START_SLACK_SECONDS = 5.0


def owner_tags() -> dict[str, str]:
    """The tags that let a later run tell whether this process still runs its run."""
    pid = os.getpid()
    return {OWNER_TAG: f"{socket.gethostname()}:{pid}:{process_start_ticks(pid) or ''}"}


@dataclass(frozen=True)
class RunProcess:
    host: str
    pid: int
    start_ticks: int | None
    # When the run reported the PID (no start ticks known): its process started before then.
    reported_at: float | None = None


@dataclass(frozen=True)
class Recovered:
    run_id: str
    job_name: str
    started: datetime | None
    pid: int | None
    previous_status: str
    slots_freed: int

    def describe(self) -> str:
        started = f"started {self.started:%Y-%m-%d %H:%M:%S} UTC" if self.started else "unknown"
        pid = f", PID {self.pid}" if self.pid else ""
        what = f"marked it failed (was {self.previous_status})"
        if self.previous_status in ("SUCCESS", "FAILURE", "CANCELED", "unknown"):
            what = f"it had ended ({self.previous_status}) without giving back its pool slots"
        slots = f"; freed {self.slots_freed} slot(s) of the {WAREHOUSE_POOL} pool"
        return f"run {self.run_id} of {self.job_name} ({started}{pid}): {what}{slots}"


def run_process(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunProcess | None:
    """The process that executes ``run``, as far as the instance knows."""
    tag = run.tags.get(OWNER_TAG)
    if tag:
        host, pid, ticks = tag.rsplit(":", 2)
        return RunProcess(host, int(pid), int(ticks) if ticks else None)
    for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        match = _STARTED_PROCESS.search(record.message or "")
        if match:
            return RunProcess(socket.gethostname(), int(match.group(1)), None, record.timestamp)
    return None


def is_running(process: RunProcess) -> bool:
    """Whether ``process`` still runs the run (a reused PID does not)."""
    if process.host != socket.gethostname():
        return True  # another machine's process: not ours to judge
    if not is_alive(process.pid, process.start_ticks):
        return False
    if process.start_ticks is None and process.reported_at is not None:
        # Only a PID: a process that started after the run reported it reuses it.
        started = process_started_at(process.pid)
        return started is None or started <= process.reported_at + _START_SLACK_SECONDS
    return True


def _holds_pool(instance: dg.DagsterInstance, run_id: str) -> bool:
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    return any(slot.run_id == run_id for slot in info.claimed_slots) or any(
        step.run_id == run_id for step in info.pending_steps
    )


def _slots_of(instance: dg.DagsterInstance, run_id: str) -> int:
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    return sum(slot.run_id == run_id for slot in info.claimed_slots)


def _time(timestamp: float | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp else None


def _in_progress(instance: dg.DagsterInstance) -> list[dg.RunRecord]:
    statuses = [*IN_PROGRESS_RUN_STATUSES, dg.DagsterRunStatus.CANCELING]
    return list(instance.get_run_records(filters=RunsFilter(statuses=statuses)))


def is_dead(instance: dg.DagsterInstance, record: dg.RunRecord, holds_warehouse: bool) -> bool:
    """Whether the process of an in-progress run is gone.

    A run with no known process (executed in process by a tool that records none, e.g. an
    older version of this program) counts as dead only when the caller holds the warehouse
    lock, which any live run of this program on the warehouse would hold, and the run waits
    for or holds a slot of the warehouse pool.
    """
    run = record.dagster_run
    process = run_process(instance, run)
    if process is None:
        return (
            holds_warehouse
            and run.status == dg.DagsterRunStatus.STARTED
            and _holds_pool(instance, run.run_id)
        )
    return not is_running(process)


def recover_dead_runs(instance: dg.DagsterInstance, holds_warehouse: bool) -> list[Recovered]:
    """Marks failed the in-progress runs whose process is gone and frees their pool slots;
    frees too the slots still claimed by runs that ended. Returns what it cleared."""
    recovered = []
    for record in _in_progress(instance):
        run = record.dagster_run
        if not is_dead(instance, record, holds_warehouse):
            continue
        process = run_process(instance, run)
        slots = _slots_of(instance, run.run_id)
        instance.report_run_failed(
            run,
            f"The process of this run (PID {process.pid if process else 'unknown'}) is gone: "
            "marked failed, and its concurrency slots freed, by the next run.",
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        recovered.append(
            Recovered(
                run.run_id,
                run.job_name,
                _time(record.start_time) or record.create_timestamp.astimezone(UTC),
                process.pid if process else None,
                run.status.value,
                slots,
            )
        )
    in_progress = {record.dagster_run.run_id for record in _in_progress(instance)}
    for run_id in instance.event_log_storage.get_concurrency_run_ids() - in_progress:
        record = next(iter(instance.get_run_records(RunsFilter(run_ids=[run_id]), limit=1)), None)
        slots = _slots_of(instance, run_id)
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)
        recovered.append(
            Recovered(
                run_id,
                record.dagster_run.job_name if record else "a deleted run",
                _time(record.start_time) if record else None,
                None,
                record.dagster_run.status.value if record else "unknown",
                slots,
            )
        )
    return recovered


@dataclass(frozen=True)
class LiveRun:
    run_id: str
    job_name: str
    started: datetime | None
    pid: int | None

    def describe(self) -> str:
        started = f"started {self.started:%Y-%m-%d %H:%M:%S} UTC" if self.started else "starting"
        pid = f", PID {self.pid}" if self.pid else ""
        return f"run {self.run_id} of {self.job_name} ({started}{pid})"


def live_runs(instance: dg.DagsterInstance) -> list[LiveRun]:
    """The runs of the instance whose process is at work now."""
    live = []
    for record in _in_progress(instance):
        run = record.dagster_run
        process = run_process(instance, run)
        # A run with no known process cannot be watched: waiting for it could be forever.
        if process is None:
            continue
        if is_running(process):
            live.append(LiveRun(run.run_id, run.job_name, _time(record.start_time), process.pid))
    return live
