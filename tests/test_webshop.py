"""A second company, unlike the demo: a small B2C web shop brought as a user brings their own.

Its ERP (`tests/data/webshop/erp.sql`) has no refunds table, orders in EUR and USD, no order
after 2026-06-16, two weeks before the as-of day, and three bad rows (an order dated 2099, an
order line without `updated_at`, one with a price that is not a number); it has no CRM and no
HR survey, and its web events are one file. The whole daily job runs on it, and the radar is
checked against numbers computed by hand for the as-of day.

By hand, for 2026-06-30 (the 365-day window is 2025-07-01 … 2026-06-30):

    order  customer  day          amount            in EUR
    101    1         2025-06-20   100.00 EUR        (before the window)
    102    1         2025-09-10   200.00 EUR        200.00
    103    1         2026-06-16    50.00 EUR         50.00
    104    2         2026-01-15    70.00 EUR         70.00  (80.00 less a 10.00 discount)
    105    3         2026-03-06   108.00 USD        100.00  (rate 1.08 that Friday)
    106    3         2026-03-08   216.00 USD        200.00  (a Sunday: Friday's 1.08)
    107    4         2026-05-04   125.00 USD        100.00  (rate 1.25)
    108    4         2026-05-05   cancelled
    109    2         2026-06-10    30.00 EUR         30.00
    110    5         2025-03-01   300.00 EUR        (before the window)
    111    2         2099-06-12  1000.00 EUR        (after the as-of day: left out)
    lines 1013 (order 109) and 1014 (order 103) are quarantined, so not counted

    revenue of the window 750.00 EUR, 4 active customers (1-4), 7 orders:
    average customer value 187.50 EUR, orders per customer 1.75, average order 107.14 EUR.

On 2026-06-16, the last day with an order, order 101 was still in the window: 850.00 EUR over
the same 4 customers, 212.50 EUR. A radar that showed the last order day as "today" would say
212.50.
"""

import sqlite3
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from radar_runs import project_instance

from orchestration.__main__ import run_config
from orchestration.definitions import defs
from orchestration.lib.radar import data_notes, load_radar, render_radar

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent / "data" / "webshop"
AS_OF = date(2026, 6, 30)


