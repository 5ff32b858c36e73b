"""The KPI radar as text: each KPI's latest value, its change, and the alerts with reasons."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from orchestration.lib.explain import (
    MONEY,
    POINT_UNITS,
    WEEK_AVERAGE,
    WEEK_DAYS,
    format_value,
    signed,
    unit_shown,
)
from orchestration.lib.notify import headline

CHANGE_DAYS = 28
# dbt's default var reporting_currency: what a warehouse that does not record its currency
# (built before reference.run_settings existed, or by hand) was built in.
DEFAULT_CURRENCY = "EUR"

# KPIs that are a count made over a count expected (fct_kpi_daily.sample_size): one day's
# ratio swings by hundreds of percent in a small company, so the radar, the dashboard and the
# alerts show them as made over expected in the WEEK_DAYS ending each day.
COUNTED = ("existing_customer_purchases", "existing_customer_basket")
# The signals of the existing customers leaving (their purchases) and of those who stay buying
# less (their basket): their alerts' first sentence names the cause, and they move months
# before the average customer value, which counts a customer for a year after their last order.
EXISTING_CUSTOMERS = COUNTED
# Each KPI's value by day and member, as the radar, the dashboard and the alerts show it.
SHOWN_SQL = f"""
select
    kpi_date,
    kpi_name,
    dimension,
    dimension_value,
    case
        when kpi_name in {COUNTED!r}
            then sum(value * sample_size) over week / nullif(sum(sample_size) over week, 0)
        else value
    end as value
from marts.fct_kpi_daily
window week as (
    partition by kpi_name, dimension, dimension_value order by kpi_date
    range between interval {WEEK_DAYS - 1} day preceding and current row
)
"""
# Each KPI's total by day, as shown.
TOTALS_SQL = f"select kpi_date, kpi_name, value from ({SHOWN_SQL}) where dimension = 'total'"


def shown_label(kpi_name: str, label: str) -> str:
    """A KPI's label as the radar and the dashboard show it, saying when it is a week's.

    >>> shown_label("existing_customer_basket", "Existing customers' basket")
    "Existing customers' basket (7-day average)"
    """
    return f"{label} ({WEEK_AVERAGE})" if kpi_name in COUNTED else label


RADAR_SQL = f"""
with total as (
    select kpi_date, kpi_name, value from ({TOTALS_SQL}) where value is not null
),
latest as (
    -- each KPI's own latest day: a monthly survey is not stale because orders arrived today
    select kpi_name, max(kpi_date) as kpi_date from total group by kpi_name
),
alerts as (
    select
        kpi_name,
        string_agg(distinct kind || ' ' || state, ', ') filter (where dimension = 'total')
            as alert,
        string_agg(distinct dimension_value, ', ' order by dimension_value)
            filter (where dimension <> 'total') as members_in_alert
    from monitoring.kpi_alerts
    where evaluated_on = (select max(evaluated_on) from monitoring.kpi_alerts)
      and state <> 'recovered'
    group by kpi_name
)
select
    catalogue.kpi_name,
    catalogue.label,
    catalogue.unit,
    latest.kpi_date,
    now_.value as value,
    before.value as value_before,
    alerts.alert,
    case when catalogue.alert_level = 'none' then 'not watched' end as unscored,
    alerts.members_in_alert
from reference.kpi_catalogue as catalogue
left join latest on latest.kpi_name = catalogue.kpi_name
left join total as now_
    on now_.kpi_name = catalogue.kpi_name and now_.kpi_date = latest.kpi_date
left join total as before
    on before.kpi_name = catalogue.kpi_name
    and before.kpi_date = latest.kpi_date - interval {CHANGE_DAYS} day
