"""KPI evaluation over a small synthetic warehouse, and the sensor that raises its alerts."""

import json
import logging
from datetime import date, timedelta

import dagster as dg
import duckdb
import numpy as np
import pytest
from radar_runs import project_instance

from orchestration.defs.monitoring.alerts import kpi_alert_sensor, kpi_alerts, raise_alerts
from orchestration.defs.reporting_day import ReportingDay
from orchestration.lib.monitor import _SnapshotReader, evaluate_warehouse, record_alerts

MINUS = "\u2212"
START = date(2025, 1, 1)
DAYS = 400
ONSET = START + timedelta(days=340)
LAST_DAY = START + timedelta(days=DAYS - 1)

# The as-of day comes from AS_OF, which each test sets.
RESOURCES = {"reporting_day": ReportingDay()}


def build_marts(
    con: duckdb.DuckDBPyConnection, smb_basket_after_onset: float, currency: str | None = None
) -> None:
    """A total and two segments; from ONSET smb orders are worth ``smb_basket_after_onset``.

    With ``currency``, the catalogue's money is `money` and the build's reporting currency is
    recorded in reference.run_settings, as dbt writes them; else the money KPI is in EUR.
    """
    con.execute("create schema reference; create schema marts")
    con.execute(
        """create table reference.kpi_catalogue as select * from (values
        ('average_customer_value', 'Average customer value', ?, 'higher_is_better',
         0.03, 0.0, true, 'segment', 'active_customers'),
        ('active_customers', 'Active customers', 'customers', 'higher_is_better',
         0.02, 0.0, true, 'none', '')) as t(kpi_name, label, unit, direction, min_effect,
         expected_weekly_growth, enabled, alert_level, related_kpis)""",
        ["money" if currency else "EUR"],
    )
    if currency:
        con.execute(
            "create table reference.run_settings as "
            "select ?::date as as_of, ? as reporting_currency, 'UTC' as reporting_timezone",
            [LAST_DAY, currency],
        )
    rng = np.random.default_rng(7)
    rows = []
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        members = {}
        for segment, customers, orders, basket in (
            ("smb", 100, 400, 100.0),
            ("enterprise", 50, 600, 300.0),
        ):
            if segment == "smb" and day >= ONSET:
                # a trailing window mixes old and new baskets: ramp over 60 days
                weight = min(1.0, (day - ONSET).days / 60)
                basket = basket * (1 - weight) + smb_basket_after_onset * weight
            revenue = orders * basket * (1 + rng.normal(0, 0.002))
            members[segment] = (customers, orders, revenue)
        members["all"] = tuple(sum(v[i] for v in members.values()) for i in range(3))
        for member, (customers, orders, revenue) in members.items():
            dimension = "total" if member == "all" else "segment"
            rows.append((day, dimension, member, customers, orders, revenue))
    con.execute(
        "create table marts.fct_customer_value_daily (value_date date, dimension varchar, "
        "dimension_value varchar, active_customers bigint, orders_in_window bigint, "
        "net_revenue_in_window double)"
    )
    con.executemany("insert into marts.fct_customer_value_daily values (?, ?, ?, ?, ?, ?)", rows)
    con.execute(
        """create table marts.fct_kpi_daily as
        select value_date as kpi_date, 'average_customer_value' as kpi_name, dimension,
               dimension_value, net_revenue_in_window / active_customers as value,
               null::double as sample_size
        from marts.fct_customer_value_daily
        union all
        select value_date, 'active_customers', dimension, dimension_value, active_customers,
               null
        from marts.fct_customer_value_daily"""
    )
    build_orders(con, smb_basket_after_onset)


def build_orders(con: duckdb.DuckDBPyConnection, smb_basket_after_onset: float) -> None:
    """Customers 1 and 2 (smb) and 3 (enterprise) order on the 15th of every month, from a year
    before START; customer 4 (smb) orders once, on 15 November 2024; customer 5 (smb) once, on
    20 January 2026; customer 6 (smb) once, on 15 March 2024, before any period a bridge
    compares. From ONSET smb orders are worth ``smb_basket_after_onset``."""
    rows = [
        (4, "smb", date(2024, 11, 15), 100.0),
        (5, "smb", date(2026, 1, 20), 60.0),
        (6, "smb", date(2024, 3, 15), 80.0),
    ]
    month = date(2024, 1, 15)
    while month <= LAST_DAY:
        smb_basket = smb_basket_after_onset if month >= ONSET else 100.0
        rows += [(1, "smb", month, smb_basket), (2, "smb", month, smb_basket)]
        rows.append((3, "enterprise", month, 300.0))
        month = (month + timedelta(days=31)).replace(day=15)
    con.execute(
        "create table marts.fct_orders (customer_id bigint, segment varchar, region varchar, "
        "order_date date, net_revenue decimal(18, 2), is_cancelled boolean)"
    )
    con.executemany(
        "insert into marts.fct_orders values (?, ?, 'north', ?, ?, false)",
        [(customer, segment, day, value) for customer, segment, day, value in rows],
    )


