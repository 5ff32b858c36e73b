"""What people see in a running `dagster dev`: the lineage in the UI, and the alerts its
sensor sends after the daily job ran on the small demo company."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from dagster_ui import graphql, kill_all_with, launch, start, wait_for_run
from postgres_server import free_port

from demo_company.writer import read_manifest
from orchestration.lib.monitor import Alert
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
# The alert sensor ticks every 30 s, and the daemon may start a tick a little late.
DELIVERY_SECONDS = 120
# Settings that point a source at the user's own system: unset, every source is the demo.
SOURCE_SETTINGS = (
    "ERP_DATABASE_URL",
    "CRM_API_URL",
    "CRM_API_TOKEN",
    "WEB_EVENTS_PATH",
    "HR_SURVEY_PATH",
)
SERVING = ("serving", "warehouse_copy")
KPI_ALERTS = ("monitoring", "kpi_alerts")
DASHBOARD = ("dashboard", "ceo_dashboard")
# Raw tables that staging reads but no mart uses yet, so nothing is served from them.
RAW_TABLES = [
    (table.source, table.name)
    for source in ("erp", "crm", "web", "hr")
    for table in source_tables(source).values()
]


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


@dataclass(frozen=True)
class DagsterDev:
    """A running `dagster dev`, and where the runs it launches write."""

    url: str
    root: Path
    log: Path
    nodes: dict[tuple, dict]

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def alert_channel(self) -> Path:
        return self.root / "alerts.jsonl"


@pytest.fixture(scope="module")
def dagster_dev(tmp_path_factory, small_demo):
    root = tmp_path_factory.mktemp("dagster_dev")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    venv_bin = Path(sys.executable).parent
    demo = read_manifest(small_demo)
    env = {
        **{name: value for name, value in os.environ.items() if name not in SOURCE_SETTINGS},
        "DAGSTER_HOME": str(home),
        # dagster-dbt runs `dbt` from PATH when it re-parses the project under `dagster dev`.
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "SERVING_PATH": str(root / "serving.duckdb"),
        "DASHBOARD_PATH": str(root / "dashboard" / "index.html"),
        # The demo the extraction tests share, already written: the run only reads it.
        "DEMO_PATH": str(small_demo.directory),
        "AS_OF": demo["as_of"],
        "DEMO_SEED": str(demo["seed"]),
        "DEMO_SCALE": str(demo["scale"]),
        "ALERT_CHANNELS": f"jsonl://{root / 'alerts.jsonl'}",
    }
    port = free_port()
    log = root / "dagster_dev.log"
    with log.open("w") as out:
        process = start(["dagster", "dev", "--host", "127.0.0.1", "--port", str(port)], env, out)
    marker = f"DAGSTER_HOME={home}"
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        nodes = wait_for_asset_nodes(url, process, log)
        yield DagsterDev(
            url=url,
            root=root,
            log=log,
            nodes={tuple(node["assetKey"]["path"]): node for node in nodes},
        )
    finally:
        # `dagster dev` may ignore SIGTERM; its webserver, daemon and code server share its
        # process group, and anything that left the group still carries its DAGSTER_HOME.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        assert kill_all_with(marker) == [], "dagster dev left processes behind"


@pytest.fixture(scope="module")
def nodes(dagster_dev):
    return dagster_dev.nodes


def wait_for_delivery(channel: Path, expected: int) -> list[dict]:
    """The alerts in the JSON-lines channel once it holds ``expected`` whole lines."""
    deadline = time.monotonic() + DELIVERY_SECONDS
    lines: list[str] = []
    while time.monotonic() < deadline:
        text = channel.read_text() if channel.exists() else ""
        # a line is whole once its newline is written
        lines = text.split("\n")[:-1]
        if len(lines) >= expected:
            return [json.loads(line) for line in lines]
        time.sleep(0.5)
    pytest.fail(f"{len(lines)} of {expected} alerts delivered in {DELIVERY_SECONDS} s")


def recorded_alerts(warehouse: Path) -> dict[str, dict]:
    """The rows of `monitoring.kpi_alerts`, by alert id, in the form the sensor sends them."""
    columns = list(Alert.__dataclass_fields__)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(f"select {', '.join(columns)} from monitoring.kpi_alerts").fetchall()
    return {alert.alert_id: alert.as_record() for alert in (Alert(*row) for row in rows)}


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


def test_after_the_daily_run_the_sensor_sends_each_alert_the_run_recorded(dagster_dev):
    run_id = launch(dagster_dev.url, "daily_radar")
    status = wait_for_run(dagster_dev.url, run_id, dagster_dev.log)
    assert status == "SUCCESS", dagster_dev.log.read_text()[-3000:]
    # Read once the run is over: no writer holds the warehouse any more.
    recorded = recorded_alerts(dagster_dev.warehouse)
    assert recorded, "the demo raised no KPI alert"
    assert {alert["state"] for alert in recorded.values()} == {"new"}
    assert all(alert["reason"].strip() for alert in recorded.values())
    delivered = wait_for_delivery(dagster_dev.alert_channel, len(recorded))
    assert len(delivered) == len(recorded)
    assert {
        alert["alert_id"]: {
            key: value for key, value in alert.items() if key not in ("text", "message_id")
        }
        for alert in delivered
    } == recorded
    # each message carries its own stable id, so a receiver can drop a repeat
    assert len({alert["message_id"] for alert in delivered}) == len(delivered)
    # the line a person reads carries the reason
    assert all(alert["text"].endswith(alert["reason"]) for alert in delivered)
