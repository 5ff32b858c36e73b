"""The lineage as people see it in the Dagster UI, read from a running `dagster dev`."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from orchestration.lib.raw_contract import source_tables
from orchestration.lib.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e

ASSET_NODES = """
{
  assetNodes {
    assetKey { path }
    groupName
    dependencyKeys { path }
    owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
    kinds
    description
  }
}
"""
# `dagster dev` loads the code location (and re-parses the dbt project) before it answers.
STARTUP_SECONDS = 300
SERVING = ("serving", "warehouse_copy")
KPI_ALERTS = ("monitoring", "kpi_alerts")
DASHBOARD = ("dashboard", "ceo_dashboard")
# Raw tables that staging reads but no mart uses yet, so nothing is served from them.
RAW_TABLES = [
    (table.source, table.name)
    for source in ("erp", "crm", "web", "hr")
    for table in source_tables(source).values()
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def processes_with(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (this test's own DAGSTER_HOME)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def wait_for_asset_nodes(url: str, process: subprocess.Popen, log: Path) -> list[dict]:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            nodes = graphql(url, ASSET_NODES)["data"]["assetNodes"]
            if nodes:
                return nodes
        except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, TypeError):
            pass  # not serving yet, or the code location is still loading
        time.sleep(1)
    pytest.fail(f"dagster dev did not answer in {STARTUP_SECONDS} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    root = tmp_path_factory.mktemp("dagster_dev")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    venv_bin = Path(sys.executable).parent
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        # dagster-dbt runs `dbt` from PATH when it re-parses the project under `dagster dev`.
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "SERVING_PATH": str(root / "serving.duckdb"),
        "DEMO_PATH": str(root / "demo"),
        "ALERT_CHANNELS": f"jsonl://{root / 'alerts.jsonl'}",
    }
    port = free_port()
    log = root / "dagster_dev.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(venv_bin / "dagster"), "dev", "--host", "127.0.0.1", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    marker = f"DAGSTER_HOME={home}"
    try:
        yield {
            tuple(node["assetKey"]["path"]): node
            for node in wait_for_asset_nodes(f"http://127.0.0.1:{port}/graphql", process, log)
        }
    finally:
        # `dagster dev` may ignore SIGTERM; its webserver, daemon and code server share its
        # process group, and anything that left the group still carries its DAGSTER_HOME.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_with(marker) == [], "dagster dev left processes behind"


def downstream(nodes: dict, start: tuple) -> set[tuple]:
    children: dict[tuple, set[tuple]] = {}
    for key, node in nodes.items():
        for parent in node["dependencyKeys"]:
            children.setdefault(tuple(parent["path"]), set()).add(key)
    seen, todo = set(), [start]
    while todo:
        for child in children.get(todo.pop(), set()) - seen:
            seen.add(child)
            todo.append(child)
    return seen


@pytest.mark.parametrize("raw", RAW_TABLES, ids="/".join)
def test_each_raw_table_flows_down_to_the_serving_copy_and_the_dashboard(nodes, raw):
    assert raw in nodes
    reached = downstream(nodes, raw)
    assert SERVING in reached
    assert DASHBOARD in reached


def test_the_orders_flow_down_to_the_kpi_alerts(nodes):
    for raw in (("erp", "orders"), ("erp", "order_lines"), ("erp", "refunds")):
        assert KPI_ALERTS in downstream(nodes, raw)


def test_every_asset_in_the_ui_has_a_description_an_owner_a_group_and_kinds(nodes):
    incomplete = {
        "/".join(key): [
            what
            for what, present in (
                ("description", node["description"]),
                ("owner", node["owners"]),
                ("group", node["groupName"] not in (None, "", "default")),
                ("kinds", node["kinds"]),
            )
            if not present
        ]
        for key, node in nodes.items()
    }
    assert {key: missing for key, missing in incomplete.items() if missing} == {}


def test_the_serving_copy_is_its_own_group_after_the_marts_and_the_alerts(nodes):
    serving = nodes[SERVING]
    assert serving["groupName"] == "serving"
    assert serving["owners"] == [{"team": "data-engineering"}]
    assert "duckdb" in serving["kinds"]
    parents = {tuple(parent["path"]) for parent in serving["dependencyKeys"]}
    assert KPI_ALERTS in parents
    assert ("marts", "fct_kpi_daily") in parents
