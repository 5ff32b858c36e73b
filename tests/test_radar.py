from datetime import date

import duckdb
import pytest

from orchestration.lib.monitor import Evaluation, record_alerts
from orchestration.lib.radar import (
    RadarLine,
    data_notes,
    load_radar,
    render_radar,
    reporting_currency,
    unavailable_predictions,
)
from orchestration.lib.trend import Finding

DAY = date(2026, 6, 30)


def line(unit, value, before, alert=None, label="KPI"):
    return RadarLine("kpi", label, unit, DAY, value, before, alert)


def test_a_money_kpi_changes_in_percent_and_a_share_in_points():
    assert line("EUR", 3035.0, 3075.0).change == "-1.3%"
    assert line("share", 0.022, 0.016).change == "+0.6 pts"
    assert line("points", 24.0, 10.0).change == "+14.0 pts"
    assert line("EUR", 10.0, None).change == ""


def test_the_radar_lists_each_kpi_with_its_status_and_then_the_alerts():
    alert = {
        "state": "new",
        "label": "Average customer value",
        "dimension": "total",
        "dimension_value": "all",
        "reason": "It fell 5.8 % since 13 March 2026.",
    }
    text = render_radar(
        [
            line("EUR", 3035.0, 3075.0, "decline new", "Average customer value"),
            line("share", 0.022, 0.016, None, "Churn rate"),
        ],
        [alert],
    )
    rows = text.splitlines()
    assert rows[0] == "KPI radar as of 2026-06-30 (change over 28 days)"
    assert "3,035 EUR" in rows[2] and "-1.3%" in rows[2] and rows[2].endswith("decline new")
    assert "2.2 %" in rows[3] and "+0.6 pts" in rows[3] and rows[3].endswith("ok")
    assert rows[-2] == "Alerts raised (1):"
    assert rows[-1] == "  [NEW] Average customer value: It fell 5.8 % since 13 March 2026."


def test_an_empty_warehouse_gives_an_empty_radar():
    assert render_radar([], []).splitlines()[0] == "KPI radar as of no data (change over 28 days)"


def customers_warehouse(rows):
    """An in-memory warehouse with marts.dim_customers holding just the fit's columns."""
    con = duckdb.connect()
    con.execute(
        "create schema marts; "
        "create table marts.dim_customers (customer_id bigint, clv_fit_status varchar, "
        "clv_fit_error varchar)"
    )
    if rows:
        con.executemany("insert into marts.dim_customers values (?, ?, ?)", rows)
    return con


def test_a_failed_clv_fit_adds_a_radar_line_saying_predicted_clv_is_unavailable_and_why():
    reason = "BG/NBD fit failed as of 2026-06-30 on 12 customers: it ran to a parameter bound"
    con = customers_warehouse([(1, "failed", reason), (2, "failed", reason), (3, None, None)])

    (line,) = unavailable_predictions(con)

    assert line.value is None and line.as_of is None
    row = render_radar([line], []).splitlines()[2]
    assert row.startswith("  Predicted CLV (12 months)")
    assert row.endswith(f"unavailable: {reason}")


def test_a_fitted_clv_or_a_base_without_orders_adds_no_radar_line():
    assert unavailable_predictions(customers_warehouse([(1, "fitted", None)])) == []
    assert unavailable_predictions(customers_warehouse([(1, None, None)])) == []
    assert unavailable_predictions(customers_warehouse([])) == []


def test_a_kpi_older_than_the_as_of_day_says_from_which_day_it_is():
    older = RadarLine("enps", "Employee NPS", "points", date(2026, 6, 1), 12.0, 10.0, None)
    text = render_radar([line("EUR", 3035.0, 3075.0), older], [], as_of=DAY)
    rows = text.splitlines()
    assert rows[0] == "KPI radar as of 2026-06-30 (change over 28 days)"
    assert rows[2].endswith("ok")
    assert rows[3].endswith("ok (value of 2026-06-01)")


def test_a_kpi_without_a_value_is_not_said_to_be_ok():
    text = render_radar([line("share", None, None, label="Net revenue retention")], [], DAY)
    assert text.splitlines()[2].split() == ["Net", "revenue", "retention", "—", "no", "value"]