left join alerts on alerts.kpi_name = catalogue.kpi_name
where catalogue.enabled
order by catalogue.kpi_name <> 'average_customer_value', catalogue.label
"""


@dataclass(frozen=True)
class RadarLine:
    kpi_name: str
    label: str
    unit: str
    as_of: date | None
    value: float | None
    value_before: float | None
    alert: str | None
    # why a KPI with a value is not said to be ok: not watched, or not scored and why
    unscored: str | None = None
    # the segments and regions in alert, whatever the total's status
    members_in_alert: str | None = None

    @property
    def change(self) -> str:
        """The move over CHANGE_DAYS: in points for shares and scores around zero, else in %."""
        if self.value is None or self.value_before is None:
            return ""
        if self.unit in POINT_UNITS:
            points = (self.value - self.value_before) * POINT_UNITS[self.unit]
            return signed(points, ".1f", minus="-") + " pts"
        if not self.value_before:
            return ""
        return signed(self.value / self.value_before - 1, ".1%", minus="-")


# Why the CLV models could not be fitted on this build, if they could not (dim_customers then
# has no prediction, and the dashboard says so too).
FAILED_CLV_FIT_SQL = """
select any_value(clv_fit_error)
from marts.dim_customers
where clv_fit_status = 'failed'
having count(*) > 0
"""


def load_radar(con: duckdb.DuckDBPyConnection) -> list[RadarLine]:
    """The radar's lines, money labelled with the warehouse's reporting currency."""
    currency = reporting_currency(con)
    lines = [RadarLine(*row) for row in con.execute(RADAR_SQL).fetchall()]
    unscored = not_scored(con)
    return [
        dataclasses.replace(
            line,
            label=shown_label(line.kpi_name, line.label),
            unit=unit_shown(line.unit, currency),
            unscored=line.unscored or unscored.get(line.kpi_name),
        )
        for line in lines + unavailable_predictions(con)
    ]


def not_scored(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Why the monitor's latest evaluation could not score each KPI it could not (too little
    history, no data), by KPI: "not scored: 120 days of history; 189 needed."."""
    if not table_columns(con, "monitoring", "kpi_status"):
        return {}
    return dict(
        con.execute(
            "select kpi_name, 'not scored: ' || detail from monitoring.kpi_status "
            "where evaluated_on = (select max(evaluated_on) from monitoring.kpi_status) "
            "and status in ('insufficient_history', 'no_data')"
        ).fetchall()
    )


def reporting_currency(con: duckdb.DuckDBPyConnection) -> str:
    """The currency of every amount of money in the warehouse, as its build recorded it.

    The marts are converted into the reporting currency of the build, and the build writes
    it to reference.run_settings: readers take it from there rather than assume one.
    """
    return _run_setting(con, "reporting_currency") or DEFAULT_CURRENCY


def reporting_timezone(con: duckdb.DuckDBPyConnection) -> str:
    """The time zone the warehouse's days are counted in, as its build recorded it."""
    return _run_setting(con, "reporting_timezone") or "UTC"


def _run_setting(con: duckdb.DuckDBPyConnection, column: str) -> str | None:
    """A setting of the build from reference.run_settings; None where the warehouse has none
    (built before it recorded the setting, or by hand)."""
    if column not in table_columns(con, "reference", "run_settings"):
        return None
    ((value,),) = con.execute(f"select any_value({column}) from reference.run_settings").fetchall()
    return value


def data_notes(con: duckdb.DuckDBPyConnection, as_of: date) -> list[str]:
    """What a reader of the radar must know about the data behind it.

    The last order when it is over a day older than the as-of day (the marts run to the as-of
    day all the same, so the values are that day's, not the last order day's), and the rows
    still held in each quarantine table (of every database ``con`` has attached), which no mart
    counts; not in dlt's staging copies (``<dataset>_staging``), which hold the last load's
    rows of a merged table again.
    """
    notes = []
    ((last_order,),) = con.execute("select max(order_date) from marts.fct_orders").fetchall()
    # A day without orders yet (a run early in the morning) is not worth a note.
    if last_order is not None and (days := (as_of - last_order).days) > 1:
        notes.append(f"Latest order on {last_order}, {days} days before {as_of}.")
    notes += _waiting_for_their_order(con)
    quarantines = con.execute(
        "select table_catalog, table_schema, table_name from information_schema.tables "
        "where starts_with(table_schema, 'raw_') and not ends_with(table_schema, '_staging') "
        "and ends_with(table_name, '_quarantine') order by table_schema, table_name"
    ).fetchall()
    for catalog, schema, table in quarantines:
        ((rows,),) = con.execute(_held_rows_sql(con, catalog, schema, table)).fetchall()
        if rows:
            held = f"{rows:,} row{'s' if rows > 1 else ''} held in {schema}.{table}"
            notes.append(f"{held}, with the reason of each.")
    return notes


def _waiting_for_their_order(con: duckdb.DuckDBPyConnection) -> list[str]:
    """A note for the order lines and the refunds of orders the ERP has not given (held in
    quarantine, or not written yet): they count in no mart until their order loads."""
    notes = []
    for table, what in (("stg_erp__order_lines", "order line"), ("stg_erp__refunds", "refund")):
        if not table_columns(con, "staging", table):
            continue
        ((rows, orders, example),) = con.execute(
            f"select count(*), count(distinct order_id), min(order_id) from staging.{table} as "
            "waiting where not exists (select 1 from staging.stg_erp__orders as orders "
            "where orders.order_id = waiting.order_id)"
        ).fetchall()
        if rows:
            which = f"order {example}" if orders == 1 else f"{orders:,} orders, {example} first"
            notes.append(
                f"{rows:,} {what}{'s wait' if rows > 1 else ' waits'} for "
                f"{'an order' if orders == 1 else 'orders'} the ERP has not given ({which}: held "
                "in quarantine, or not written yet), counted in no mart until it loads."
            )
    return notes