@pytest.fixture
def declining():
    con = duckdb.connect()
    build_marts(con, smb_basket_after_onset=60.0)
    yield con
    con.close()


def test_a_basket_decline_in_one_segment_is_an_alert_that_says_why(declining):
    evaluation = evaluate_warehouse(declining)
    assert evaluation.evaluated_on == LAST_DAY
    alerts = {(a.dimension_value, a.kind): a for a in evaluation.alerts}
    total = alerts["all", "decline"]
    assert total.state == "new"
    assert ONSET <= total.since <= ONSET + timedelta(days=45)
    assert "spend less per order" in total.reason
    assert "smb" in total.reason
    assert ("smb", "decline") in alerts
    assert ("enterprise", "decline") not in alerts
    # The last day is 4 February 2026 and the onset after 7 November 2025, so the bridge takes
    # the 90 days from 7 November (the 15th of November, December and January) against the
    # same weeks a year earlier (8 November 2024 to 5 February 2025). Customers 1 and 2 spent
    # 3 x 100 then and 100 + 60 + 60 now: -80 each; customer 4 spent 100 then only (lost),
    # customer 5 60 now only (gained): -100 with the customer who left, -160 from those who
    # stayed, +60 with the one who arrived, each said on its own, the larger loss first;
    # customer 6, who bought in neither period, is none of them.
    smb = alerts["smb", "decline"].reason
    assert smb.startswith(
        f"Customers who stay buy less ({MINUS}160 EUR) and customers are leaving "
        f"({MINUS}100 EUR, 1 customer stopped buying). New or returning customers brought "
        "+60 EUR (1 customer): revenue from 7 November 2025 to 4 February 2026 against the "
        "same weeks a year earlier. Average customer value of the smb segment is"
    )
    assert f"since {alerts['smb', 'decline'].since.day} " in smb
    assert "Active customers held at 100 customers." in smb


def test_a_related_kpi_of_daily_counts_is_quoted_over_the_week_as_its_alert_reads_it(declining):
    # Existing customers' purchases, made over expected: 9 of 10 on a weekday, 0 of 2 on a
    # Sunday. Any week holds one Sunday: 54 made of 62 expected, 0.87, where the day's value
    # swings between 0.90 and 0 (the last day, 4 February 2026, is a Wednesday: 0.90).
    declining.execute(
        """
        insert into reference.kpi_catalogue values ('existing_customer_purchases',
            'Existing customers'' purchases', 'ratio', 'higher_is_better', 0.25, 0.0, true,
            'none', '');
        update reference.kpi_catalogue set related_kpis = 'existing_customer_purchases'
        where kpi_name = 'average_customer_value';
        insert into marts.fct_kpi_daily
        select kpi_date, 'existing_customer_purchases', 'total', 'all',
            case when dayofweek(kpi_date) = 0 then 0.0 else 0.9 end,
            case when dayofweek(kpi_date) = 0 then 2.0 else 10.0 end
        from (select distinct kpi_date from marts.fct_kpi_daily)
        """
    )
    alerts = {(a.dimension_value, a.kind): a for a in evaluate_warehouse(declining).alerts}
    assert alerts["all", "decline"].reason.endswith(
        "Related signals since "
        f"{alerts['all', 'decline'].since.day} {alerts['all', 'decline'].since:%B %Y}: "
        "Existing customers' purchases (7-day average) held at 0.87."
    )


def test_a_quiet_series_raises_nothing():
    con = duckdb.connect()
    build_marts(con, smb_basket_after_onset=100.0)
    evaluation = evaluate_warehouse(con)
    assert evaluation.series_evaluated == 3
    assert evaluation.alerts == []


def test_evaluating_as_of_a_past_day_sees_only_the_data_up_to_it(declining):
    evaluation = evaluate_warehouse(declining, as_of=ONSET - timedelta(days=1))
    assert evaluation.evaluated_on == ONSET - timedelta(days=1)
    assert evaluation.alerts == []


