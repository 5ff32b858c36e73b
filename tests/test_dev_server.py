"""`make dev` stops, every process it started with it, within 15 s of Ctrl-C or SIGTERM.

Each test starts the real `make dev` (webserver, daemon, code server) on a free loopback port
with a Dagster home of its own, waits until the webserver answers, signals it as a terminal or a
service manager would, and watches every process of its group and below it end.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from orchestration.lib.run_lock import process_start_ticks
from orchestration.lib.settings import PROJECT_ROOT

STOP_WITHIN = 15.0
# The first start of the code location parses the dbt project: slow on a busy machine.
START_TIMEOUT = 300.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
def make_dev(tmp_path):
    """`make dev` on a free port, in a session of its own, once its webserver answers."""
    port = free_port()
    env = dict(
        os.environ,
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
    yield process, members, output
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


def test_ctrl_c_stops_make_dev_and_everything_it_started_within_15_s(make_dev):
    process, members, output = make_dev
    # What a terminal does on Ctrl-C: SIGINT to the whole foreground process group.
    assert len(members) >= 4, members  # make, the command, the webserver, the daemon
    os.killpg(process.pid, signal.SIGINT)
    stops_within(process, members, output)


def test_sigterm_to_make_alone_stops_everything_within_15_s(make_dev):
    process, members, output = make_dev
    # What `kill PID` or a service manager stopping its main process does.
    os.kill(process.pid, signal.SIGTERM)
    stops_within(process, members, output)
