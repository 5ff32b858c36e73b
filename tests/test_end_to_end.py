"""The daily job on the demo company, in this process, into a temporary warehouse."""

import json
import logging
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from radar_runs import assert_every_dbt_unit_test_passes, project_instance

from orchestration.definitions import defs
from orchestration.defs.monitoring.alerts import KPI_ALERTS, raise_alerts
from orchestration.defs.transform.dbt import DBT_PROJECT
from orchestration.lib.lake import served_tables
from orchestration.lib.monitor import evaluate_warehouse
from orchestration.lib.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e

AS_OF = date(2026, 6, 30)
RAW_TABLES = [
    ("raw_erp", "customers"),
    ("raw_erp", "orders"),
    ("raw_erp", "order_lines"),
    ("raw_erp", "refunds"),
    ("raw_crm", "companies"),
    ("raw_crm", "contacts"),
    ("raw_crm", "feedback"),
    ("raw_web", "events"),
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("radar")
    env = {
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "DEMO_PATH": str(root / "demo"),
        "AS_OF": AS_OF.isoformat(),
        "DEMO_SEED": "42",
        "DEMO_SCALE": "1",
        "ALERT_CHANNELS": f"jsonl://{root / 'alerts.jsonl'}",
        "SERVING_PATH": str(root / "serving.duckdb"),
        "DASHBOARD_PATH": str(root / "dashboard" / "index.html"),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in (
            "ERP_DATABASE_URL",
            "CRM_API_URL",
            "CRM_API_TOKEN",
            "WEB_EVENTS_PATH",
            "HR_SURVEY_PATH",
        ):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        with project_instance() as instance:
            result = defs.resolve_job_def("daily_radar").execute_in_process(
                instance=instance, raise_on_error=False
            )
            yield root, instance, result


def read(root, sql, params=None):
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def raw_counts(root):
    return {
        f"{schema}.{table}": read(root, f"select count(*) from {schema}.{table}")[0][0]
        for schema, table in RAW_TABLES
    }


def story_list(root):
    return json.loads((root / "demo" / "stories.json").read_text())


def stories(root):
    return {story["story"]: story for story in story_list(root)}


def test_the_daily_job_materializes_every_asset_and_every_dbt_check_passes(demo):
    _, _, result = demo
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == set(defs.resolve_asset_graph().get_all_asset_keys())
    checks = result.get_asset_check_evaluations()
    dbt_checks = [c for c in checks if c.asset_key != KPI_ALERTS]
    assert dbt_checks and [c.check_name for c in dbt_checks if not c.passed] == []
    # every check the definitions hold was evaluated, each once: every dbt data test is one
    evaluated = [(c.asset_key, c.check_name) for c in checks]
    defined = {(k.asset_key, k.name) for k in defs.resolve_asset_graph().asset_check_keys}
    assert sorted(evaluated) == sorted(defined)
    manifest = json.loads(Path(DBT_PROJECT.manifest_path).read_text())
    tests = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "test"}
    assert tests <= {name for _, name in defined}
    # The KPI trend checks warn about the planted stories, and only about KPIs they move.
    warned = {c.check_name for c in checks if c.asset_key == KPI_ALERTS and not c.passed}
    assert "average_customer_value" in warned
    # in alert, a KPI's check reads as its alert does; the test's numbers are in its metadata
    [acv] = [
        c for c in checks if c.asset_key == KPI_ALERTS and c.check_name == "average_customer_value"
    ]
    assert acv.description.startswith(("Customers are leaving", "Customers who stay buy less"))
    assert acv.metadata["test"].value.startswith("CUSUM")
    moved = {k for s in story_list(demo[0]) if s["kind"] != "quiet" for k in s["kpis"]}
    assert warned <= moved | {
        # smaller baskets and leavers both lower the window's revenue and its retention
        "window_revenue",
        "net_revenue_retention",
        "gross_revenue_retention",
        # leavers lapse: churn and the lost revenue rise
        "churn_rate",
        "lapsed_customers_30d",
        "lost_revenue_30d",
        # NPS follows CSAT as more detractors
        "nps_detractor_share",
        "nps_promoter_share",
        # the causes, where they are: the smb segment's smaller baskets, the south's leavers
        "existing_customer_basket",
        "existing_customer_purchases",
    }


def test_dbt_tables_carry_their_row_counts(demo):
    root, _, result = demo
    materialized = {e.asset_key: e for e in result.get_asset_materialization_events()}
    event = materialized[dg.AssetKey(["marts", "fct_kpi_daily"])]
    count = event.materialization.metadata["dagster/row_count"].value
    assert count == read(root, "select count(*) from marts.fct_kpi_daily")[0][0] > 0


def test_the_comments_the_marts_copied_from_spark_get_are_those_dbt_persists_on_duckdb(demo):
    root, _, _ = demo
    manifest = json.loads(Path(DBT_PROJECT.manifest_path).read_text())
    built = {
        unique_id: (node["schema"], node["alias"])
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed") and node["config"]["materialized"] != "view"
    }
    served = served_tables(built, manifest)
    assert len(served) > 15
    assert sum(bool(table.column_comments) for table in served) > 10
    for table in served:
        where = [table.schema, table.table]
        assert read(
            root,
            "select comment from duckdb_tables() where (schema_name, table_name) = (?, ?)",
            where,
        ) == [(table.comment,)]
        persisted = read(
            root,
            "select column_name, comment from duckdb_columns() where (schema_name, table_name)"
            " = (?, ?) and comment is not null",
            where,
        )
        assert sorted(persisted) == sorted(table.column_comments)


def test_every_raw_table_holds_rows_of_the_demo(demo):
    root, _, _ = demo
    assert all(count > 0 for count in raw_counts(root).values()), raw_counts(root)


def test_customer_value_has_a_row_for_every_day_up_to_the_as_of_day(demo):
    root, _, _ = demo
    first, last, days, rows = read(
        root,
        "select min(value_date), max(value_date), count(distinct value_date), count(*) "
        "from marts.fct_customer_value_daily where dimension = 'total'",
    )[0]
    assert last == AS_OF
    assert days == rows == (last - first).days + 1


def test_average_customer_value_is_frequency_times_basket_every_day(demo):
    root, _, _ = demo
    worst = read(
        root,
        "select max(abs(average_customer_value - orders_per_active_customer * average_order_value)"
        " / average_customer_value) from marts.fct_customer_value_daily",
    )[0][0]
    assert worst < 1e-9


def test_the_planted_contraction_shows_in_the_smb_basket(demo):
    root, _, _ = demo
    onset = date.fromisoformat(stories(root)["segment_contraction"]["start"])
    aov = dict(
        read(
            root,
            "select value_date, average_order_value from marts.fct_customer_value_daily "
            "where dimension = 'segment' and dimension_value = 'smb' and value_date in (?, ?)",
            [onset - timedelta(days=1), AS_OF],
        )
    )
    assert aov[AS_OF] < 0.9 * aov[onset - timedelta(days=1)]


def test_the_planted_decline_is_raised_with_its_reason(demo):
    root, _, _ = demo
    onset = date.fromisoformat(stories(root)["segment_contraction"]["start"])
    alerts = read(
        root,
        "select dimension_value, since, state, reason from monitoring.kpi_alerts "
        "where evaluated_on = ? and kpi_name = 'average_customer_value' and kind = 'decline' "
        "and dimension in ('total', 'segment') order by dimension_value",
        [AS_OF],
    )
    by_member = {member: (since, state, reason) for member, since, state, reason in alerts}
    assert "all" in by_member and by_member["all"][1] == "new"
    since, state, reason = by_member["smb"]
    assert state == "new"
    assert onset - timedelta(days=14) <= since <= onset + timedelta(days=60)
    assert "spend less per order" in reason and "basket effect" in reason
    # the answer first: those who stay buy less, a loss larger than with the customers who left
    assert reason.startswith("Customers who stay buy less (")


def test_every_planted_story_is_raised_on_the_day_with_its_reason(demo):
    root, _, _ = demo
    reasons = dict(
        read(
            root,
            "select kpi_name || '|' || dimension_value, reason from monitoring.kpi_alerts "
            "where evaluated_on = ? and kind = 'decline' and state = 'new'",
            [AS_OF],
        )
    )
    churn = stories(root)["region_churn"]
    # The region that leaves: the company's ACV falls mostly there, and churn rises.
    assert (
        f"Most of it comes from the {churn['member']} region"
        in reasons["average_customer_value|all"]
    )
    assert "Churn rate (30 days) is " in reasons["churn_rate|all"]
    assert " points above its baseline, rising since " in reasons["churn_rate|all"]
    assert "Lapsed customers (30 days) rose from" in reasons["churn_rate|all"]
    # NPS follows the fall of CSAT: its detractors rise, and CSAT is named beside them.
    assert "CSAT after support fell from" in reasons["nps_detractor_share|all"]


def monthly(root, column, dimension, member, first, last):
    """Mean of a monthly bridge column for one member over the months starting in [first, last)."""
    return read(
        root,
        f"select avg({column}) from marts.fct_revenue_bridge where period_grain = 'month' "
        "and dimension = ? and dimension_value = ? and period_start >= ? and period_start < ? "
        "and is_complete_period",
        [dimension, member, first, last],
    )[0][0]


def bridge(root, column, dimension, member, first, last):
    """Sum of a monthly bridge column for one member over the months starting in [first, last)."""
    return read(
        root,
        f"select sum({column}) from marts.fct_revenue_bridge where period_grain = 'month' "
        "and dimension = ? and dimension_value = ? and period_start >= ? and period_start < ?",
        [dimension, member, first, last],
    )[0][0]


def test_the_segment_that_buys_less_shows_contraction_in_the_bridge(demo):
    root, _, _ = demo
    onset = date.fromisoformat(stories(root)["segment_contraction"]["start"]).replace(day=1)
    three_months, year = timedelta(days=89), timedelta(days=365)
    net_retained = "expansion_revenue - contraction_revenue"
    after = float(bridge(root, net_retained, "segment", "smb", onset, onset + three_months))
    a_year_before = float(
        bridge(root, net_retained, "segment", "smb", onset - year, onset - year + three_months)
    )
    revenue = float(bridge(root, "ending_revenue", "segment", "smb", onset - year, onset))
    monthly_revenue = revenue / 12
    # Customers who stay spend less: the retained customers' net change turns clearly negative.
    assert after < -0.2 * monthly_revenue
    assert after < a_year_before - 0.15 * monthly_revenue


def test_the_region_that_leaves_shows_lapses_lower_revenue_retention_and_p_alive(demo):
    root, _, _ = demo
    churn = stories(root)["region_churn"]
    onset, region = date.fromisoformat(churn["start"]), churn["member"]
    # Leavers lapse 180 days after their last order; a month of lapses in one region is noisy,
    # so the test compares the latest quarter with the year before the onset.
    churn_rate, nrr = read(
        root,
        "select avg(churn_rate) filter (where month_start >= ?), "
        "avg(churn_rate) filter (where month_start < ? and month_start >= ?) "
        "from marts.fct_retention_monthly where dimension = 'region' and dimension_value = ?",
        [AS_OF - timedelta(days=92), onset, onset - timedelta(days=365), region],
    )[0]
    assert churn_rate > 3 * nrr
    retention = dict(
        read(
            root,
            "select dimension_value, net_revenue_retention_12m from marts.fct_retention_monthly "
            "where dimension = 'region' and month_start = ?",
            [AS_OF.replace(day=1)],
        )
    )
    assert retention[region] < min(v for r, v in retention.items() if r != region) - 0.1
    p_alive = dict(
        read(
            root,
            "select region = ? as churned, avg(p_alive) from marts.dim_customers "
            "where orders >= 2 group by 1",
            [region],
        )
    )
    assert p_alive[True] < p_alive[False] - 0.1


def test_csat_drops_after_the_support_change_and_nps_follows(demo):
    root, _, _ = demo
    csat_story, nps_story = (s for s in story_list(root) if s["story"] == "csat_drop")

    def mean(column, first, last):
        return read(
            root,
            f"select avg({column}) from marts.fct_feedback_daily where dimension = 'total' "
            "and feedback_date >= ? and feedback_date < ?",
            [first, last],
        )[0][0]

    csat_onset = date.fromisoformat(csat_story["start"])
    half_year = timedelta(days=182)
    assert mean("csat_30d", csat_onset + timedelta(days=30), AS_OF) < (
        mean("csat_30d", csat_onset - half_year, csat_onset) - 10
    )
    nps_onset = date.fromisoformat(nps_story["start"])
    assert nps_onset > csat_onset
    assert mean("nps_90d", AS_OF - timedelta(days=14), AS_OF) < (
        mean("nps_90d", nps_onset - half_year, nps_onset) - 5
    )


def test_the_quiet_stretch_raises_nothing(demo):
    root, _, _ = demo
    quiet = next(s for s in stories(root).values() if s["kind"] == "quiet")
    start, end = date.fromisoformat(quiet["start"]), date.fromisoformat(quiet["end"])
    days = [end - timedelta(days=offset) for offset in range(0, (end - start).days, 14)]
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        raised = {
            day: [
                (a.kpi_name, a.dimension_value, a.kind) for a in evaluate_warehouse(con, day).alerts
            ]
            for day in days
            if (day - start).days >= 273  # a baseline and a monitored half year inside the quiet
        }
    assert raised and all(alerts == [] for alerts in raised.values()), raised


def test_the_sensor_raises_each_new_alert_once(demo):
    root, instance, _ = demo
    channel = root / "alerts.jsonl"
    sent, cursor = raise_alerts(instance, None, logging.getLogger())
    assert sent and {alert["state"] for alert in sent} == {"new"}
    assert len(channel.read_text().splitlines()) == len(sent)
    again, _ = raise_alerts(instance, cursor, logging.getLogger())
    assert again == []
    assert len(channel.read_text().splitlines()) == len(sent)


def test_extracting_again_loads_no_duplicate(demo):
    root, instance, _ = demo
    before = raw_counts(root)
    graph = defs.resolve_asset_graph()
    ingest = [key for key in graph.get_all_asset_keys() if graph.get(key).group_name == "ingest"]
    result = defs.resolve_job_def("daily_radar").execute_in_process(
        instance=instance, asset_selection=ingest
    )
    assert result.success
    assert raw_counts(root) == before


def test_with_every_source_off_the_job_succeeds_and_the_marts_are_empty(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("SERVING_PATH", str(tmp_path / "serving.duckdb"))
    monkeypatch.setenv("DASHBOARD_PATH", str(tmp_path / "dashboard.html"))
    for name in ("ERP_DATABASE_URL", "CRM_API_URL", "WEB_EVENTS_PATH", "HR_SURVEY_PATH"):
        monkeypatch.setenv(name, "off")
    with project_instance() as instance:
        result = defs.resolve_job_def("daily_radar").execute_in_process(
            instance=instance, raise_on_error=False
        )
        assert result.success
        warnings = [
            event.message
            for event in instance.all_logs(result.run_id)
            if "source is off" in (event.message or "")
        ]
    assert len(warnings) == 4
    for table in ("marts.fct_customer_value_daily", "marts.fct_kpi_daily", "monitoring.kpi_alerts"):
        assert read(tmp_path, f"select count(*) from {table}") == [(0,)]


def test_the_daily_build_leaves_the_dbt_unit_tests_to_the_test_suite_and_they_pass(demo, tmp_path):
    """The job's two builds, before and after the Python assets, run every model, data test
    and exposure once and no unit test: those check the models' logic on fixed rows, whatever
    the day's data. They run here, against the demo's warehouse."""
    root, _, result = demo
    builds = (PROJECT_ROOT / "target").glob(f"dbt_models*-{result.run_id[:7]}*/run_results.json")
    ran = [r["unique_id"] for b in builds for r in json.loads(b.read_text())["results"]]
    manifest = json.loads((PROJECT_ROOT / "target" / "manifest.json").read_text())
    nodes = [n for n in manifest["nodes"] if n.split(".")[0] in ("model", "seed", "test")]
    assert sorted(ran) == sorted([*nodes, *manifest["exposures"]])
    env = {**os.environ, "WAREHOUSE_PATH": str(root / "warehouse.duckdb")}
    assert_every_dbt_unit_test_passes(env, tmp_path)


def test_the_marts_benchmark_times_each_heavy_model_against_its_floor(demo):
    # the command the README gives, on the demo's warehouse
    root, _, _ = demo
    done = subprocess.run(
        [sys.executable, "benchmarks/marts.py", str(root / "warehouse.duckdb"), "--repeats", "1"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[1:]]
    assert [row[0] for row in rows] == [
        "int_orders_enriched",
        "fct_customer_value_daily",
        "int_retention_kpis_daily",
        "fct_revenue_bridge",
        "fct_retention_monthly",
        "fct_web_channels_daily",
    ]
    assert all(float(model) > 0 and float(floor) > 0 for _, model, floor, _ in rows)
