"""A run whose process died never blocks the next one, which says what it recovered from.

The fast tests kill a one-step job that holds a slot of the warehouse pool in a real Dagster
instance; the end-to-end test kills `python -m orchestration run` on the demo company while a
second run waits for it.
"""

import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest
import radar_runs
from radar_runs import RUN_TIMEOUT, Run, wait_until

from orchestration.lib.settings import PROJECT_ROOT
from orchestration.recovery import (
    WAREHOUSE_POOL,
    RunProcess,
    is_running,
    live_runs,
    recover_dead_runs,
)

JOB = textwrap.dedent(
    """
    import os, signal, sys, time
    import dagster as dg
    from orchestration.recovery import owner_tags

    @dg.op(pool="duckdb_warehouse")
    def write():
        print("claimed", flush=True)
        if sys.argv[1] == "live":
            time.sleep(600)
        os.kill(os.getpid(), signal.SIGKILL)

    @dg.job
    def daily_radar():
        write()

    with dg.DagsterInstance.get() as instance:
        tags = None if sys.argv[1] == "untagged" else owner_tags()
        daily_radar.execute_in_process(instance=instance, tags=tags)
    """
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", tmp_path / "dagster.yaml")
    # dagster.yaml places the event log under $DAGSTER_HOME; the job's process inherits it.
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return tmp_path


def start_job(how: str) -> subprocess.Popen:
    """The job in a process of its own, once its step holds the warehouse pool's slot."""
    process = subprocess.Popen([sys.executable, "-c", JOB, how], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline() == "claimed\n"
    return process


def claims(instance: dg.DagsterInstance) -> list[str]:
    info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
    return [slot.run_id for slot in info.claimed_slots]


def only_run(instance: dg.DagsterInstance) -> dg.DagsterRun:
    (record,) = instance.get_run_records()
    return record.dagster_run


def test_a_killed_run_is_marked_failed_and_its_pool_slot_freed(home):
    process = start_job("tagged")
    assert process.wait() == -signal.SIGKILL
    with dg.DagsterInstance.get() as instance:
        run = only_run(instance)
        # What blocked every later run: STARTED for ever, the only slot of the pool claimed.
        assert run.status == dg.DagsterRunStatus.STARTED
        assert claims(instance) == [run.run_id]
        (recovered,) = recover_dead_runs(instance, holds_warehouse=False)
        assert (recovered.run_id, recovered.pid, recovered.slots_freed) == (
            run.run_id,
            process.pid,
            1,
        )
        assert re.search(
            rf"run {run.run_id} of daily_radar \(started \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC, "
            rf"PID {process.pid}\): marked it failed \(was STARTED\); freed 1 slot",
            recovered.describe(),
        )
        assert only_run(instance).status == dg.DagsterRunStatus.FAILURE
        assert claims(instance) == []
        assert recover_dead_runs(instance, holds_warehouse=False) == []


def test_a_run_that_recorded_no_process_is_recovered_only_by_the_holder_of_the_warehouse(home):
    start_job("untagged").wait()
    with dg.DagsterInstance.get() as instance:
        assert recover_dead_runs(instance, holds_warehouse=False) == []
        (recovered,) = recover_dead_runs(instance, holds_warehouse=True)
        assert recovered.run_id == only_run(instance).run_id
        assert claims(instance) == []


def test_a_live_run_is_left_alone_and_named_as_at_work(home):
    process = start_job("live")
    try:
        with dg.DagsterInstance.get() as instance:
            run = only_run(instance)
            assert recover_dead_runs(instance, holds_warehouse=True) == []
            assert [(live.run_id, live.pid) for live in live_runs(instance)] == [
                (run.run_id, process.pid)
            ]
            assert claims(instance) == [run.run_id]
    finally:
        process.kill()
        process.wait()


def test_a_worker_is_judged_by_when_it_reported_its_pid_not_by_when_its_run_was_queued():
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        # A run queued long ago whose worker started, and reported its PID, just now.
        reported_now = RunProcess(socket.gethostname(), worker.pid, None, time.time())
        assert is_running(reported_now)
        # The same PID reported long before this process started: a process that reuses it.
        reported_before = RunProcess(socket.gethostname(), worker.pid, None, time.time() - 3600)
        assert not is_running(reported_before)
    finally:
        worker.kill()
        worker.wait()


# --- end to end: `python -m orchestration run` on the demo company -------------------------


@pytest.fixture
def radar_env(tmp_path, small_demo):
    return radar_runs.radar_env(tmp_path, small_demo)


@pytest.mark.e2e
def test_a_second_run_waits_for_the_first_then_recovers_when_it_is_killed_mid_way(
    radar_env, tmp_path, monkeypatch
):
    monkeypatch.setenv("DAGSTER_HOME", radar_env["DAGSTER_HOME"])
    first = Run(radar_env, tmp_path / "first.out")
    second = None
    try:
        # Mid-way: the first run's dbt step holds the warehouse pool.
        def building() -> bool:
            with dg.DagsterInstance.get() as instance:
                info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
                return any(slot.step_key == "dbt_models" for slot in info.claimed_slots)

        wait_until(building, RUN_TIMEOUT, "building the marts")
        with dg.DagsterInstance.get() as instance:
            (first_run,) = instance.get_run_records()
        first_id = first_run.dagster_run.run_id

        second = Run(radar_env, tmp_path / "second.out")
        waiting = second.wait_for(
            r"The warehouse is in use by run (\S+) \(started ([\d-]+ [\d:]+ UTC), PID (\d+): "
            r"python -m orchestration run\); waiting for it to finish"
        )
        assert waiting.groups()[0::2] == (first_id, str(first.process.pid))

        first.kill()
        killed_at = time.time()
        assert second.finish() == 0, second.text()
        out = second.text()
        assert re.search(
            rf"Recovered from run {first_id} of daily_radar \(started .+ UTC, "
            rf"PID {first.process.pid}\): marked it failed \(was STARTED\); freed 1 slot",
            out,
        ), out
        assert "daily_radar succeeded" in out
        with dg.DagsterInstance.get() as instance:
            runs = {r.dagster_run.run_id: r for r in instance.get_run_records()}
            assert runs.pop(first_id).dagster_run.status == dg.DagsterRunStatus.FAILURE
            (second_run,) = runs.values()
            assert second_run.dagster_run.status == dg.DagsterRunStatus.SUCCESS
            # The second run started its steps only once the first was gone: no interleaving.
            assert second_run.start_time >= killed_at
            assert claims(instance) == []
        # Each run logged to a file of its own, and latest.log points at the second's.
        logs = Path(radar_env["WAREHOUSE_PATH"]).parent / "logs"
        second_id = second_run.dagster_run.run_id
        day = time.strftime("%Y-%m-%d", time.gmtime(second_run.start_time))
        assert {p.name for p in logs.glob("*.log") if not p.is_symlink()} == {
            f"{time.strftime('%Y-%m-%d', time.gmtime(first_run.start_time))}-{first_id}.log",
            f"{day}-{second_id}.log",
        }
        assert (logs / "latest.log").resolve() == logs / f"{day}-{second_id}.log"
        assert f"Run log: {logs / f'{day}-{second_id}.log'} (the latest run's: " in out
    finally:
        first.stop()
        if second is not None:
            second.stop()
