"""Predictions degrade, facts never do: the daily job on an ERP whose CLV fit cannot succeed."""

import contextlib
import io
import shutil
import sqlite3
from datetime import date

import dagster as dg
import duckdb
import pytest
from radar_runs import project_instance

from orchestration.definitions import defs
from orchestration.lib.dashboard import render_dashboard
from orchestration.lib.radar import load_radar, render_radar

AS_OF = date(2026, 6, 30)
WARN_TEST = "assert_clv_models_were_fitted"


def keep_only_first_orders(erp: sqlite3.Connection) -> None:
    """Each customer keeps their first completed order and nothing else, with its lines and
    refunds: nobody has a repeat purchase, so the BG/NBD has nothing to learn from."""
    erp.executescript(
        """
        delete from orders where order_id not in (
            select min(order_id) from orders as o
            where status <> 'cancelled' and order_date = (
                select min(order_date) from orders as first
                where first.customer_id = o.customer_id and first.status <> 'cancelled'
            )
            group by customer_id
        );
        delete from order_lines where order_id not in (select order_id from orders);
        delete from refunds where order_id not in (select order_id from orders);
        """
    )


@pytest.fixture(scope="module")
def one_time_buyers(small_demo, tmp_path_factory):
    """The job run on the small demo's ERP cut to first orders, every other source off."""
    root = tmp_path_factory.mktemp("one_time_buyers")
    erp = root / "erp.sqlite"
    shutil.copy(small_demo.erp_db, erp)
    with contextlib.closing(sqlite3.connect(erp)) as db, db:
        keep_only_first_orders(db)
        buyers = db.execute(
            "select count(distinct customer_id) from orders where order_date <= ?", [AS_OF]
        ).fetchone()[0]
        customers = db.execute("select count(*) from customers").fetchone()[0]
    env = {
        "ERP_DATABASE_URL": f"sqlite:///{erp}",
        "CRM_API_URL": "off",
        "WEB_EVENTS_PATH": "off",
        "HR_SURVEY_PATH": "off",
        "AS_OF": AS_OF.isoformat(),
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "SERVING_PATH": str(root / "serving.duckdb"),
        "DASHBOARD_PATH": str(root / "dashboard.html"),
        "ALERT_CHANNELS": f"jsonl://{root / 'alerts.jsonl'}",
    }
    output = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, project_instance() as instance:
        patch.delenv("CRM_API_TOKEN", raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        # dbt's log reaches this process's standard output, through dagster-dbt.
        with contextlib.redirect_stdout(output):
            result = defs.resolve_job_def("daily_radar").execute_in_process(
                instance=instance, raise_on_error=False
            )
    reason = (
        f"cannot fit BG/NBD as of {AS_OF}: none of the {buyers} customers has a repeat "
        "purchase, so nothing tells how often customers buy or when they leave"
    )
    return {
        "root": root,
        "result": result,
        "log": output.getvalue(),
        "buyers": buyers,
        "customers": customers,
        "reason": reason,
    }


def read(path, sql):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.e2e
def test_the_job_succeeds_and_materializes_every_asset_when_the_clv_fit_cannot_succeed(
    one_time_buyers,
):
    result = one_time_buyers["result"]
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == set(defs.resolve_asset_graph().get_all_asset_keys())


@pytest.mark.e2e
def test_dim_customers_keeps_every_customer_and_their_facts_with_null_predictions(
    one_time_buyers,
):
    warehouse = one_time_buyers["root"] / "warehouse.duckdb"
    assert read(
        warehouse,
        """
        select count(*), count(*) filter (where orders = 1), count(*) filter (where orders = 0),
            count(predicted_clv_12m), count(p_alive), count(expected_purchases_12m),
            count(rfm_segment), sum(historical_clv) > 0
        from marts.dim_customers
        """,
    ) == [
        (
            one_time_buyers["customers"],
            one_time_buyers["buyers"],
            one_time_buyers["customers"] - one_time_buyers["buyers"],
            0,
            0,
            0,
            one_time_buyers["buyers"],
            True,
        )
    ]


@pytest.mark.e2e
def test_the_reason_is_recorded_on_every_customer_who_ordered(one_time_buyers):
    warehouse = one_time_buyers["root"] / "warehouse.duckdb"
    assert read(
        warehouse,
        "select clv_fit_status, clv_fit_error, count(*) from marts.dim_customers "
        "where orders > 0 group by all",
    ) == [("failed", one_time_buyers["reason"], one_time_buyers["buyers"])]
    assert read(
        warehouse,
        "select distinct clv_fit_status, r, alpha, a, b, p, q, v "
        "from intermediate.int_customer_clv_predictions",
    ) == [("failed", None, None, None, None, None, None, None)]


@pytest.mark.e2e
def test_a_warning_check_fails_on_the_fit_and_the_build_log_names_the_reason(one_time_buyers):
    checks = one_time_buyers["result"].get_asset_check_evaluations()
    failed = {(c.check_name, c.severity) for c in checks if not c.passed}
    assert (WARN_TEST, dg.AssetCheckSeverity.WARN) in failed
    assert not [name for name, severity in failed if severity == dg.AssetCheckSeverity.ERROR]
    assert f"Predicted CLV unavailable: {one_time_buyers['reason']}" in one_time_buyers["log"]


@pytest.mark.e2e
def test_the_serving_copy_is_published_with_the_reason(one_time_buyers):
    serving = one_time_buyers["root"] / "serving.duckdb"
    assert read(
        serving,
        "select count(*), count(p_alive), any_value(clv_fit_error) from marts.dim_customers "
        "where orders > 0",
    ) == [(one_time_buyers["buyers"], 0, one_time_buyers["reason"])]
    assert read(serving, "select count(*) > 0 from marts.fct_kpi_daily") == [(True,)]


@pytest.mark.e2e
def test_the_radar_says_predicted_clv_is_unavailable_and_why(one_time_buyers):
    with duckdb.connect(str(one_time_buyers["root"] / "warehouse.duckdb"), read_only=True) as con:
        radar = render_radar(load_radar(con), [])
    lines = [line for line in radar.splitlines() if "Predicted CLV" in line]
    assert len(lines) == 1
    assert lines[0].endswith(f"unavailable: {one_time_buyers['reason']}")
    assert "Average customer value" in radar


@pytest.mark.e2e
def test_the_dashboard_shows_the_predictions_as_unavailable_with_the_reason(one_time_buyers):
    page = (one_time_buyers["root"] / "dashboard.html").read_text()
    assert f"Predictions unavailable: {one_time_buyers['reason']}" in page
    for testid in ("customers-predicted-clv", "customers-p-alive"):
        start = page.index(f'data-testid="{testid}"')
        assert "<dd>unavailable</dd>" in page[start : page.index("</div>", start)]


def customer_base(reason):
    return {
        "customers": {
            "customers": 10,
            "active": 8,
            "predicted_clv_12m": None if reason else 12_345.0,
            "p_alive_active": None if reason else 0.75,
            "predictions_unavailable_because": reason,
            "segments": [{"rfm_segment": "loyal", "customers": 10}],
        }
    }


def test_the_dashboard_says_unavailable_and_why_for_missing_predictions_never_a_dash():
    page = render_dashboard(customer_base("BG/NBD fit failed <as of> 2026-06-30"))
    fitted = render_dashboard(customer_base(None))

    assert page.count("<dd>unavailable</dd>") == 2
    assert "Predictions unavailable: BG/NBD fit failed &lt;as of&gt; 2026-06-30" in page
    assert "<dd>unavailable</dd>" not in fitted and "Predictions unavailable" not in fitted
    assert "<dd>12k EUR</dd>" in fitted and "<dd>75.0 %</dd>" in fitted
