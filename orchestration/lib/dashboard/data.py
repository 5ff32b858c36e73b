"""What the CEO dashboard shows, read from the marts and the alert states.

:func:`load_dashboard_data` reads it with read-only queries into plain Python values (dates,
floats, strings); :func:`publish_page` replaces the page on disk as a whole.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from orchestration.lib.alert_state import OPEN_STATES
from orchestration.lib.explain import unit_shown
from orchestration.lib.radar import (
    CHANGE_DAYS,
    TOTALS_SQL,
    not_scored,
    reporting_currency,
    reporting_timezone,
    shown_label,
)

ACV = "average_customer_value"
# A year of history: the trend against the seasonality the CEO already knows.
TREND_DAYS = 365
MONTHS_SHOWN = 12
COHORTS_SHOWN = 12
# What needs reading first: an alert that got worse, then a new one.
STATE_RANK = {"escalated": 0, "new": 1, "ongoing": 2, "suppressed": 3, "recovered": 4}
SEVERITY_RANK = {"critical": 0, "warning": 1}

Row = dict[str, Any]


# --------------------------------------------------------------------------------------------
# Reading the warehouse
# --------------------------------------------------------------------------------------------


def load_dashboard_data(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> Row:
    """Everything the page shows, as plain Python values (dates, floats, strings)."""
    as_of = _scalar(con, "select max(kpi_date) from marts.fct_kpi_daily where dimension = 'total'")
    start = as_of - timedelta(days=TREND_DAYS + CHANGE_DAYS) if as_of else date.min
    alerts = _latest_alerts(con)
    currency = reporting_currency(con)
    return {
        "generated_at": now or datetime.now(UTC),
        # the page's times read in the zone the days are counted in
        "timezone": reporting_timezone(con),
        "as_of": as_of,
        # every amount of money on the page is in it
        "currency": currency,
        "kpis": _kpis(con, start, alerts, currency),
        "alerts": alerts,
        "alerts_evaluated_on": alerts[0]["evaluated_on"] if alerts else None,
        "customer_value": _customer_value(con),
        "bridge": list(
            reversed(
                _rows(
                    con,
                    """
                    select period_start, period_end, is_complete_period, starting_revenue,
                        new_revenue, reactivated_revenue, expansion_revenue,
                        contraction_revenue, lost_revenue, ending_revenue
                    from marts.fct_revenue_bridge
                    where period_grain = 'month' and dimension = 'total'
                    order by period_start desc
                    limit ?
                    """,
                    [MONTHS_SHOWN],
                )
            )
        ),
        "customer_flow": list(
            reversed(
                _rows(
                    con,
                    """
                    select month_start, is_complete_month, active_at_start, new_customers,
                        reactivated_customers, lapsed_customers
                    from marts.fct_retention_monthly
                    where dimension = 'total'
                    order by month_start desc
                    limit ?
                    """,
                    [MONTHS_SHOWN],
                )
            )
        ),
        "cohorts": _cohorts(con),
        "feedback": _rows(
            con,
            """
            select feedback_date, nps_90d, nps_responses_90d, csat_30d, csat_ratings_30d,
                review_rating_30d, review_count_30d
            from marts.fct_feedback_daily
            where dimension = 'total' and feedback_date >= ?
            order by feedback_date
            """,
            [start],
        ),
        "prospects": _rows(
            con,
            """
            select prospect_date, leads_created_30d, lead_conversion_rate_30d,
                median_days_to_first_order_90d
            from marts.fct_prospects_daily
            where dimension = 'total' and prospect_date >= ?
            order by prospect_date
            """,
            [start],
        ),
        "lead_channels": _rows(
            con,
            """
            select dimension_value as channel, leads_created_30d
            from marts.fct_prospects_daily
            where dimension = 'channel'
              and prospect_date = (select max(prospect_date) from marts.fct_prospects_daily)
            order by leads_created_30d desc, channel
            """,
        ),
        "web_channels": _rows(
            con,
            """
            select dimension_value as channel, visitors_30d, visitor_to_lead_rate_30d
            from marts.fct_web_channels_daily
            where dimension = 'channel'
              and activity_date = (select max(activity_date) from marts.fct_web_channels_daily)
            order by visitors_30d desc, channel
            """,
        ),
        "pulse": list(
            reversed(
                _rows(
                    con,
                    """
                    select survey_month, invited, responses, response_rate, enps,
                        is_complete_month
                    from marts.fct_employee_pulse_monthly
                    where department = 'all'
                    order by survey_month desc
                    limit ?
                    """,
                    [MONTHS_SHOWN],
                )
            )
        ),
        "customers": _customers(con),
        "month_to_date": _month_to_date(con, as_of),
    }


def _kpis(
    con: duckdb.DuckDBPyConnection, start: date, alerts: list[Row], currency: str
) -> list[Row]:
    """Each enabled KPI of the catalogue, in the catalogue's order, with its year of history;
    a money KPI's unit is ``currency``."""
    series: dict[str, dict[date, float]] = defaultdict(dict)
    for name, day, value in con.execute(
        f"select kpi_name, kpi_date, value from ({TOTALS_SQL}) "
        "where value is not null and kpi_date >= ?",
        [start],
    ).fetchall():
        series[name][day] = value
    kpis = []
    unscored = not_scored(con)
    # The catalogue's own order groups KPIs by area; a plain scan keeps it.
    for row in _rows(
        con,
        "select kpi_name, label, unit, direction, alert_level <> 'none' as watched, description "
        "from reference.kpi_catalogue where enabled",
    ):
        days = series.get(row["kpi_name"], {})
        day = max(days, default=None)
        value = days[day] if day else None
        total_alerts = [
            a for a in alerts if a["kpi_name"] == row["kpi_name"] and a["dimension"] == "total"
        ]
        open_alerts = [a for a in total_alerts if a["state"] in OPEN_STATES]
        # A decline says more than a flattening of the same KPI.
        alert = min(
            open_alerts,
            key=lambda a: (a["kind"] != "decline", STATE_RANK[a["state"]]),
            default=None,
        )
        if value is None:
            status = "no data"
        elif open_alerts:
            status = alert["kind"]
        elif any(a["state"] == "suppressed" for a in total_alerts):
            status = "suppressed"
        elif not row["watched"]:
            status = "not watched"
        elif row["kpi_name"] in unscored:
            status = "not scored"
        else:
            status = "ok"
        kpis.append(
            {
                **row,
                "label": shown_label(row["kpi_name"], row["label"]),
                "unit": unit_shown(row["unit"], currency),
                "day": day,
                "value": value,
                "value_before": days.get(day - timedelta(days=CHANGE_DAYS)) if day else None,
                "value_year_before": days.get(day - timedelta(days=TREND_DAYS)) if day else None,
                "trend": [
                    (d, days[d]) for d in sorted(days) if day and (day - d).days < TREND_DAYS
                ],
                "status": status,
                # why a watched KPI is not scored, for the tile's tooltip
                "status_detail": unscored.get(row["kpi_name"]),
                "alert": alert,
                # the segments (or other members) in alert while the total may not be
                "member_alerts": sorted(
                    {
                        a["dimension_value"]
                        for a in alerts
                        if a["kpi_name"] == row["kpi_name"]
                        and a["dimension"] != "total"
                        and a["state"] in OPEN_STATES
                    }
                ),
            }
        )
    return kpis