def test_evaluating_a_day_again_records_the_same_alert_states_and_no_new_message(declining):
    def recorded() -> tuple[list[tuple], int]:
        alerts = declining.execute(
            "select state, * exclude (recorded_at) from monitoring.kpi_alerts order by alert_id"
        ).fetchall()
        messages = declining.execute("select count(*) from monitoring.alert_outbox").fetchone()
        return alerts, messages[0]

    record_alerts(declining, evaluate_warehouse(declining))
    first = recorded()
    assert first[0] and {row[0] for row in first[0]} == {"new"}
    # A run repeated, or one recovering from a crash, on the same day: as if it ran once.
    record_alerts(declining, evaluate_warehouse(declining))
    assert recorded() == first


def test_the_monitor_tables_say_what_their_columns_hold(declining):
    # a BI tool reads them from the serving copy, which keeps the comments
    record_alerts(declining, evaluate_warehouse(declining))
    documented = dict(
        declining.execute(
            "select column_name, comment from duckdb_columns() where schema_name = 'monitoring' "
            "and table_name = 'kpi_alerts' and comment is not null"
        ).fetchall()
    )
    assert documented["state"] == "new, ongoing, escalated, recovered or suppressed"
    states = declining.execute("select distinct state from monitoring.kpi_alerts").fetchall()
    named = documented["state"].replace(" or", ",").split(", ")
    assert {state for (state,) in states} <= set(named)
    tables = declining.execute(
        "select table_name from duckdb_tables() where schema_name = 'monitoring' "
        "and table_name like 'kpi%' and comment is not null order by 1"
    ).fetchall()
    assert tables == [("kpi_alerts",), ("kpi_status",)]


def test_the_sensor_sends_each_new_alert_once(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        build_marts(con, smb_basket_after_onset=60.0)
    channel = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("ALERT_CHANNELS", f"jsonl://{channel}")
    monkeypatch.setenv("AS_OF", LAST_DAY.isoformat())
    with project_instance() as instance:
        assert dg.materialize([kpi_alerts], instance=instance, resources=RESOURCES).success
        context = dg.build_sensor_context(instance=instance)
        kpi_alert_sensor(context)
        sent = [json.loads(line) for line in channel.read_text().splitlines()]
        assert sent and {alert["state"] for alert in sent} == {"new"}
        assert any(alert["dimension_value"] == "all" for alert in sent)

        # The next tick, with the cursor the first one left or with none (a daemon started
        # afresh), sends nothing again: the outbox records what was sent.
        kpi_alert_sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor))
        kpi_alert_sensor(dg.build_sensor_context(instance=instance))
        assert len(channel.read_text().splitlines()) == len(sent)
        assert len({alert["message_id"] for alert in sent}) == len(sent)

        # The same day evaluated again records the same states: still nothing to send.
        assert dg.materialize([kpi_alerts], instance=instance, resources=RESOURCES).success
        kpi_alert_sensor(dg.build_sensor_context(instance=instance, cursor=context.cursor))
        assert len(channel.read_text().splitlines()) == len(sent)


