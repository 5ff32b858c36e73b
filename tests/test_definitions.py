"""The asset graph as stakeholders read it in the Dagster UI: lineage, groups, owners."""

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orchestration.__main__ import run_config
from orchestration.definitions import defs
from orchestration.defs.transform import dbt
from orchestration.lib.raw_contract import source_tables
from orchestration.lib.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def test_every_raw_table_of_the_contract_is_an_asset_keyed_like_its_dbt_source(graph):
    raw = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "ingest"}
    contract = {
        dg.AssetKey([t.source, t.name])
        for source in ("erp", "crm", "web", "hr")
        for t in source_tables(source).values()
    }
    assert raw == contract


def test_staging_reads_the_raw_assets_so_lineage_joins_without_glue(graph):
    assert graph.get(key("staging/stg_erp__orders")).parent_keys == {key("erp/orders")}
    assert graph.get(key("staging/stg_crm__feedback_responses")).parent_keys == {
        key("crm/feedback")
    }


def test_lineage_runs_from_raw_orders_to_the_alerts(graph):
    seen, todo = set(), [key("monitoring/kpi_alerts")]
    while todo:
        current = todo.pop()
        seen.add(current)
        todo.extend(graph.get(current).parent_keys - seen)
    for raw in ("erp/orders", "erp/order_lines", "erp/refunds", "erp/customers"):
        assert key(raw) in seen
    assert key("marts/fct_kpi_daily") in seen and key("reference/kpi_catalogue") in seen


def test_every_asset_has_a_description_an_owner_a_group_and_kinds(graph):
    for asset_key in graph.get_all_asset_keys():
        node = graph.get(asset_key)
        name = asset_key.to_user_string()
        assert node.description, name
        assert node.owners, name
        assert node.group_name != "default", name
        assert node.kinds, name


def test_every_asset_check_says_what_it_checks(graph):
    undescribed = [
        check.to_user_string()
        for check in graph.asset_check_keys
        if not graph.get_check_spec(check).description
    ]
    assert undescribed == []


def test_dbt_tests_are_asset_checks_on_the_marts(graph):
    checked = {check.asset_key for check in graph.asset_check_keys}
    assert {key("marts/fct_customer_value_daily"), key("marts/fct_kpi_daily")} <= checked


def test_the_daily_job_covers_every_asset_and_the_alert_sensor_runs_by_default():
    job = defs.resolve_job_def("daily_radar")
    assert job.asset_layer.selected_asset_keys == set(
        defs.resolve_asset_graph().get_all_asset_keys()
    )
    sensor = defs.resolve_sensor_def("kpi_alert_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_schedule_def("daily_radar_schedule").cron_schedule == "0 6 * * *"


# The pool and the executor of the daily job's steps, as the definitions load under DBT_TARGET.
STEPS = """
import json
from orchestration.definitions import daily_radar_job
job = daily_radar_job()
pools = {node.name: node.definition.pool for node in job.graph.node_dict.values()}
print(json.dumps({"executor": job.executor_def.name, "pools": pools}))
"""


def steps(*targets: str) -> list[dict]:
    """STEPS under each of ``targets``, the processes side by side."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", STEPS],
            env={**os.environ, "DBT_TARGET": target},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for target in targets
    ]
    found = []
    for process in processes:
        out, err = process.communicate()
        assert process.returncode == 0, err
        found.append(json.loads(out.splitlines()[-1]))
    return found


def test_on_spark_the_steps_that_leave_the_duckdb_file_alone_run_side_by_side():
    duck, spark = steps("dev", "spark")
    assert duck["executor"] == "in_process"
    assert set(duck["pools"].values()) == {"duckdb_warehouse", None}
    assert spark["executor"] == "multiprocess"
    apart = {
        "extract_erp",
        "extract_crm",
        "extract_web",
        "extract_hr",
        "intermediate__int_customer_clv_predictions",
        "intermediate__int_engagements_scored",
    }
    assert {step for step, pool in spark["pools"].items() if pool is None} == apart | {
        step for step, pool in duck["pools"].items() if pool is None
    }
    assert all(duck["pools"][step] == "duckdb_warehouse" for step in apart)


SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"


def describe(graph) -> str:
    """Every asset with its group and parents, one line each, sorted: the lineage as text."""
    lines = []
    for asset_key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(asset_key)
        parents = ", ".join(sorted(p.to_user_string() for p in node.parent_keys))
        lines.append(f"{asset_key.to_user_string()} [{node.group_name}] <- {parents}")
    return "\n".join(lines) + "\n"


def test_a_full_refresh_is_a_launch_config_of_the_daily_job():
    job = defs.resolve_job_def("daily_radar")
    for full_refresh in (False, True):
        config = run_config(date(2026, 6, 30), full_refresh)
        ops = dg.validate_run_config(job, config)["ops"]
        for build in ("dbt_models", "dbt_models_after_python"):
            assert ops[build]["config"] == {
                "full_refresh": full_refresh,
                "recount_every_day": False,
            }


def test_the_asset_graph_matches_its_snapshot(graph):
    # A lineage change must be deliberate: UPDATE_SNAPSHOTS=1 rewrites the snapshot, and the
    # diff of tests/snapshots/asset_graph.txt shows it in review.
    current = describe(graph)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text()


@pytest.mark.e2e  # dbt parses the project
def test_under_dagster_dev_the_manifest_is_parsed_again_and_replaced_whole(tmp_path, monkeypatch):
    target = tmp_path / "target"
    target.mkdir()
    manifest = target / "manifest.json"
    manifest.write_text('{"nodes": {}}')
    shutil.copy(PROJECT_ROOT / "target" / "partial_parse.msgpack", target)
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    monkeypatch.setattr(dbt, "TARGET", target)
    with manifest.open() as reading:  # a run that opened the manifest before the parse
        dbt.parse_under_dev()
        assert json.load(reading) == {"nodes": {}}
    assert "model.customer_value_radar.fct_kpi_daily" in json.loads(manifest.read_text())["nodes"]
    assert sorted(path.name for path in target.iterdir()) == [
        "manifest.json",
        "partial_parse.msgpack",
    ]