def _latest_alerts(con: duckdb.DuckDBPyConnection) -> list[Row]:
    """The alert states of the latest evaluation, the ones to read first at the top."""
    if not _scalar(
        con,
        "select count(*) from information_schema.tables "
        "where table_schema = 'monitoring' and table_name = 'kpi_alerts'",
    ):
        return []
    alerts = _rows(
        con,
        """
        select alert_id, evaluated_on, kpi_name, label, unit, dimension, dimension_value, kind,
            state, severity, since, baseline_value, current_value, relative_change, reason
        from monitoring.kpi_alerts
        where evaluated_on = (select max(evaluated_on) from monitoring.kpi_alerts)
        """,
    )
    return sorted(
        alerts,
        key=lambda a: (
            STATE_RANK.get(a["state"], 9),
            a["dimension"] != "total",
            SEVERITY_RANK.get(a["severity"], 9),
            a["label"],
            a["dimension_value"],
            a["kind"],
        ),
    )


def _customer_value(con: duckdb.DuckDBPyConnection) -> Row:
    """ACV with its factors for the total and each member, on the latest day and 28 days before."""
    day = _scalar(con, "select max(value_date) from marts.fct_customer_value_daily")
    if day is None:
        return {"day": None, "total": None, "members": []}
    rows = _rows(
        con,
        """
        select value_date, dimension, dimension_value, active_customers, orders_in_window,
            net_revenue_in_window, average_customer_value, orders_per_active_customer,
            average_order_value
        from marts.fct_customer_value_daily
        where value_date in (?, ?)
        order by dimension <> 'total', dimension <> 'segment', dimension, dimension_value
        """,
        [day, day - timedelta(days=CHANGE_DAYS)],
    )
    before = {(r["dimension"], r["dimension_value"]): r for r in rows if r["value_date"] != day}
    latest = []
    for r in rows:
        if r["value_date"] == day:
            previous = before.get((r["dimension"], r["dimension_value"]), {})
            latest.append({**r, "before": previous})
    total = next((r for r in latest if r["dimension"] == "total"), None)
    return {"day": day, "total": total, "members": [r for r in latest if r is not total]}