def test_the_notes_name_a_last_order_before_the_as_of_day_and_quarantined_rows():
    con = duckdb.connect()
    con.execute(
        "create schema marts; create schema raw_erp; "
        "create table marts.fct_orders as select date '2026-06-16' as order_date; "
        "create table raw_erp.orders_quarantine as select 'NULL updated_at' as reason "
        "from range(3); "
        "create table raw_erp.refunds_quarantine (reason varchar); "
        # A source landed in a database of its own (on Spark), attached.
        "attach ':memory:' as web; create schema web.raw_web; "
        "create table web.raw_web.events_quarantine as select 'unreadable line' as reason; "
        # dlt's staging copy of the last load of a merged table: the same row again.
        "create schema web.raw_web_staging; "
        "create table web.raw_web_staging.events_quarantine as from web.raw_web.events_quarantine"
    )
    assert data_notes(con, DAY) == [
        "Latest order on 2026-06-16, 14 days before 2026-06-30.",
        "3 rows held in raw_erp.orders_quarantine, with the reason of each.",
        "1 row held in raw_web.events_quarantine, with the reason of each.",
    ]
    assert data_notes(con, date(2026, 6, 16))[0].startswith("3 rows held")
    text = render_radar([], [], as_of=DAY, notes=data_notes(con, DAY))
    assert "Latest order on 2026-06-16" in text


def radar_warehouse(currency: str | None):
    """The money KPIs of the catalogue with a value each, a failed CLV fit, and the row the
    build writes in reference.run_settings (none when ``currency`` is None)."""
    con = customers_warehouse([(1, "failed", "BG/NBD fit failed")])
    con.execute(
        """
        create schema reference; create schema monitoring;
        create table reference.kpi_catalogue as select * from (values
            ('average_customer_value', 'Average customer value', 'money', true, 'segment'),
            ('active_customers', 'Active customers', 'customers', true, 'segment'),
            ('lost_revenue_30d', 'Lost revenue (30 days)', 'money', true, 'none')
        ) as t(kpi_name, label, unit, enabled, alert_level);
        create table marts.fct_kpi_daily as select * from (values
            (date '2026-06-02', 'average_customer_value', 'total', 'all', 3075.0::double, 1400),
            (date '2026-06-30', 'average_customer_value', 'total', 'all', 3035.0, 1375),
            (date '2026-06-30', 'active_customers', 'total', 'all', 1375.0, null),
            (date '2026-06-30', 'lost_revenue_30d', 'total', 'all', 12500.0, null)
        ) as t(kpi_date, kpi_name, dimension, dimension_value, value, sample_size);
        create table monitoring.kpi_alerts (evaluated_on date, kpi_name varchar,
            dimension varchar, dimension_value varchar, kind varchar, state varchar);
        """
    )
    if currency:
        con.execute(
            "create table reference.run_settings as "
            "select date '2026-06-30' as as_of, ? as reporting_currency",
            [currency],
        )
    return con


def test_the_radar_labels_money_with_the_currency_the_warehouse_was_built_in():
    text = render_radar(load_radar(radar_warehouse("USD")), [], as_of=DAY)
    rows = {row.split("  ")[1]: row for row in text.splitlines() if row.startswith("  ")}
    assert "3,035 USD" in rows["Average customer value"]
    assert "-1.3%" in rows["Average customer value"]
    assert "12,500 USD" in rows["Lost revenue (30 days)"]
    assert "1,375 customers" in rows["Active customers"]
    assert {line.unit for line in load_radar(radar_warehouse("USD"))} == {"USD", "customers"}
    assert "EUR" not in text and "money" not in text


def test_a_kpi_ok_in_total_names_its_segments_and_regions_in_alert():
    con = radar_warehouse("EUR")
    con.execute(
        """insert into monitoring.kpi_alerts values
            (date '2026-06-30', 'average_customer_value', 'segment', 'smb', 'decline', 'new'),
            (date '2026-06-30', 'average_customer_value', 'region', 'south', 'decline', 'open'),
            (date '2026-06-30', 'average_customer_value', 'region', 'east', 'decline',
                'recovered'),
            (date '2026-06-30', 'active_customers', 'total', 'all', 'decline', 'new'),
            (date '2026-06-29', 'active_customers', 'segment', 'smb', 'decline', 'new')"""
    )
    text = render_radar(load_radar(con), [], as_of=DAY)
    rows = {row.split("  ")[1]: row for row in text.splitlines() if row.startswith("  ")}
    assert rows["Average customer value"].endswith("  ok; in alert: smb, south")
    # yesterday's alert of a segment is not today's
    assert rows["Active customers"].endswith("  decline new")


