"""A warehouse built in US dollars reads in dollars everywhere a person sees money: the radar,
the alerts and the dashboard. The currency comes from the warehouse (reference.run_settings),
never from the code."""

import json
import re
from datetime import date

import duckdb
import pytest
from radar_runs import project_instance
from test_dashboard import Dom
from test_monitor import LAST_DAY, build_marts

from orchestration.definitions import defs
from orchestration.lib.dashboard import load_dashboard_data, render_dashboard
from orchestration.lib.monitor import evaluate_warehouse, record_alerts
from orchestration.lib.notify import headline
from orchestration.lib.radar import load_radar, render_radar
from orchestration.lib.settings import PROJECT_ROOT

MANIFEST = PROJECT_ROOT / "target" / "manifest.json"
# The KPI catalogue as the seed holds it: its money KPIs in `money`, no currency named.
CATALOGUE = PROJECT_ROOT / "seeds" / "kpi_catalogue.csv"


def add_contract_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Every model of the schemas that readers query, with the columns of its dbt contract:
    a table made by hand gains those it lacks, a missing one is created empty."""
    nodes = json.loads(MANIFEST.read_text())["nodes"].values()
    for node in nodes:
        if node["resource_type"] != "model" or node["schema"] not in ("marts", "reference"):
            continue
        table = f"{node['schema']}.{node['alias']}"
        existing = {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [node["schema"], node["alias"]],
            ).fetchall()
        }
        columns = {name: column["data_type"] for name, column in node["columns"].items()}
        if not existing:
            con.execute(
                f"create table {table} ("
                + ", ".join(f'"{name}" {type_}' for name, type_ in columns.items())
                + ")"
            )
        for name, type_ in columns.items():
            if existing and name not in existing:
                con.execute(f'alter table {table} add column "{name}" {type_}')


@pytest.fixture
def dollars():
    """The declining warehouse of the monitor's tests, built in USD with the catalogue of the
    seed, a revenue bridge and predicted CLV; its alerts evaluated and recorded."""
    con = duckdb.connect()
    build_marts(con, smb_basket_after_onset=60.0, currency="USD")
    add_contract_columns(con)
    con.execute(
        f"""
        create or replace table reference.kpi_catalogue as
        select * from read_csv('{CATALOGUE}', header = true, all_varchar = true);
        alter table reference.kpi_catalogue alter enabled type boolean;
        alter table reference.kpi_catalogue alter min_effect type double;
        alter table reference.kpi_catalogue alter expected_weekly_growth type double;
        update marts.fct_customer_value_daily set
            average_customer_value = net_revenue_in_window / active_customers,
            orders_per_active_customer = orders_in_window / active_customers,
            average_order_value = net_revenue_in_window / orders_in_window;
        insert into marts.fct_revenue_bridge (period_grain, period_start, period_end,
            dimension, dimension_value, is_complete_period, starting_revenue, new_revenue,
            reactivated_revenue, expansion_revenue, contraction_revenue, lost_revenue,
            ending_revenue)
        values ('month', date '2026-01-01', date '2026-01-31', 'total', 'all', true,
            500.00, 60.00, 0.00, 0.00, 160.00, 100.00, 300.00);
        insert into marts.dim_customers (customer_id, segment, orders, is_active,
            predicted_clv_12m, p_alive, clv_fit_status, rfm_segment, observation_end)
        values (1, 'smb', 25, true, 1234.5, 0.9, 'fitted', 'champions', date '2026-02-04'),
            (3, 'enterprise', 25, true, 3600.0, 0.95, 'fitted', 'champions', date '2026-02-04');
        """
    )
    evaluation = evaluate_warehouse(con)
    record_alerts(con, evaluation)
    yield con, [alert.as_record() for alert in evaluation.alerts]
    con.close()


def test_the_radar_and_its_alerts_read_in_dollars(dollars):
    con, alerts = dollars
    text = render_radar(load_radar(con), alerts, as_of=LAST_DAY)
    [acv] = [row for row in text.splitlines() if row.startswith("  Average customer value ")]
    assert " USD " in acv and acv.endswith("decline new; in alert: smb")
    alerts = {a["dimension_value"]: a for a in alerts}
    assert {a["unit"] for a in alerts.values()} == {"USD"}
    for alert in alerts.values():
        assert f"  {headline(alert)}" in text.splitlines()
    # the levels, the segments' part and the bridge, each amount in dollars
    total = alerts["all"]["reason"]
    assert re.search(r"\(baseline [\d,]+ USD, 7-day average [\d,]+ USD; [\d,]+ USD on ", total)
    assert re.search(r"smb segment \(\S+ USD of \S+ USD\)", total)
    assert "New or returning customers brought +60 USD (1 customer)" in alerts["smb"]["reason"]
    assert "EUR" not in text and "money" not in text


def test_the_dashboard_reads_in_dollars(dollars):
    con, _ = dollars
    data = load_dashboard_data(con)
    assert data["currency"] == "USD"
    units = {k["kpi_name"]: k["unit"] for k in data["kpis"]}
    money = ("average_customer_value", "window_revenue", "average_order_value", "lost_revenue_30d")
    assert {units[name] for name in money} == {"USD"} and "money" not in units.values()
    page = render_dashboard(data)
    dom = Dom(page)
    assert dom.text(data_testid="acv-value").endswith(" USD")
    [smb] = dom.find_all(within=dom.find(data_testid="acv-members"), data_member="smb")
    assert " USD" in smb["text"]
    assert dom.text(data_testid="chart-revenue-bridge-latest") == "Jan 2026: 300 USD"
    assert dom.text(data_testid="customers-predicted-clv").endswith("4.8k USD")
    [reason] = [a for a in dom.find_all(data_testid="alert") if a["attrs"]["data-member"] == "smb"]
    assert "New or returning customers brought +60 USD (1 customer)" in reason["text"]
    assert "EUR" not in page


@pytest.fixture(scope="module")
def dollar_company(tmp_path_factory):
    """The daily job on a small demo company that reports in US dollars: its orders are in
    euros, converted at the demo ERP's reference rates."""
    root = tmp_path_factory.mktemp("dollars")
    env = {
        "REPORTING_CURRENCY": "USD",
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "SERVING_PATH": str(root / "serving.duckdb"),
        "DASHBOARD_PATH": str(root / "dashboard" / "index.html"),
        "DEMO_PATH": str(root / "demo"),
        "AS_OF": "2026-06-30",
        "DEMO_SEED": "42",
        "DEMO_SCALE": "0.2",
        "ALERT_CHANNELS": f"jsonl://{root / 'alerts.jsonl'}",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in ("ERP_DATABASE_URL", "CRM_API_URL", "CRM_API_TOKEN", "WEB_EVENTS_PATH"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        with project_instance() as instance:
            result = defs.resolve_job_def("daily_radar").execute_in_process(
                instance=instance, raise_on_error=False
            )
    return root, result


@pytest.mark.e2e
def test_a_company_reporting_in_dollars_reads_in_dollars_from_build_to_page(dollar_company):
    root, result = dollar_company
    assert result.success
    with duckdb.connect(str(root / "serving.duckdb"), read_only=True) as con:
        assert con.execute(
            "select as_of, reporting_currency, reporting_timezone from reference.run_settings"
        ).fetchall() == [(date(2026, 6, 30), "USD", "UTC")]
        radar = render_radar(load_radar(con), [], as_of=date(2026, 6, 30))
        reasons = [r for (r,) in con.execute("select reason from monitoring.kpi_alerts").fetchall()]
    [acv] = [row for row in radar.splitlines() if row.startswith("  Average customer value ")]
    assert " USD " in acv
    assert "EUR" not in radar
    assert not [reason for reason in reasons if "EUR" in reason]
    page = (root / "dashboard" / "index.html").read_text()
    assert Dom(page).text(data_testid="acv-value").endswith(" USD")
    assert "EUR" not in page