def _cohorts(con: duckdb.DuckDBPyConnection) -> list[Row]:
    """The latest monthly cohorts, each with its retention in its first months."""
    rows = _rows(
        con,
        """
        with recent as (
            select distinct cohort_month
            from marts.fct_cohort_retention
            order by cohort_month desc
            limit ?
        )
        select cohort_month, months_since_first, cohort_customers, customers_retained,
            customer_retention_rate, is_complete_month
        from marts.fct_cohort_retention
        where cohort_month in (select cohort_month from recent) and months_since_first <= ?
        order by cohort_month, months_since_first
        """,
        [COHORTS_SHOWN, MONTHS_SHOWN],
    )
    cohorts: dict[date, Row] = {}
    for r in rows:
        cohort = cohorts.setdefault(
            r["cohort_month"],
            {"cohort_month": r["cohort_month"], "customers": r["cohort_customers"], "cells": []},
        )
        cohort["cells"].append(
            {
                "month": r["months_since_first"],
                "rate": r["customer_retention_rate"],
                "retained": r["customers_retained"],
                "complete": r["is_complete_month"],
            }
        )
    return list(cohorts.values())


def _customers(con: duckdb.DuckDBPyConnection) -> Row:
    totals = _rows(
        con,
        """
        select max(observation_end) as day,
            count(*) filter (where orders > 0) as customers,
            count(*) filter (where is_active) as active,
            sum(predicted_clv_12m) as predicted_clv_12m,
            avg(p_alive) filter (where is_active) as p_alive_active,
            any_value(clv_fit_error) filter (where clv_fit_status = 'failed')
                as predictions_unavailable_because
        from marts.dim_customers
        """,
    )[0]
    segments = _rows(
        con,
        """
        select rfm_segment, count(*) as customers, sum(predicted_clv_12m) as predicted_clv_12m,
            avg(p_alive) as p_alive
        from marts.dim_customers
        where orders > 0
        group by rfm_segment
        order by customers desc, rfm_segment
        """,
    )
    return {**totals, "segments": segments}


def _month_to_date(con: duckdb.DuckDBPyConnection, as_of: date | None) -> list[Row]:
    """The first days of each recent month, as many as the latest month has had so far: what a
    month that has not ended is compared with. Revenue and new customers from the orders, as
    the bridge and the monthly retention count them."""
    if as_of is None:
        return []
    # the first day of the month MONTHS_SHOWN months before the latest
    month = as_of.year * 12 + as_of.month - 1 - MONTHS_SHOWN
    since = date(month // 12, month % 12 + 1, 1)
    return _rows(
        con,
        """
        select date_trunc('month', order_date)::date as month_start,
            coalesce(sum(net_revenue), 0) as revenue,
            count(*) filter (where is_first_order) as new_customers
        from marts.fct_orders
        where not is_cancelled and order_date between ? and ? and day(order_date) <= ?
        group by month_start
        order by month_start
        """,
        [since, as_of, as_of.day],
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    cursor = con.execute(sql, list(params))
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, map(_plain, row), strict=True)) for row in cursor.fetchall()]


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    return _plain(con.execute(sql).fetchone()[0])


def _plain(value: Any) -> Any:
    # Money columns are decimals; the page draws and compares floats.
    return float(value) if isinstance(value, Decimal) else value


def publish_page(page: str, path: Path) -> int:
    """Writes ``page`` to ``path`` through a temporary file renamed over it; returns its size.

    A browser refreshing the page meanwhile gets the previous page or the new one, never half.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    data = page.encode("utf-8")
    descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp creates the file private to its owner; a web server must read the page.
        os.chmod(draft, 0o644)
        os.replace(draft, path)
    except BaseException:
        Path(draft).unlink(missing_ok=True)
        raise
    return len(data)
