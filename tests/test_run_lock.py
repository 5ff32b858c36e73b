"""The warehouse lock: one holder at a time, named to those who wait, freed when its holder dies."""

import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from radar_runs import wait_until

from orchestration.lib.run_lock import (
    Owner,
    WarehouseLock,
    holding,
    is_alive,
    lock_path,
)

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from orchestration.lib.run_lock import Owner, WarehouseLock

    lock = WarehouseLock(Path(sys.argv[1]))
    lock.acquire(Owner.current(sys.argv[2]))
    print("held", flush=True)
    time.sleep(600)
    """
)


@pytest.fixture
def holder(tmp_path):
    """A process holding the lock of ``tmp_path/warehouse.duckdb`` as run ``holder-run``."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "warehouse.duckdb"), "holder-run"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline() == "held\n"
    yield process
    process.kill()
    process.wait()


def test_a_second_holder_waits_and_is_told_who_holds_the_lock(tmp_path, holder):
    told = []
    with pytest.raises(TimeoutError):
        WarehouseLock(tmp_path / "warehouse.duckdb").acquire(
            Owner.current("second"), on_wait=told.append, timeout=1
        )
    assert [(owner.run_id, owner.pid) for owner in told] == [("holder-run", holder.pid)]
    assert re.fullmatch(
        rf"run holder-run \(started [\d-]+ [\d:]+ UTC, PID {holder.pid}: python -c \S* ?.*\)",
        told[0].describe(),
        re.S,
    )


def test_a_lock_whose_holder_was_killed_is_free_at_once_and_names_the_dead_run(tmp_path, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    lock = WarehouseLock(tmp_path / "warehouse.duckdb")
    dead = lock.acquire(Owner.current("next"), timeout=5)
    assert time.monotonic() - started < 5
    assert (dead.run_id, dead.pid) == ("holder-run", holder.pid)
    assert not is_alive(dead.pid, dead.start_ticks)
    lock.release()


# A run whose steps run in processes of their own (Dagster's multiprocess executor): it holds
# the lock and starts a step, STEP (argv[2]).
MULTIPROCESS_RUN = textwrap.dedent(
    """
    import subprocess, sys, time
    from pathlib import Path
    from orchestration.lib.run_lock import Owner, holding

    with holding(Path(sys.argv[1]), Owner.current("multiprocess-run")):
        subprocess.Popen([sys.executable, "-c", sys.argv[2], sys.argv[1]])
        time.sleep(600)
    """
)
STEP = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from orchestration.lib.run_lock import Owner, holding

    with holding(Path(sys.argv[1]), Owner.current("multiprocess-run")):
        print(os.getpid(), flush=True)
        time.sleep(600)
    """
)


def test_the_steps_of_a_killed_run_end_before_the_next_run_starts(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    run = subprocess.Popen(
        [sys.executable, "-c", MULTIPROCESS_RUN, str(warehouse), STEP],
        stdout=subprocess.PIPE,
        text=True,
    )
    step = int(run.stdout.readline())
    try:
        assert is_alive(step)
        run.kill()
        run.wait()
        with holding(warehouse, Owner.current("next")) as dead:
            assert dead.run_id == "multiprocess-run"
        # the step let the next run in as it ended
        wait_until(lambda: not is_alive(step), 60, "the step to end")
    finally:
        subprocess.run(["kill", "-9", str(step)], capture_output=True)


def test_a_holder_that_ends_normally_leaves_nothing_to_recover(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with holding(warehouse, Owner.current("first")) as dead:
        assert dead is None
        assert Owner.parse(lock_path(warehouse).read_text()).run_id == "first"
    with holding(warehouse, Owner.current("second")) as dead:
        assert dead is None


def test_the_process_holding_the_lock_takes_it_again_without_waiting_for_itself(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with holding(warehouse, Owner.current("run")), holding(warehouse, Owner.current("step")):
        assert Owner.parse(lock_path(warehouse).read_text()).run_id == "run"


def test_a_step_in_a_process_of_its_own_runs_under_its_runs_hold(tmp_path, holder):
    warehouse = tmp_path / "warehouse.duckdb"
    with holding(warehouse, Owner.current("holder-run")) as dead:
        assert dead is None
        assert Owner.parse(lock_path(warehouse).read_text()).pid == holder.pid
    # Another run's step waits for it.
    told = []

    def waiting(owner):
        told.append(owner)
        raise TimeoutError

    with pytest.raises(TimeoutError), holding(warehouse, Owner.current("other-run"), waiting):
        pass
    assert [owner.run_id for owner in told] == ["holder-run"]


def test_a_reused_pid_is_not_taken_for_the_process_that_had_it():
    owner = Owner.current("me")
    assert is_alive(owner.pid, owner.start_ticks)
    assert not is_alive(owner.pid, owner.start_ticks + 1)


# A run launched however (`make dev`, the schedule): two steps, each pausing until told to go on.
RUN = textwrap.dedent(
    """
    import sys
    import dagster as dg
    from orchestration.defs.reporting_day import ReportingDay

    @dg.asset
    def extract(context, reporting_day: ReportingDay):
        print("extract", context.run_id, flush=True)
        sys.stdin.readline()

    @dg.asset(deps=[extract])
    def build(context):
        print("build", context.run_id, flush=True)
        sys.stdin.readline()

    dg.materialize([extract, build], resources={"reporting_day": ReportingDay()})
    """
)


@pytest.mark.e2e
def test_a_run_holds_the_warehouse_from_its_first_step_to_its_last_and_a_second_waits(
    tmp_path, monkeypatch
):
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", RUN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    first = start()
    second = None
    try:
        step, first_id = first.stdout.readline().split()
        assert step == "extract"
        assert Owner.parse(lock_path(warehouse).read_text()).run_id == first_id
        second = start()
        # The second run says whom it waits for, in its log, before any of its steps.
        for line in second.stderr:
            if "The warehouse is in use by" in line:
                break
        assert f"The warehouse is in use by run {first_id} (started " in line
        assert f"PID {first.pid}" in line
        first.stdin.write("\n")
        first.stdin.flush()
        # Between the steps of the first run the second still waits.
        assert first.stdout.readline().split() == ["build", first_id]
        assert Owner.parse(lock_path(warehouse).read_text()).run_id == first_id
        first.communicate("\n", timeout=60)
        assert first.returncode == 0
        step, second_id = second.stdout.readline().split()
        assert (step, second_id != first_id) == ("extract", True)
        assert Owner.parse(lock_path(warehouse).read_text()).run_id == second_id
        second.communicate("\n\n", timeout=60)
        assert second.returncode == 0
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