def test_a_warehouse_that_records_no_currency_is_in_the_default_reporting_currency():
    assert reporting_currency(radar_warehouse("GBP")) == "GBP"
    # built before reference.run_settings existed, or by hand: dbt's default var
    assert reporting_currency(radar_warehouse(None)) == "EUR"
    text = render_radar(load_radar(radar_warehouse(None)), [], as_of=DAY)
    assert "3,035 EUR" in text


def test_a_quarantined_record_is_held_until_raw_has_a_version_of_it_as_recent():
    con = duckdb.connect()
    con.execute(
        "create schema marts; create schema raw_erp; "
        "create table marts.fct_orders as select date '2026-06-30' as order_date; "
        "create table raw_erp.order_lines as select * from (values "
        "  (1, timestamptz '2026-06-01 10:00+00', '100.1'), "  # fixed later, same updated_at
        "  (2, timestamptz '2026-06-01 10:00+00', '100.1'), "  # loaded; a copy was quarantined
        "  (3, timestamptz '2026-06-01 10:00+00', '100.1'), "  # its update of 06-02 is held
        "  (4, timestamptz '2026-06-05 10:00+00', '300.1')"  # its NULL cursor was set later
        ") as t(order_line_id, updated_at, _dlt_load_id); "
        "create table raw_erp.order_lines_quarantine as select * from (values "
        '  (\'{"order_line_id": 1, "updated_at": "2026-06-01"}\', '
        "   timestamptz '2026-06-01 10:00+00', '100.1'), "
        '  (\'{"order_line_id": 2, "updated_at": "2026-06-01"}\', '
        "   timestamptz '2026-06-01 10:00+00', '100.1'), "
        '  (\'{"order_line_id": 3, "updated_at": "2026-06-02"}\', '
        "   timestamptz '2026-06-02 10:00+00', '200.1'), "
        "  ('{\"order_line_id\": 4, \"updated_at\": null}', null, '200.1'), "
        "  ('{\"order_line_id\": 5, \"updated_at\": null}', null, '200.1')"
        ") as t(row_key, updated_at, _dlt_load_id)"
    )
    con.execute("alter table raw_erp.order_lines_quarantine add column reason varchar")
    assert data_notes(con, DAY) == [
        "2 rows held in raw_erp.order_lines_quarantine, with the reason of each."
    ]


def test_existing_customers_purchases_read_over_the_week_as_their_alerts_quote_them():
    # A small company's existing customers, made over expected each day: 3 of 2, then 0 of 1,
    # 1 of 1, ... One day's ratio swings from 1.5 to 0; the week to 30 June made 7 of 8
    # (0.875), the week to 2 June 10 of 8 (1.25): -30.0 %.
    con = radar_warehouse("EUR")
    con.execute(
        "insert into reference.kpi_catalogue values ('existing_customer_purchases', "
        "'Existing customers'' purchases', 'ratio', true, 'total_and_region')"
    )
    made = {
        date(2026, 5, 27): (2, 1),
        date(2026, 5, 29): (4, 3),
        date(2026, 6, 1): (1, 2),
        date(2026, 6, 2): (3, 2),
        date(2026, 6, 24): (1, 1),
        date(2026, 6, 26): (2, 2),
        date(2026, 6, 28): (1, 2),
        date(2026, 6, 29): (3, 2),
        date(2026, 6, 30): (0, 1),
    }
    con.executemany(
        "insert into marts.fct_kpi_daily values "
        "(?, 'existing_customer_purchases', 'total', 'all', ?, ?)",
        [(day, count / expected, expected) for day, (count, expected) in made.items()],
    )
    (line,) = [x for x in load_radar(con) if x.kpi_name == "existing_customer_purchases"]
    assert line.label == "Existing customers' purchases (7-day average)"
    assert line.value == pytest.approx(7 / 8)
    assert line.value_before == pytest.approx(10 / 8)
    assert line.change == "-30.0%"


def test_a_kpi_the_monitor_could_not_score_or_does_not_watch_is_not_said_to_be_ok():
    con = radar_warehouse("EUR")
    record_alerts(
        con,
        Evaluation(
            date(2026, 6, 30),
            2,
            totals={
                "average_customer_value": Finding("ok"),
                "active_customers": Finding(
                    "insufficient_history", detail="120 days of history; 189 needed."
                ),
            },
        ),
    )
    text = render_radar(load_radar(con), [], as_of=DAY)
    rows = {row.split("  ")[1]: row for row in text.splitlines() if row.startswith("  ")}
    assert rows["Average customer value"].endswith("  ok")
    assert rows["Active customers"].endswith("not scored: 120 days of history; 189 needed.")
    assert rows["Lost revenue (30 days)"].endswith("not watched")
