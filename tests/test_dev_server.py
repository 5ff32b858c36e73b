"""`make dev` stops, every process it started with it, within 15 s of Ctrl-C or SIGTERM.

Each test starts the real `make dev` (webserver, daemon, code server) on a free loopback port
with a Dagster home of its own, waits until the webserver answers, signals it as a terminal or a
service manager would, and watches every process of its group and below it end.
"""

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest
from postgres_server import free_port

from orchestration.lib.run_lock import process_start_ticks
from orchestration.lib.settings import PROJECT_ROOT
from orchestration.recovery import WAREHOUSE_POOL, recover_dead_runs

STOP_WITHIN = 15.0
# The first start of the code location parses the dbt project: slow on a busy machine.
START_TIMEOUT = 300.0


def processes() -> dict[int, tuple[int, int, int]]:
    """Each process's (parent, process group, start ticks), from /proc."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        found[int(stat.parent.name)] = (int(fields[1]), int(fields[2]), int(fields[19]))
    return found


def family(root: int) -> dict[int, int]:
    """The processes in ``root``'s process group or below it, with their start ticks."""
    table = processes()
    members = {pid for pid, (_, group, _) in table.items() if group == root} | {root}
    grew = True
    while grew:
        below = {pid for pid, (parent, _, _) in table.items() if parent in members}
        grew = not below <= members
        members |= below
    return {pid: table[pid][2] for pid in members if pid in table}


def alive(members: dict[int, int]) -> list[int]:
    return [pid for pid, ticks in members.items() if process_start_ticks(pid) == ticks]


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5) as reply:
            return reply.status == 200
    except OSError:
        return False


@pytest.fixture
def make_dev(tmp_path, small_demo):
    """`make dev` on a free port, in a session of its own, once its webserver answers."""
    port = free_port()
    unset = {
        "ERP_DATABASE_URL",
        "CRM_API_URL",
        "CRM_API_TOKEN",
        "WEB_EVENTS_PATH",
        "HR_SURVEY_PATH",
    }
    env = dict(
        {key: value for key, value in os.environ.items() if key not in unset},
        # The demo the tests share, already written: a launched run only reads it.
        DEMO_PATH=str(small_demo.directory),
        DEMO_SCALE="0.2",
        DEMO_SEED="42",
        AS_OF="2026-06-30",
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
        WAREHOUSE_PATH=str(tmp_path / "warehouse.duckdb"),
        SERVING_PATH=str(tmp_path / "serving.duckdb"),
        DASHBOARD_PATH=str(tmp_path / "dashboard" / "index.html"),
        ALERT_CHANNELS=f"jsonl://{tmp_path / 'alerts.jsonl'}",
    )
    log = (tmp_path / "make_dev.out").open("w")
    # The environment and dbt's manifest are `make test`'s to bring up to date, not this test's.
    command = ["make", "--no-print-directory", "-o", "target/manifest.json", "-o", ".venv/.synced"]
    process = subprocess.Popen(
        [*command, "dev", f"DEV_PORT={port}"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    output = tmp_path / "make_dev.out"
    deadline = time.monotonic() + START_TIMEOUT
    while not answers(port):
        if process.poll() is not None:
            pytest.fail(f"make dev ended before answering:\n{output.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"make dev did not answer within {START_TIMEOUT} s:\n{output.read_text()}")
        time.sleep(1)
    members = family(process.pid)
    yield process, members, output, port
    for pid in alive(members):
        os.kill(pid, signal.SIGKILL)
    process.wait()
    log.close()


def stops_within(process, members, output, limit=STOP_WITHIN) -> float:
    signalled = time.monotonic()
    while process.poll() is None or alive(members) or alive(family(process.pid)):
        if time.monotonic() - signalled > limit:
            left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in alive(members)}
            pytest.fail(f"still running {limit} s after the signal: {left}\n{output.read_text()}")
        time.sleep(0.2)
    return time.monotonic() - signalled


@pytest.mark.parametrize(
    ("to", "sig"),
    [
        # What a terminal does on Ctrl-C: SIGINT to the whole foreground process group.
        ("group", signal.SIGINT),
        # What `kill PID` does, or a service manager stopping its main process.
        ("make", signal.SIGTERM),
    ],
    ids=["ctrl-c", "sigterm-to-make"],
)
@pytest.mark.e2e
def test_make_dev_stops_with_everything_it_started_within_15_s(make_dev, to, sig):
    process, members, output, _ = make_dev
    assert len(members) >= 4, members  # make, the command, the webserver, the daemon
    if to == "group":
        os.killpg(process.pid, sig)
    else:
        os.kill(process.pid, sig)
    print(f"stopped in {stops_within(process, members, output):.1f} s")


LAUNCH = """
mutation {
  launchRun(executionParams: {
    selector: {repositoryLocationName: "customer_value_radar", repositoryName: "__repository__",
               jobName: "daily_radar"}
  }) { __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } }
}
"""


LOCATION = """
{ workspaceOrError { ... on Workspace { locationEntries {
    loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        return json.load(reply)["data"]


def launch_daily_radar(port: int) -> str:
    """Launches the daily job once the code location has loaded."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        (entry,) = graphql(port, LOCATION)["workspaceOrError"]["locationEntries"]
        if entry["loadStatus"] == "LOADED":
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the code location did not load within {START_TIMEOUT} s")
        time.sleep(1)
    loaded = entry["locationOrLoadError"]
    assert loaded["__typename"] == "RepositoryLocation", loaded
    answer = graphql(port, LAUNCH)["launchRun"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    return answer["run"]["runId"]


@pytest.mark.e2e
def test_ctrl_c_during_a_run_stops_everything_within_15_s_and_the_run_is_not_left_blocking(
    make_dev, tmp_path, monkeypatch
):
    process, members, output, port = make_dev
    run_id = launch_daily_radar(port)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))

    def at_work() -> bool:
        with dg.DagsterInstance.get() as instance:
            info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
            return any(slot.run_id == run_id for slot in info.claimed_slots)

    deadline = time.monotonic() + START_TIMEOUT
    while not at_work():
        if time.monotonic() > deadline:
            pytest.fail(f"the run did not start within {START_TIMEOUT} s:\n{output.read_text()}")
        time.sleep(1)
    os.killpg(process.pid, signal.SIGINT)
    print(f"stopped in {stops_within(process, members | family(process.pid), output):.1f} s")
    # Stopped or killed, the run holds nothing the next run would wait for.
    with dg.DagsterInstance.get() as instance:
        recover_dead_runs(instance, holds_warehouse=False)
        assert instance.get_run_by_id(run_id).status in (
            dg.DagsterRunStatus.FAILURE,
            dg.DagsterRunStatus.CANCELED,
        )
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        assert info.claimed_slots == []