def _held_rows_sql(con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str) -> str:
    """The count of the rows of a quarantine table still held. A record read from a database
    (a quarantine row with its ``row_key``: ids and cursor) is no longer held once raw has a
    version of it as recent (its cursor as late, or for a NULL cursor a later load): fixed in
    the source, or an extra copy of a row that loaded. A line of a file is held for good."""
    quarantine = f'"{catalog}"."{schema}"."{table}"'
    columns, base = table_columns(con, schema, table, catalog), table.removesuffix("_quarantine")
    bases = table_columns(con, schema, base, catalog)
    cursors = columns - {
        "quarantine_key",
        "row_key",
        "reason",
        "raw_row",
        "read_at",
        "_dlt_load_id",
    }
    if "row_key" not in columns or not bases or len(cursors) != 1:
        return f"select count(*) from {quarantine}"
    (cursor,) = cursors
    keys = con.execute(
        f"select distinct unnest(json_keys(row_key)) from {quarantine} where row_key is not null"
    ).fetchall()
    ids = [key for (key,) in keys if key != cursor and key in bases]
    same_record = " and ".join(
        f'cast(loaded."{key}" as varchar) = json_extract_string(held.row_key, \'$."{key}"\')'
        for key in ids
    )
    if not same_record:
        return f"select count(*) from {quarantine}"
    return f"""
        select count(*) from {quarantine} as held
        where not exists (
            select 1 from "{catalog}"."{schema}"."{base}" as loaded
            where {same_record}
            and (
                loaded."{cursor}" >= held."{cursor}"
                or (
                    held."{cursor}" is null
                    and cast(loaded._dlt_load_id as double) > cast(held._dlt_load_id as double)
                )
            )
        )
    """


def table_columns(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, catalog: str | None = None
) -> set[str]:
    """The column names of ``schema.table`` (in ``catalog``, or whichever holds it)."""
    query = (
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? and table_catalog = coalesce(?, table_catalog)"
    )
    return {name for (name,) in con.execute(query, [schema, table, catalog]).fetchall()}


def unavailable_predictions(con: duckdb.DuckDBPyConnection) -> list[RadarLine]:
    """A line saying predicted CLV is unavailable and why, when the fit failed; else none.

    Predicted CLV is not a daily KPI, so the radar only mentions it when it is missing: the
    facts above still stand, but nobody should look for the predictions and find blanks.
    """
    return [
        RadarLine(
            kpi_name="predicted_clv_12m",
            label="Predicted CLV (12 months)",
            unit=MONEY,
            as_of=None,
            value=None,
            value_before=None,
            alert=f"unavailable: {reason}",
        )
        for (reason,) in con.execute(FAILED_CLV_FIT_SQL).fetchall()
    ]


def render_radar(
    lines: Iterable[RadarLine],
    alerts: Iterable[Mapping[str, Any]],
    as_of: date | None = None,
    notes: Iterable[str] = (),
) -> str:
    """The radar of ``as_of`` (default: the latest KPI day); a KPI whose latest value is older,
    such as a monthly survey, says from which day it is."""
    lines = list(lines)
    as_of = as_of or max((line.as_of for line in lines if line.as_of), default=None)
    out = [f"KPI radar as of {as_of or 'no data'} (change over {CHANGE_DAYS} days)", ""]
    width = max((len(line.label) for line in lines), default=10)
    for line in lines:
        change = line.change
        # A KPI without a value (windows reaching before the first order, a source off) is
        # not ok: it is not measured.
        status = line.alert or ("no value" if line.value is None else line.unscored or "ok")
        if line.as_of and as_of and line.as_of < as_of:
            status += f" (value of {line.as_of})"
        if line.members_in_alert:
            status += f"; in alert: {line.members_in_alert}"
        value = format_value(line.value, line.unit)
        out.append(f"  {line.label:<{width}}  {value:>16}  {change:>9}  {status}")
    notes = list(notes)
    if notes:
        out += ["", *notes]
    alerts = list(alerts)
    out += ["", f"Alerts raised ({len(alerts)}):" if alerts else "No new alert."]
    out += [f"  {headline(alert)}" for alert in alerts]
    return "\n".join(out)