def run_webshop(root: Path, launch: dict | None = None):
    """The daily job on the web shop into ``root``, with ``launch`` config: (root, result)."""
    erp = root / "erp.sqlite"
    with sqlite3.connect(erp) as con:
        con.executescript((DATA / "erp.sql").read_text())
    env = {
        "ERP_DATABASE_URL": f"sqlite:///{erp}",
        "CRM_API_URL": "off",
        "WEB_EVENTS_PATH": str(DATA / "web"),
        "HR_SURVEY_PATH": "off",
        "AS_OF": AS_OF.isoformat(),
        "REPORTING_CURRENCY": "EUR",
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "SERVING_PATH": str(root / "serving.duckdb"),
        "DASHBOARD_PATH": str(root / "dashboard" / "index.html"),
        "ALERT_CHANNELS": f"jsonl://{root / 'alerts.jsonl'}",
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CRM_API_TOKEN", raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        with project_instance() as instance:
            result = defs.resolve_job_def("daily_radar").execute_in_process(
                run_config=launch, instance=instance, raise_on_error=False
            )
    return root, result


@pytest.fixture(scope="module")
def webshop(tmp_path_factory):
    return run_webshop(tmp_path_factory.mktemp("webshop"))


def read(root: Path, sql: str, database: str = "warehouse.duckdb") -> list[tuple]:
    with duckdb.connect(str(root / database), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_whole_job_succeeds_and_publishes_the_serving_copy(webshop):
    root, result = webshop
    assert result.success
    assert (root / "serving.duckdb").is_file()
    assert (root / "dashboard" / "index.html").is_file()


def test_tables_the_shop_does_not_have_land_empty_with_their_contract_columns(webshop):
    root, _ = webshop
    columns = read(
        root,
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'raw_erp' and table_name = 'refunds' order by ordinal_position",
    )
    assert [(name, data_type) for _, name, data_type in columns][:6] == [
        ("refund_id", "BIGINT"),
        ("order_id", "BIGINT"),
        ("refund_date", "DATE"),
        ("amount", "DECIMAL(18,2)"),
        ("currency", "VARCHAR"),
        ("reason", "VARCHAR"),
    ]
    for table in ("raw_erp.refunds", "raw_crm.deals", "raw_crm.reviews", "raw_hr.pulse_responses"):
        assert read(root, f"select count(*) from {table}") == [(0,)], table


def test_the_daily_marts_run_to_the_as_of_day_past_the_last_order(webshop):
    root, _ = webshop
    assert read(root, "select max(order_date) from marts.fct_orders") == [(date(2026, 6, 16),)]
    for mart, column in (
        ("fct_customer_value_daily", "value_date"),
        ("fct_kpi_daily", "kpi_date"),
    ):
        assert read(root, f"select max({column}) from marts.{mart}") == [(AS_OF,)], mart


def test_dollar_orders_are_reported_in_euros_at_the_rate_of_their_day(webshop):
    root, _ = webshop
    revenue = dict(
        read(root, "select order_id, net_revenue from marts.fct_orders where order_id >= 105")
    )
    assert revenue[105] == Decimal("100.00")
    assert revenue[106] == Decimal("200.00")  # a Sunday, at Friday's rate
    assert revenue[107] == Decimal("100.00")


def test_customer_value_on_the_as_of_day_matches_the_hand_computation(webshop):
    root, _ = webshop
    ((active, orders, revenue, acv, frequency, basket),) = read(
        root,
        "select active_customers, orders_in_window, net_revenue_in_window, "
        "average_customer_value, orders_per_active_customer, average_order_value "
        "from marts.fct_customer_value_daily "
        f"where dimension = 'total' and value_date = '{AS_OF}'",
    )
    assert (active, orders, revenue) == (4, 7, Decimal("750.00"))
    assert float(acv) == pytest.approx(187.50, abs=1e-9)
    assert float(frequency) == pytest.approx(1.75, abs=1e-9)
    assert float(basket) == pytest.approx(750 / 7, abs=1e-9)
    # the last day with an order, which the radar must not show as today
    ((last_order_day_acv,),) = read(
        root,
        "select average_customer_value from marts.fct_customer_value_daily "
        "where dimension = 'total' and value_date = '2026-06-16'",
    )
    assert float(last_order_day_acv) == pytest.approx(212.50, abs=1e-9)


def test_the_radar_and_the_dashboard_state_the_as_of_day_and_its_value(webshop):
    root, _ = webshop
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        lines = load_radar(con)
        radar = render_radar(lines, [])
    assert radar.startswith(f"KPI radar as of {AS_OF}")
    acv = next(line for line in lines if line.kpi_name == "average_customer_value")
    assert (acv.as_of, acv.value) == (AS_OF, pytest.approx(187.50))
    page = (root / "dashboard" / "index.html").read_text()
    assert f'data-as-of="{AS_OF}"' in page
    served = read(
        root,
        "select value from marts.fct_kpi_daily where kpi_name = 'average_customer_value' "
        f"and dimension = 'total' and kpi_date = '{AS_OF}'",
        database="serving.duckdb",
    )
    assert served == [(pytest.approx(187.50),)]


def test_bad_rows_are_left_out_with_their_reason_and_the_run_says_so(webshop):
    root, result = webshop
    quarantined = read(
        root,
        "select raw_row ->> 'order_line_id', reason from raw_erp.order_lines_quarantine order by 1",
    )
    assert quarantined[0][0] == "1013" and quarantined[0][1].startswith("updated_at is NULL")
    assert quarantined[1][0] == "1014" and "'twenty'" in quarantined[1][1]
    assert read(root, "select count(*) from marts.fct_orders where order_id = 111") == [(0,)]
    checks = {check.check_name: check for check in result.get_asset_check_evaluations()}
    after = checks["assert_no_order_is_dated_after_the_as_of_day"]
    assert not after.passed and after.severity == dg.AssetCheckSeverity.WARN
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        notes = data_notes(con, AS_OF)
    assert notes[0] == "Latest order on 2026-06-16, 14 days before 2026-06-30."
    assert "2 rows held in raw_erp.order_lines_quarantine, with the reason of each." in notes


def test_a_run_launched_for_a_past_day_reports_on_that_day(tmp_path):
    # AS_OF says 2026-06-30; the launch config of the run says the last order day.
    root, result = run_webshop(tmp_path, run_config(date(2026, 6, 16)))
    assert result.success
    assert read(root, "select max(value_date) from marts.fct_customer_value_daily") == [
        (date(2026, 6, 16),)
    ]
    ((acv,),) = read(
        root,
        "select value from marts.fct_kpi_daily where kpi_name = 'average_customer_value' "
        "and dimension = 'total' and kpi_date = '2026-06-16'",
    )
    assert acv == pytest.approx(212.50)
    assert read(root, "select as_of from reference.run_settings") == [(date(2026, 6, 16),)]