def test_alerts_of_a_warehouse_reporting_in_dollars_speak_dollars(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        build_marts(con, smb_basket_after_onset=60.0, currency="USD")
    channel = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("ALERT_CHANNELS", f"jsonl://{channel}")
    monkeypatch.setenv("AS_OF", LAST_DAY.isoformat())
    with project_instance() as instance:
        assert dg.materialize([kpi_alerts], instance=instance, resources=RESOURCES).success
        kpi_alert_sensor(dg.build_sensor_context(instance=instance))
    sent = {a["dimension_value"]: a for a in map(json.loads, channel.read_text().splitlines())}
    # The same numbers as in euros above, in the currency the warehouse was built in.
    assert (
        f"Customers who stay buy less ({MINUS}160 USD) and customers are leaving "
        f"({MINUS}100 USD, 1 customer stopped buying). New or returning customers brought "
        "+60 USD (1 customer)"
    ) in sent["smb"]["text"]
    assert "Average customer value is" in sent["all"]["text"]
    assert " USD, 7-day average " in sent["all"]["text"]
    for alert in sent.values():
        assert alert["unit"] == "USD"
        assert "EUR" not in alert["text"] and "money" not in alert["text"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select distinct unit from monitoring.kpi_alerts").fetchall() == [
            ("USD",)
        ]


def test_a_move_concentrated_in_one_region_is_told_by_region():
    from orchestration.lib.explain import Contribution
    from orchestration.lib.monitor import concentrated_breakdown

    by_segment = [Contribution("smb", -40, 0, -40), Contribution("enterprise", -35, 0, -35)]
    by_region = [Contribution("south", -70, 0, -70), Contribution("north", -5, 0, -5)]
    assert concentrated_breakdown({"segment": by_segment, "region": by_region}) == (
        "region",
        by_region,
    )
    assert concentrated_breakdown({"segment": [], "region": []})[0] == "segment"


def test_alerts_on_stale_data_are_suppressed_and_the_suppression_is_announced_once(
    tmp_path, monkeypatch
):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        build_marts(con, smb_basket_after_onset=60.0)
    channel = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("ALERT_CHANNELS", f"jsonl://{channel}")
    monkeypatch.setenv("AS_OF", (LAST_DAY + timedelta(days=10)).isoformat())
    with project_instance() as instance:
        for _ in range(2):
            result = dg.materialize([kpi_alerts], instance=instance, resources=RESOURCES)
            assert result.success
        sent, cursor = raise_alerts(instance, None, logging.getLogger())
        assert [alert["state"] for alert in sent] == ["suppressed"]
        assert [json.loads(line)["state"] for line in channel.read_text().splitlines()] == [
            "suppressed"
        ]
        assert "the data is stale" in sent[0]["reason"]
        with duckdb.connect(str(warehouse), read_only=True) as con:
            states = {
                s for (s,) in con.execute("select state from monitoring.kpi_alerts").fetchall()
            }
        assert states == {"suppressed"}

        # Fresh data again: the alerts are new (a suppressed day does not count as sent).
        monkeypatch.setenv("AS_OF", LAST_DAY.isoformat())
        assert dg.materialize([kpi_alerts], instance=instance, resources=RESOURCES).success
        sent, _ = raise_alerts(instance, cursor, logging.getLogger())
        assert sent and {alert["state"] for alert in sent} == {"new"}


def test_every_kpi_of_the_catalogue_is_a_warn_check_with_its_numbers(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        build_marts(con, smb_basket_after_onset=60.0)
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("ALERT_CHANNELS", "")
    monkeypatch.setenv("AS_OF", LAST_DAY.isoformat())
    with project_instance() as instance:
        result = dg.materialize([kpi_alerts], instance=instance, resources=RESOURCES)
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    acv = checks["average_customer_value"]
    assert not acv.passed and acv.severity == dg.AssetCheckSeverity.WARN
    assert acv.metadata["status"].value == "decline"
    assert acv.metadata["relative_change"].value < -0.03
    (materialization,) = result.asset_materializations_for_node("monitoring__kpi_alerts")
    assert materialization.metadata["value/average_customer_value"].value > 0


def test_a_customer_who_stopped_within_the_period_left_though_they_bought_in_it():
    # Customers 1 and 2 order 100 every 10 days for two years; from 1 October 2026 customer 1
    # orders no more and customer 2 orders 50. The bridge of 25 August to 23 November 2026:
    # customer 1 bought in it, but not in the 53 days since 1 October, while they ordered every
    # 10 days a year earlier (4 intervals, at least 30 days): they left, their fall is lost.
    # Customer 2 stays and buys less. Customer 3, who ordered once in 2024, is neither.
    start, end = date(2026, 8, 25), date(2026, 11, 23)
    change = date(2026, 10, 1)
    orders = [(3, date(2024, 12, 1), 70.0)]
    for i in range(0, 730, 10):
        day = date(2024, 11, 24) + timedelta(days=i)
        if day > end:
            break
        if day < change:
            orders.append((1, day, 100.0))
        orders.append((2, day, 100.0 if day < change else 50.0))
    con = duckdb.connect()
    con.execute(
        "create schema marts; create table marts.fct_orders (customer_id bigint, "
        "segment varchar, region varchar, order_date date, net_revenue double, "
        "is_cancelled boolean)"
    )
    con.executemany("insert into marts.fct_orders values (?, 'smb', 'north', ?, ?, false)", orders)

    def revenue(customer: int, first: date, last: date) -> float:
        return sum(v for c, d, v in orders if c == customer and first <= d <= last)

    year = timedelta(weeks=52)
    bridge = _SnapshotReader(con).revenue_bridge("total", "all", start, end)
    assert (bridge.lost_customers, bridge.gained_customers) == (1, 0)
    assert bridge.lost == revenue(1, start - year, end - year) - revenue(1, start, end) > 0
    assert bridge.retained_change == revenue(2, start, end) - revenue(2, start - year, end - year)
    assert bridge.retained_change < 0 and bridge.gained == 0
