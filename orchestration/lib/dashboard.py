"""The CEO dashboard: one web page generated from the marts and the alert states.

:func:`load_dashboard_data` reads what the page shows with read-only queries;
:func:`render_dashboard` turns it into a single HTML file whose styles, script and charts (SVG
drawn here) are inline, so the page opens from a file share or a wall screen's browser with no
network, and its content security policy forbids it to load anything else. Every number drawn
also sits in the markup as a ``data-value`` attribute, the same number a test or a screen
reader can read.
"""

from __future__ import annotations

import html
import math
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from orchestration.lib.alert_state import OPEN_STATES
from orchestration.lib.explain import MINUS, MONEY, MONTHS, POINT_UNITS, format_value, unit_shown
from orchestration.lib.radar import CHANGE_DAYS, DEFAULT_CURRENCY, reporting_currency

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
                    select survey_month, invited, responses, response_rate, enps
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
    }


def _kpis(
    con: duckdb.DuckDBPyConnection, start: date, alerts: list[Row], currency: str
) -> list[Row]:
    """Each enabled KPI of the catalogue, in the catalogue's order, with its year of history;
    a money KPI's unit is ``currency``."""
    series: dict[str, dict[date, float]] = defaultdict(dict)
    for name, day, value in con.execute(
        "select kpi_name, kpi_date, value from marts.fct_kpi_daily "
        "where dimension = 'total' and value is not null and kpi_date >= ?",
        [start],
    ).fetchall():
        series[name][day] = value
    kpis = []
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
        else:
            status = "ok"
        kpis.append(
            {
                **row,
                "unit": unit_shown(row["unit"], currency),
                "day": day,
                "value": value,
                "value_before": days.get(day - timedelta(days=CHANGE_DAYS)) if day else None,
                "value_year_before": days.get(day - timedelta(days=TREND_DAYS)) if day else None,
                "trend": [
                    (d, days[d]) for d in sorted(days) if day and (day - d).days < TREND_DAYS
                ],
                "status": status,
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


# --------------------------------------------------------------------------------------------
# Rendering the page
# --------------------------------------------------------------------------------------------


def render_dashboard(data: Mapping[str, Any], refresh_seconds: int = 300) -> str:
    """The whole page: self-contained HTML that reloads itself every ``refresh_seconds``."""
    kpis = list(data.get("kpis") or [])
    acv = next((k for k in kpis if k["kpi_name"] == ACV), None)
    alerts = list(data.get("alerts") or [])
    generated: datetime = data.get("generated_at") or datetime.now(UTC)
    as_of = data.get("as_of")
    # load_dashboard_data reads it from the warehouse; data made by hand may leave it out
    currency = data.get("currency") or DEFAULT_CURRENCY
    body = "\n".join(
        [
            _header(as_of, currency, generated, sum(a["state"] in OPEN_STATES for a in alerts)),
            '<main class="grid">',
            _hero(acv, data.get("customer_value") or {}, alerts, currency),
            _alerts_panel(alerts, data.get("alerts_evaluated_on")),
            _tiles([k for k in kpis if k["kpi_name"] != ACV]),
            _section_title("Revenue and customers", "money"),
            _bridge(data.get("bridge") or [], currency),
            _customer_flow(data.get("customer_flow") or []),
            _cohort_table(data.get("cohorts") or []),
            _customer_base(data.get("customers") or {}, currency),
            _section_title("Voice of the customer", "feedback"),
            _feedback(data.get("feedback") or []),
            _section_title("Prospects", "prospects"),
            _prospects(
                data.get("prospects") or [],
                data.get("lead_channels") or [],
                data.get("web_channels") or [],
            ),
            _section_title("Stakeholders", "stakeholders"),
            _stakeholders(data.get("pulse") or []),
            "</main>",
            FOOTER,
        ]
    )
    title = f"Customer value radar, {_day(as_of) if as_of else 'no data'}"
    root = _attrs({"lang": "en", "data_generated_at": generated.isoformat(), "data_as_of": as_of})
    return f"""<!DOCTYPE html>
<html{root}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{int(refresh_seconds)}">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>{_e(title)}</title>
<style>{CSS}</style>
</head>
<body>
{body}
<script>{SCRIPT}</script>
</body>
</html>
"""


# Nothing but what the page holds: no font, script, image or request from elsewhere.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

FOOTER = """<footer class="bottom">Each KPI is defined in the KPI catalogue
  (<code>seeds/kpi_catalogue.csv</code>) and in the documentation of the mart it comes from;
  the alerts are the states of <code>monitoring.kpi_alerts</code>.</footer>"""


def _header(as_of: date | None, currency: str, generated: datetime, open_count: int) -> str:
    stamp = generated.astimezone(UTC)
    age = '<span id="page-age" class="age" data-testid="page-age"></span>'
    facts = (
        ("Data as of", "as-of", as_of, _e(_day(as_of) if as_of else "no data")),
        ("Amounts in", "currency", currency, _e(currency)),
        ("Open alerts", "open-alerts", open_count, str(open_count)),
        (
            "Generated",
            "generated-at",
            stamp.isoformat(),
            f"{_e(_day(stamp.date()))}, {stamp:%H:%M} UTC {age}",
        ),
    )
    meta = "".join(
        _el("div", _el("dt", label) + _el("dd", text, data_testid=testid, data_value=value))
        for label, testid, value, text in facts
    )
    return f"""<header class="top" data-testid="header">
  <div class="brand"><h1>Customer value radar</h1>
    <span class="subtitle">What a customer is worth, and why it moves</span></div>
  <dl class="meta">{meta}</dl>
  <p class="stale-banner" role="alert">This page was generated more than a day ago: the daily
    run may have failed.</p>
</header>"""


def _hero(acv: Row | None, value: Row, alerts: list[Row], currency: str) -> str:
    if acv is None or acv["value"] is None:
        return _el(
            "section",
            "<h2>Average customer value</h2>" + _empty(),
            class_="panel hero span-7",
            data_testid="acv",
            id="acv",
            data_value="",
        )
    status, alert = acv["status"], acv["alert"]
    change, change_text = _change(acv["value"], acv["value_before"], acv["unit"])
    year, year_text = _change(acv["value"], acv["value_year_before"], acv["unit"])
    if alert:
        reason = alert["reason"]
    elif status == "ok":
        reason = "Within its normal range: neither a decline nor a flattening."
    else:
        reason = ""
    head = _el(
        "div",
        _el("h2", "Average customer value", title=acv["description"])
        + _badge(f"{status} · {alert['state']}" if alert else status, status, "acv-status"),
        class_="hero-head",
    )
    numbers = _el(
        "div",
        _el(
            "div",
            _value(acv["value"], acv["unit"]),
            class_="hero-value",
            data_testid="acv-value",
            data_value=_num(acv["value"]),
        )
        + _el(
            "div",
            _change_el(
                change, change_text, acv["direction"], f"in {CHANGE_DAYS} days", "acv-change"
            )
            + _change_el(year, year_text, acv["direction"], "in 12 months", "acv-change-12m"),
            class_="hero-changes",
        ),
        class_="hero-numbers",
    )
    trend = _sparkline(
        acv["trend"], acv["unit"], "acv-sparkline", width=520, height=120, tone=status
    )
    return _el(
        "section",
        head
        + _el("div", numbers + trend, class_="hero-body")
        + _el("p", _e(reason), class_="why", data_testid="acv-reason")
        + _factors((value or {}).get("total"), currency)
        + _members_table((value or {}).get("members") or [], alerts, currency),
        class_=f"panel hero span-7 status-{_slug(status)}",
        data_testid="acv",
        id="acv",
        data_kpi=ACV,
        data_value=_num(acv["value"]),
        data_day=acv["day"],
        data_status=status,
        data_change=_num(change),
    )


# The two factors of ACV (orders per active customer times average order value), then the
# customers they are averaged over.
FACTORS = (
    ("Orders per active customer", "acv-frequency", "orders_per_active_customer", "ratio", "×"),
    ("Average order value", "acv-basket", "average_order_value", MONEY, "·"),
    ("Active customers", "acv-active-customers", "active_customers", "count", ""),
)


def _factors(total: Row | None, currency: str) -> str:
    if not total:
        return ""
    before = total.get("before") or {}
    items = []
    for label, testid, column, unit, operator in FACTORS:
        unit = unit_shown(unit, currency)
        change, text = _change(total[column], before.get(column), unit)
        items.append(
            _el(
                "div",
                _el("span", label, class_="factor-label")
                + _el("span", _e(format_value(total[column], unit)), class_="factor-value")
                + (_change_el(change, text, "higher_is_better") if text else ""),
                class_="factor",
                data_testid=testid,
                data_value=_num(total[column]),
            )
            + (_el("div", operator, class_="op") if operator else "")
        )
    return _el("div", "".join(items), class_="factors", data_testid="acv-factors")


def _members_table(members: list[Row], alerts: list[Row], currency: str) -> str:
    if not members:
        return ""
    in_alert = {
        (a["dimension"], a["dimension_value"])
        for a in alerts
        if a["kpi_name"] == ACV and a["state"] in OPEN_STATES
    }
    rows = []
    for m in members:
        value = m["average_customer_value"]
        before = (m.get("before") or {}).get("average_customer_value")
        change, text = _change(value, before, currency)
        flagged = (m["dimension"], m["dimension_value"]) in in_alert
        cells = (
            _el("th", f"{_e(m['dimension_value'])} <small>{_e(m['dimension'])}</small>")
            + _el("td", _e(format_value(value, currency)))
            + _el("td", _change_el(change, text, "higher_is_better"))
            + _el("td", _e(format_value(m["active_customers"], "count")))
            + _el("td", _badge("alert", "decline") if flagged else "")
        )
        rows.append(
            _el(
                "tr",
                cells,
                class_="flagged" if flagged else None,
                data_dimension=m["dimension"],
                data_member=m["dimension_value"],
                data_value=_num(value),
            )
        )
    head = "".join(
        _el("th", text) for text in ("ACV by", "value", f"{CHANGE_DAYS} days", "customers", "")
    )
    table = _el(
        "table",
        _el("thead", _el("tr", head)) + _el("tbody", "".join(rows)),
        class_="members",
        data_testid="acv-members",
    )
    return _el("div", table, class_="table-scroll")


def _alerts_panel(alerts: list[Row], evaluated_on: date | None) -> str:
    open_count = sum(a["state"] in OPEN_STATES for a in alerts)
    items = []
    for a in alerts:
        where = "" if a["dimension"] == "total" else f"{a['dimension_value']} {a['dimension']}"
        head = (
            _badge(a["state"], f"state-{_slug(a['state'])}", kind="state")
            + _badge(a["kind"], a["kind"])
            + (
                _el("span", _e(a["severity"]), class_=f"severity sev-{_slug(a['severity'])}")
                if a.get("severity")
                else ""
            )
            + _el("strong", _e(a["label"]))
            + (_el("span", _e(where), class_="where") if where else "")
            + (
                _el("span", f"since {_e(_day(a['since']))}", class_="since")
                if a.get("since")
                else ""
            )
        )
        items.append(
            _el(
                "li",
                _el("div", head, class_="alert-head") + _el("p", _e(a["reason"]), class_="reason"),
                class_=f"alert state-{_slug(a['state'])} kind-{_slug(a['kind'])}",
                data_testid="alert",
                data_alert_id=a["alert_id"],
                data_kpi=a["kpi_name"],
                data_state=a["state"],
                data_kind=a["kind"],
                data_dimension=a["dimension"],
                data_member=a["dimension_value"],
            )
        )
    when = f"Evaluated on {_day(evaluated_on)}." if evaluated_on else "Not evaluated yet."
    listing = (
        _el("ol", "".join(items), class_="alert-list")
        if items
        else _el("p", "No alert: every KPI is within its range.", class_="empty")
    )
    return _el(
        "section",
        _el("h2", f"Alerts {_el('span', f'{open_count} open', class_='count')}")
        + _el(
            "p",
            f"{_e(when)} Escalated and new first; each says since when, by how much and why.",
            class_="note",
        )
        + listing,
        class_="panel alerts span-5",
        data_testid="alerts",
        id="alerts",
        data_count=open_count,
        data_evaluated_on=evaluated_on,
    )


def _tiles(kpis: list[Row]) -> str:
    tiles = []
    for k in kpis:
        change, text = _change(k["value"], k["value_before"], k["unit"])
        status = k["status"]
        flagged = k.get("member_alerts") or []
        members = (
            _el("span", _e(f"in alert: {', '.join(flagged)}"), class_="members-alert")
            if flagged
            else ""
        )
        foot = _change_el(change, text, k["direction"]) + _badge(status, status)
        tiles.append(
            _el(
                "article",
                _el("h3", _e(k["label"]))
                + _el("div", _value(k["value"], k["unit"]), class_="tile-value")
                + _el("div", foot, class_="tile-foot")
                + members
                + _sparkline(
                    _weekly(k["trend"]),
                    k["unit"],
                    f"spark-{k['kpi_name']}",
                    width=240,
                    height=48,
                    tone=status,
                ),
                class_=f"tile status-{_slug(status)}",
                data_testid=f"kpi-{k['kpi_name']}",
                id=f"kpi-{k['kpi_name']}",
                data_kpi=k["kpi_name"],
                data_unit=k["unit"],
                data_value=_num(k["value"]),
                data_day=k["day"],
                data_change=_num(change),
                data_status=status,
                title=k["description"],
            )
        )
    title = _el(
        "h2",
        f"KPI radar <small>latest value, change over {CHANGE_DAYS} days, "
        "trend over 12 months</small>",
        class_="section-title",
    )
    return _el(
        "section",
        title + _el("div", "".join(tiles) or _empty(), class_="tiles"),
        class_="span-12 radar",
        data_testid="kpi-tiles",
        id="kpis",
    )


def _section_title(title: str, anchor: str) -> str:
    return _el("h2", _e(title), class_="section-title span-12", id=anchor)


BRIDGE_PARTS = (
    ("new_revenue", "New customers", 1, "#2f6fdf"),
    ("reactivated_revenue", "Reactivated", 1, "#59b4e8"),
    ("expansion_revenue", "Expansion", 1, "#2e9e5b"),
    ("contraction_revenue", "Contraction (buy less)", -1, "#e8913a"),
    ("lost_revenue", "Lost (left)", -1, "#d64545"),
)
FLOW_PARTS = (
    ("new_customers", "New", 1, "#2f6fdf"),
    ("reactivated_customers", "Reactivated", 1, "#59b4e8"),
    ("lapsed_customers", "Lapsed", -1, "#d64545"),
)


def _bridge(rows: list[Row], currency: str) -> str:
    periods = [
        {"period": r["period_start"], "complete": r["is_complete_period"], "values": r}
        for r in rows
    ]
    headline = ""
    if rows:
        last = rows[-1]
        headline = _el(
            "span",
            _e(f"{_month(last['period_start'])}: {format_value(last['ending_revenue'], currency)}"),
            class_="chart-value",
            data_testid="chart-revenue-bridge-latest",
            data_value=_num(last["ending_revenue"]),
        )
    return _card(
        "chart-revenue-bridge",
        "Revenue bridge, month by month",
        "How the previous month's revenue became this month's: won above the line (new, "
        "reactivated, expansion), lost below (contraction: existing customers buy less; "
        "lost: customers left).",
        _diverging_bars("bridge", periods, BRIDGE_PARTS, currency, width=_width(7))
        + _legend(BRIDGE_PARTS),
        headline,
        span=7,
    )


def _customer_flow(rows: list[Row]) -> str:
    periods = [
        {"period": r["month_start"], "complete": r["is_complete_month"], "values": r} for r in rows
    ]
    return _card(
        "chart-customer-flow",
        "Customers won and lost",
        "New and reactivated customers each month, against those who lapsed (no order for "
        "the lapse delay).",
        _diverging_bars("flow", periods, FLOW_PARTS, "customers", width=_width(5), height=280)
        + _legend(FLOW_PARTS),
        span=5,
    )


def _cohort_table(cohorts: list[Row]) -> str:
    note = (
        "Customers of each month's cohort (their first order) who bought again k months "
        "later, in %; dashed: month to date."
    )
    if not cohorts:
        return _card("chart-cohorts", "Cohort retention", note, _empty(), span=7)
    months = max(c["month"] for cohort in cohorts for c in cohort["cells"])
    # Month 0 retains everyone by construction: the colours scale on the later months.
    later = [c["rate"] for ch in cohorts for c in ch["cells"] if c["month"] and c["rate"]]
    top = max(later, default=1.0) or 1.0
    rows = []
    for cohort in cohorts:
        cells = {c["month"]: c for c in cohort["cells"]}
        tds = []
        for m in range(months + 1):
            c = cells.get(m)
            if c is None or c["rate"] is None:
                tds.append('<td class="none"></td>')
                continue
            strength = 0.08 + 0.92 * min(1.0, c["rate"] / top) if m else 0.0
            tip = (
                f"{_month(cohort['cohort_month'])}, month {m}: {c['retained']} of "
                f"{cohort['customers']} customers bought"
                + ("" if c["complete"] else " (month to date)")
            )
            tds.append(
                _el(
                    "td",
                    str(round(c["rate"] * 100)),
                    class_=" ".join(
                        ["cell"]
                        + ([] if c["complete"] else ["partial"])
                        + (["dark"] if strength > 0.55 else [])
                    ),
                    style=f"--s:{strength:.3f}",
                    data_cohort=cohort["cohort_month"],
                    data_month=m,
                    data_value=_num(c["rate"]),
                    title=tip,
                )
            )
        rows.append(
            _el(
                "tr",
                _el("th", _e(_month(cohort["cohort_month"])))
                + _el("td", str(cohort["customers"]), class_="size")
                + "".join(tds),
                data_cohort=cohort["cohort_month"],
            )
        )
    head = "<th>cohort</th><th>size</th>" + "".join(f"<th>{m}</th>" for m in range(months + 1))
    table = _el(
        "table",
        _el("thead", _el("tr", head)) + _el("tbody", "".join(rows)),
        class_="cohorts",
    )
    return _card(
        "chart-cohorts",
        "Cohort retention",
        note,
        _el("div", table, class_="table-scroll"),
        span=7,
    )


def _customer_base(customers: Row, currency: str) -> str:
    segments = customers.get("segments") or []
    everyone = sum(s["customers"] for s in segments) or 1
    bars = _hbars(
        "rfm",
        [
            (
                (s["rfm_segment"] or "unscored").replace("_", " "),
                s["customers"],
                f"{s['customers']:,} · {round(100 * s['customers'] / everyone)} %",
            )
            for s in segments
        ],
    )
    numbers = ""
    # A failed CLV fit leaves the predictions empty: say so and why, never a blank or a 0.
    unavailable = customers.get("predictions_unavailable_because")
    predicted = ("predicted_clv_12m", "p_alive_active")
    if customers.get("customers"):
        facts = (
            ("active customers", "customers-active", "active", format_value, "count"),
            (
                "predicted revenue, next 12 months",
                "customers-predicted-clv",
                "predicted_clv_12m",
                _compact,
                currency,
            ),
            (
                "P(alive) of the active",
                "customers-p-alive",
                "p_alive_active",
                format_value,
                "share",
            ),
        )
        numbers = _el(
            "dl",
            "".join(
                _el(
                    "div",
                    _el("dt", label)
                    + _el(
                        "dd",
                        "unavailable"
                        if unavailable and column in predicted
                        else _e(fmt(customers[column], unit)),
                    ),
                    data_testid=testid,
                    data_value=_num(customers[column]),
                )
                for label, testid, column, fmt, unit in facts
            ),
            class_="numbers",
        )
        if unavailable:
            numbers += _el(
                "p",
                _e(f"Predictions unavailable: {unavailable}"),
                class_="note",
                data_testid="customers-predictions-unavailable",
            )
    return _card(
        "panel-customers",
        "Customer base by RFM segment",
        "Customers who ever ordered, by recency, frequency and monetary value of their orders.",
        numbers + bars,
        span=5,
    )


FEEDBACK_CHARTS = (
    ("chart-feedback-nps", "NPS (90 days)", "nps_90d", "points", (-100.0, 100.0)),
    ("chart-feedback-csat", "CSAT after support (30 days)", "csat_30d", "%", (0.0, 100.0)),
    ("chart-feedback-reviews", "Review rating (30 days)", "review_rating_30d", "score", (1.0, 5.0)),
)


def _feedback(rows: list[Row]) -> str:
    weekly = _weekly([(r["feedback_date"], r) for r in rows])
    latest = rows[-1] if rows else {}
    cards = []
    for testid, title, column, unit, bounds in FEEDBACK_CHARTS:
        points = [(d, r[column]) for d, r in weekly]
        extra = ""
        if column == "review_rating_30d" and latest:
            extra = f" · {latest['review_count_30d']} reviews"
        cards.append(
            _card(
                testid,
                title,
                "",
                _line_chart(points, unit, domain=_zoom(points, bounds), width=_width(4)),
                _latest(testid, latest.get(column), unit, extra),
                span=4,
            )
        )
    return "\n".join(cards)


def _prospects(rows: list[Row], lead_channels: list[Row], web_channels: list[Row]) -> str:
    weekly = _weekly([(r["prospect_date"], r) for r in rows])
    latest = rows[-1] if rows else {}
    # A conversion rate is final once its leads have had their 90 days: the series stops at
    # the latest final one.
    conversion = _weekly(
        [
            (r["prospect_date"], r["lead_conversion_rate_30d"])
            for r in rows
            if r["lead_conversion_rate_30d"] is not None
        ]
    )
    leads = _hbars(
        "leads",
        [
            (r["channel"], r["leads_created_30d"], f"{r['leads_created_30d']:,}")
            for r in lead_channels
        ],
    )
    visitors = _hbars(
        "visitors",
        [
            (
                r["channel"],
                r["visitors_30d"],
                f"{r['visitors_30d']:,} · {format_value(r['visitor_to_lead_rate_30d'], '%')}",
            )
            for r in web_channels
        ],
    )
    return "\n".join(
        [
            _card(
                "chart-prospects-leads",
                "Leads created (30 days)",
                "",
                _line_chart(
                    [(d, r["leads_created_30d"]) for d, r in weekly], "count", width=_width(3)
                ),
                _latest("chart-prospects-leads", latest.get("leads_created_30d")),
                span=3,
            ),
            _card(
                "chart-prospects-conversion",
                "Lead conversion rate",
                "Leads of 30 days who ordered within 90 days, known once the 90 days have "
                + (
                    f"passed: the latest are those to {_day(conversion[-1][0])}."
                    if conversion
                    else "passed."
                ),
                _line_chart(conversion, "%", width=_width(3)),
                _latest(
                    "chart-prospects-conversion", conversion[-1][1] if conversion else None, "%"
                ),
                span=3,
            ),
            _card(
                "chart-prospects-lag",
                "Marketing lag",
                "Median days from lead to first order, first orders of 90 days.",
                _line_chart(
                    [(d, r["median_days_to_first_order_90d"]) for d, r in weekly],
                    "days",
                    width=_width(3),
                ),
                _latest(
                    "chart-prospects-lag", latest.get("median_days_to_first_order_90d"), "days"
                ),
                span=3,
            ),
            _card(
                "chart-prospects-channels",
                "By channel (30 days)",
                "Leads created; website visitors and their visitor to lead rate.",
                _el("h4", "Leads") + leads + _el("h4", "Visitors") + visitors,
                span=3,
            ),
        ]
    )


def _stakeholders(rows: list[Row]) -> str:
    surveys = [r for r in rows if r["enps"] is not None]
    periods = [{"period": r["survey_month"], "complete": True, "values": r} for r in surveys]
    latest = rows[-1] if rows else {}
    return "\n".join(
        [
            _card(
                "chart-stakeholders-enps",
                "Employee NPS, monthly pulse",
                "% promoters − % detractors among the staff who answered.",
                _diverging_bars(
                    "enps", periods, (("enps", "eNPS", 1, "#6a5acd"),), "points", width=_width(6)
                ),
                _latest("chart-stakeholders-enps", latest.get("enps"), "points"),
                span=6,
            ),
            _card(
                "chart-stakeholders-response",
                "Pulse survey response rate",
                "Staff who answered among those invited.",
                _line_chart(
                    [(r["survey_month"], r["response_rate"]) for r in rows],
                    "share",
                    domain=(0.0, 1.0),
                    width=_width(6),
                    height=250,
                ),
                _latest("chart-stakeholders-response", latest.get("response_rate"), "share"),
                span=6,
            ),
        ]
    )


# --------------------------------------------------------------------------------------------
# Charts: inline SVG, scaled by their viewBox to the width of their card
# --------------------------------------------------------------------------------------------


def _width(span: int) -> int:
    """A chart's width in SVG units: its card's width in pixels on a 1600-pixel screen, so that
    axis labels of 12 units read at 12 pixels there and grow with a larger screen."""
    return 130 * span - 50


def _value(value: float | None, unit: str) -> str:
    """A KPI value with its unit set smaller: the number is what the eye looks for."""
    text = format_value(value, unit)
    number, space, suffix = text.rpartition(" ")
    if value is None or not space or suffix[:1].isdigit():
        return _e(text)
    return f'{_e(number)} <span class="unit">{_e(suffix)}</span>'


def _card(
    testid: str, title: str, note: str, content: str, headline: str = "", *, span: int = 6
) -> str:
    return _el(
        "section",
        _el("div", _el("h3", _e(title)) + headline, class_="chart-head")
        + (_el("p", _e(note), class_="note") if note else "")
        + content,
        class_=f"panel chart span-{span}",
        data_testid=testid,
        id=testid,
    )


def _latest(testid: str, value: float | None, unit: str = "count", extra: str = "") -> str:
    return _el(
        "span",
        _e(format_value(value, unit) + extra),
        class_="chart-value",
        data_testid=f"{testid}-latest",
        data_value=_num(value),
    )


def _sparkline(
    points: Sequence[tuple[date, float | None]],
    unit: str,
    testid: str,
    *,
    width: int,
    height: int,
    tone: str = "ok",
) -> str:
    values = [(d, v) for d, v in points if v is not None]
    if len(values) < 2:
        return _el("div", "no trend yet", class_="spark spark-empty", data_testid=testid)
    pad = 4
    lo, hi = min(v for _, v in values), max(v for _, v in values)
    x = _scale(values[0][0].toordinal(), values[-1][0].toordinal(), pad, width - pad)
    y = _scale(lo, hi, height - pad, pad) if hi > lo else (lambda _v: height / 2)
    line = " ".join(f"{x(d.toordinal()):.1f},{y(v):.1f}" for d, v in values)
    (d0, v0), (d1, v1) = values[0], values[-1]
    area = f"{x(d0.toordinal()):.1f},{height} {line} {x(d1.toordinal()):.1f},{height}"
    label = (
        f"From {format_value(v0, unit)} on {_day(d0)} to {format_value(v1, unit)} on {_day(d1)}; "
        f"low {format_value(lo, unit)}, high {format_value(hi, unit)}"
    )
    return _el(
        "svg",
        _el("title", _e(label))
        + _void("polygon", class_="spark-area", points=area)
        + _void("polyline", class_="spark-line", points=line)
        + _void(
            "circle",
            class_="spark-dot",
            cx=f"{x(d1.toordinal()):.1f}",
            cy=f"{y(v1):.1f}",
            r=f"{max(2.5, height / 24):.1f}",
        ),
        class_=f"spark tone-{_slug(tone)}",
        data_testid=testid,
        viewBox=f"0 0 {width} {height}",
        role="img",
        aria_label=label,
        data_points=len(values),
        data_first=_num(v0),
        data_last=_num(v1),
    )


def _line_chart(
    points: Sequence[tuple[date, float | None]],
    unit: str,
    *,
    domain: tuple[float, float] | None = None,
    width: int = 520,
    height: int = 220,
) -> str:
    values = [(d, v) for d, v in points if v is not None]
    if len(values) < 2:
        return _empty()
    left, right, top, bottom = 52, 10, 10, 24
    lo, hi = domain or (min(v for _, v in values), max(v for _, v in values))
    ticks = _nice_ticks(lo, hi)
    first, last = points[0][0], points[-1][0]
    x = _scale(first.toordinal(), last.toordinal(), left, width - right)
    y = _scale(ticks[0], ticks[-1], height - bottom, top)
    parts = [_axis_line(t, y, left, width - right, unit) for t in ticks]
    months = _month_starts(first, last)
    step = max(1, math.ceil(len(months) / 6))
    parts += [
        _el(
            "text",
            _e(_month(m, short=True)),
            class_="axis",
            x=f"{x(m.toordinal()):.1f}",
            y=height - 6,
            text_anchor="middle",
        )
        for m in months[::step]
    ]
    parts.append(_void("path", class_="line", d=_path(points, lambda d: x(d.toordinal()), y)))
    d1, v1 = values[-1]
    parts.append(
        _el(
            "circle",
            _el("title", _e(f"{_day(d1)}: {format_value(v1, unit)}")),
            class_="dot",
            cx=f"{x(d1.toordinal()):.1f}",
            cy=f"{y(v1):.1f}",
            r=4,
        )
    )
    return _el(
        "svg",
        "".join(parts),
        class_="line-chart",
        viewBox=f"0 0 {width} {height}",
        role="img",
        aria_label=f"{len(values)} points up to {_day(d1)}",
        data_points=len(values),
    )


def _diverging_bars(
    name: str,
    periods: Sequence[Row],
    parts: Sequence[tuple[str, str, int, str]],
    unit: str,
    *,
    width: int = 640,
    height: int = 250,
) -> str:
    """Stacked bars per period: gains above zero, losses below, a diamond on the net."""
    if not periods:
        return _empty()
    left, right, top, bottom = 56, 10, 12, 24
    stacks, hi, lo = [], 0.0, 0.0
    for p in periods:
        up = down = 0.0
        segments = []
        for key, label, sign, colour in parts:
            raw = p["values"].get(key)
            signed = sign * (raw or 0.0)
            if signed >= 0:
                segments.append((key, label, colour, raw, up, up + signed))
                up += signed
            else:
                segments.append((key, label, colour, raw, down + signed, down))
                down += signed
        stacks.append((p, segments, up + down))
        hi, lo = max(hi, up), min(lo, down)
    ticks = _nice_ticks(lo, hi)
    y = _scale(ticks[0], ticks[-1], height - bottom, top)
    band = (width - left - right) / len(periods)
    bar = band * 0.64
    out = [_axis_line(t, y, left, width - right, unit) for t in ticks]
    out.append(
        _void("line", class_="zero", x1=left, x2=width - right, y1=f"{y(0):.1f}", y2=f"{y(0):.1f}")
    )
    for i, (p, segments, net) in enumerate(stacks):
        x0 = left + i * band + (band - bar) / 2
        month = _month(p["period"])
        shapes = [
            _el(
                "rect",
                _el("title", _e(f"{month}: {label} {format_value(raw, unit)}")),
                data_component=key,
                data_value=_num(raw),
                x=f"{x0:.1f}",
                y=f"{y(b):.1f}",
                width=f"{bar:.1f}",
                height=f"{max(0.5, y(a) - y(b)):.1f}",
                fill=colour,
            )
            for key, label, colour, raw, a, b in segments
            if raw
        ]
        cx, cy, r = x0 + bar / 2, y(net), min(7.0, bar / 3)
        if len(parts) > 1:
            shapes.append(
                _el(
                    "path",
                    _el("title", _e(f"{month}: net {format_value(net, unit)}")),
                    class_="net",
                    data_component="net",
                    data_value=_num(net),
                    d=f"M{cx:.1f},{cy - r:.1f} L{cx + r:.1f},{cy:.1f} "
                    f"L{cx:.1f},{cy + r:.1f} L{cx - r:.1f},{cy:.1f} Z",
                )
            )
        complete = bool(p.get("complete", True))
        shapes.append(
            _el(
                "text",
                _e(_month(p["period"], short=True) + ("" if complete else "*")),
                class_="axis",
                x=f"{cx:.1f}",
                y=height - 6,
                text_anchor="middle",
            )
        )
        out.append(
            _el(
                "g",
                "".join(shapes),
                class_="period" if complete else "period partial",
                data_testid=f"{name}-{p['period']}",
                data_period=p["period"],
                data_complete=str(complete).lower(),
            )
        )
    return _el(
        "svg",
        "".join(out),
        class_="bars",
        viewBox=f"0 0 {width} {height}",
        role="img",
        aria_label=f"{len(periods)} months",
    )


def _axis_line(tick: float, y: Callable[[float], float], x1: float, x2: float, unit: str) -> str:
    return _void(
        "line", class_="grid", x1=x1, x2=x2, y1=f"{y(tick):.1f}", y2=f"{y(tick):.1f}"
    ) + _el(
        "text",
        _e(_tick(tick, unit)),
        class_="axis",
        x=x1 - 6,
        y=f"{y(tick) + 4:.1f}",
        text_anchor="end",
    )


def _legend(parts: Sequence[tuple[str, str, int, str]]) -> str:
    items = [
        _el(
            "li",
            _el("span", "", class_="swatch", style=f"background:{colour}")
            + _e(f"{MINUS if sign < 0 else ''}{label}"),
        )
        for _, label, sign, colour in parts
    ]
    items.append(_el("li", _el("span", "", class_="swatch diamond") + "net change"))
    return _el("ul", "".join(items), class_="legend")


def _hbars(name: str, items: Iterable[tuple[str, float | None, str]]) -> str:
    items = [(label, value or 0.0, text) for label, value, text in items]
    if not items:
        return _empty()
    top = max(value for _, value, _ in items) or 1.0
    rows = "".join(
        _el(
            "div",
            _el("span", _e(label), class_="hbar-label")
            + _el(
                "span",
                _el("span", "", class_="hbar-fill", style=f"width:{100 * value / top:.1f}%"),
                class_="hbar-track",
            )
            + _el("span", _e(text), class_="hbar-value"),
            class_="hbar",
            data_label=label,
            data_value=_num(value),
        )
        for label, value, text in items
    )
    return _el("div", rows, class_="hbars", data_testid=f"{name}-bars")


def _badge(text: str, tone: str, testid: str | None = None, kind: str = "status") -> str:
    css = tone if kind == "state" else f"status-{_slug(tone)}"
    return _el("span", _e(text), class_=f"badge {css}", data_testid=testid)


def _change_el(
    change: float | None,
    text: str,
    direction: str,
    suffix: str = "",
    testid: str | None = None,
) -> str:
    return _el(
        "span",
        f"{_arrow(change)} {_e(text or '—')}" + (f" <small>{_e(suffix)}</small>" if suffix else ""),
        class_=f"change {_tone(change, direction)}",
        data_testid=testid,
        data_value=_num(change),
    )


def _empty() -> str:
    return '<p class="empty">No data yet.</p>'


def _el(tag: str, content: str = "", **attrs: Any) -> str:
    """An element: attribute values are escaped here, ``content`` is markup already."""
    return f"<{tag}{_attrs(attrs)}>{content}</{tag}>"


def _void(tag: str, **attrs: Any) -> str:
    return f"<{tag}{_attrs(attrs)}/>"


def _attrs(attrs: Mapping[str, Any]) -> str:
    # class_ → class, data_testid → data-testid; None leaves the attribute out.
    return "".join(
        f' {name.rstrip("_").replace("_", "-")}="{_e(value)}"'
        for name, value in attrs.items()
        if value is not None
    )


def _path(
    points: Sequence[tuple[date, float | None]],
    x: Callable[[date], float],
    y: Callable[[float], float],
) -> str:
    """An SVG path that lifts the pen over missing values rather than drawing through them."""
    out, pen_down = [], False
    for d, v in points:
        if v is None:
            pen_down = False
            continue
        out.append(f"{'L' if pen_down else 'M'}{x(d):.1f},{y(v):.1f}")
        pen_down = True
    return " ".join(out)


def _scale(lo: float, hi: float, out_lo: float, out_hi: float) -> Callable[[float], float]:
    span = (hi - lo) or 1.0
    return lambda v: out_lo + (v - lo) / span * (out_hi - out_lo)


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round axis values that cover ``lo``..``hi``."""
    if hi <= lo:
        hi, lo = hi + (abs(hi) * 0.1 or 1.0), lo - (abs(lo) * 0.1 or 1.0)
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= raw)
    start, end = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(start, end + 1)]


def _zoom(
    points: Sequence[tuple[date, float | None]], bounds: tuple[float, float]
) -> tuple[float, float] | None:
    """The data's own range with a margin, within the scale's bounds: an NPS moving between
    10 and 20 would read as a flat line on -100..100."""
    values = [v for _, v in points if v is not None]
    if not values:
        return None
    lo, hi = min(values), max(values)
    margin = max((hi - lo) * 0.25, (bounds[1] - bounds[0]) * 0.02)
    return max(bounds[0], lo - margin), min(bounds[1], hi + margin)


def _weekly(points: Sequence[tuple[date, Any]]) -> list[tuple[date, Any]]:
    """Every 7th day back from the last: smooth enough for trailing windows, 7 times lighter."""
    if not points:
        return []
    last = points[-1][0]
    return [(d, v) for d, v in points if (last - d).days % 7 == 0]


def _month_starts(first: date, last: date) -> list[date]:
    month = date(first.year, first.month, 1)
    if month < first:
        month = _next_month(month)
    months = []
    while month <= last:
        months.append(month)
        month = _next_month(month)
    return months


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


def _change(value: float | None, before: float | None, unit: str) -> tuple[float | None, str]:
    """The move from ``before``: in points for shares and scores around zero (as the text
    radar), else relative. Returns the number (points, or a fraction) and its text."""
    if value is None or before is None:
        return None, ""
    if unit in POINT_UNITS:
        points = (value - before) * POINT_UNITS[unit]
        return points, f"{_signed(points, '.1f')} pts"
    if not before:
        return None, ""
    relative = value / before - 1
    return relative, f"{_signed(relative * 100, '.1f')} %"


def _signed(value: float, spec: str) -> str:
    text = format(abs(value), spec)
    if not text.strip("0."):
        return text
    return f"{MINUS if value < 0 else '+'}{text}"


def _tone(change: float | None, direction: str) -> str:
    if change is None or abs(change) < 1e-9:
        return "flat"
    return "good" if (change > 0) == (direction != "lower_is_better") else "bad"


def _arrow(change: float | None) -> str:
    if change is None or abs(change) < 1e-9:
        return "▬"
    return "▲" if change > 0 else "▼"


def _tick(value: float, unit: str) -> str:
    if unit == "share":
        return f"{value * 100:.0f} %"
    if unit == "%":
        return f"{value:.0f} %"
    if value != int(value):
        return f"{value:g}".replace("-", MINUS)
    return _compact(value)


def _compact(value: float | None, unit: str = "") -> str:
    """1.2M, 291k, 4.5k, 950: money on an axis or in a headline, where every unit is noise."""
    if value is None:
        return "—"
    size = abs(value)
    if size >= 1e6:
        text = f"{size / 1e6:.1f}M"
    elif size >= 1e4:
        text = f"{size / 1e3:.0f}k"
    elif size >= 1e3:
        text = f"{size / 1e3:.1f}k"
    else:
        text = f"{size:.0f}"
    sign = MINUS if value < 0 and text.strip("0.kM") else ""
    return f"{sign}{text}{f' {unit}' if unit else ''}"


def _day(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _month(day: date, short: bool = False) -> str:
    name = MONTHS[day.month - 1][:3]
    if short:
        return f"{name} {day:%y}" if day.month == 1 else name
    return f"{name} {day.year}"


def _num(value: Any) -> str:
    """A number for a data attribute: exact (repr), empty when undefined."""
    if value is None:
        return ""
    number = float(value)
    return "" if math.isnan(number) else repr(number)


def _slug(text: Any) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(text).lower())


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------------------------
# Style and script
# --------------------------------------------------------------------------------------------

CSS = """
:root {
  --bg: #f3f5f9; --panel: #ffffff; --ink: #162030; --muted: #5b6678; --line: #dde3ec;
  --ok: #1f8a4c; --decline: #c93a3a; --flattening: #c77c12; --neutral: #7a8598;
  --accent: #2f6fdf; --heat: 47, 111, 223;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1420; --panel: #172033; --ink: #eef2f8; --muted: #9aa6ba; --line: #2a3650;
    --ok: #3cc774; --decline: #ff6b6b; --flattening: #f5a524; --accent: #6c9cff;
  }
}
* { box-sizing: border-box; }
/* Type grows with the screen: a laptop and a wall screen read the same page. */
html { font-size: clamp(14px, 0.45vw + 9px, 26px); }
body {
  margin: 0; background: var(--bg); color: var(--ink); line-height: 1.35;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
h1, h2, h3, h4 { margin: 0; font-weight: 650; }
h4 { font-size: .85rem; color: var(--muted); margin-top: .5rem; }
small { color: var(--muted); font-weight: 400; }
.top {
  display: flex; flex-wrap: wrap; align-items: flex-end; justify-content: space-between;
  gap: .5rem 2rem; padding: 1rem 1.5rem .5rem;
}
.top h1 { font-size: 1.7rem; letter-spacing: -.01em; }
.subtitle { color: var(--muted); }
.meta { display: flex; gap: 2rem; margin: 0; }
.meta dt {
  color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .05em;
}
.meta dd { margin: 0; font-size: 1.15rem; font-weight: 600; }
.age { color: var(--muted); font-weight: 400; font-size: .9rem; }
.stale-banner {
  display: none; width: 100%; margin: .5rem 0 0; padding: .5rem 1rem; border-radius: .5rem;
  background: var(--decline); color: #fff; font-weight: 600;
}
.stale .stale-banner { display: block; }
.grid {
  display: grid; grid-template-columns: repeat(12, minmax(0, 1fr)); gap: 1rem;
  padding: .5rem 1.5rem 1.5rem;
}
.span-3 { grid-column: span 3; }
.span-4 { grid-column: span 4; }
.span-5 { grid-column: span 5; }
.span-6 { grid-column: span 6; }
.span-7 { grid-column: span 7; }
.span-12 { grid-column: 1 / -1; }
@media (max-width: 1400px) { .span-3 { grid-column: span 6; } }
@media (max-width: 1100px) { .grid > * { grid-column: 1 / -1; } }
.panel {
  background: var(--panel); border: 1px solid var(--line); border-radius: .8rem;
  padding: 1rem 1.2rem; min-width: 0;
}
.section-title { font-size: 1.25rem; margin-top: .75rem; }
.note { color: var(--muted); font-size: .85rem; margin: .25rem 0 .5rem; }
.empty { color: var(--muted); font-style: italic; }
.badge {
  display: inline-block; padding: .1rem .55rem; border-radius: 1rem; font-size: .75rem;
  font-weight: 700; text-transform: uppercase; letter-spacing: .04em; color: #fff;
  background: var(--neutral); white-space: nowrap;
}
.badge.status-ok { background: var(--ok); }
.badge.status-decline { background: var(--decline); }
.badge.status-flattening { background: var(--flattening); }
.badge.state-escalated { background: #7d1d1d; }
.badge.state-new { background: var(--accent); }
.badge.state-recovered { background: var(--ok); }
.change { font-weight: 600; white-space: nowrap; }
.change.good { color: var(--ok); }
.change.bad { color: var(--decline); }
.change.flat { color: var(--muted); }
/* The headline: the average customer value. */
.hero { border-left: .5rem solid var(--neutral); }
.hero.status-ok { border-left-color: var(--ok); }
.hero.status-decline { border-left-color: var(--decline); }
.hero.status-flattening { border-left-color: var(--flattening); }
.hero-head { display: flex; align-items: center; gap: 1rem; }
.hero-head h2 { font-size: 1.35rem; }
.hero-body {
  display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 1.5rem; align-items: center;
}
.hero-value {
  font-size: 4.2rem; font-weight: 750; letter-spacing: -.02em; line-height: 1.05;
  white-space: nowrap;
}
.hero-changes { display: flex; flex-direction: column; gap: .1rem; font-size: 1.15rem; }
.hero .spark { max-height: 8rem; }
.why {
  font-size: 1.1rem; margin: .6rem 0; padding: .6rem .8rem; border-radius: .5rem;
  background: color-mix(in srgb, var(--neutral) 10%, transparent);
}
.hero.status-decline .why { background: color-mix(in srgb, var(--decline) 12%, transparent); }
.hero.status-flattening .why {
  background: color-mix(in srgb, var(--flattening) 14%, transparent);
}
.factors { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1rem; margin: .5rem 0; }
.factor { display: flex; flex-direction: column; }
.factor-label { color: var(--muted); font-size: .8rem; }
.factor-value { font-size: 1.3rem; font-weight: 650; }
.op { font-size: 1.4rem; color: var(--muted); }
.members { width: 100%; border-collapse: collapse; font-size: .9rem; margin-top: .4rem; }
.members th, .members td {
  padding: .2rem .4rem; text-align: right; border-top: 1px solid var(--line);
}
.members th:first-child { text-align: left; }
.members thead th { color: var(--muted); font-weight: 500; border-top: 0; }
.members tr.flagged th { color: var(--decline); }
/* The alerts. */
.alerts h2 { font-size: 1.35rem; display: flex; justify-content: space-between; }
.alerts .count { color: var(--decline); }
.alert-list { list-style: none; margin: 0; padding: 0; max-height: 34rem; overflow-y: auto; }
.alert {
  padding: .5rem .2rem .5rem .7rem; margin-bottom: .5rem;
  border-left: .3rem solid var(--neutral);
}
.alert.kind-decline { border-left-color: var(--decline); }
.alert.kind-flattening { border-left-color: var(--flattening); }
.alert.state-recovered, .alert.state-suppressed { border-left-color: var(--neutral); opacity: .75; }
.alert-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .35rem; }
.alert-head strong { font-size: 1.02rem; }
.where, .since, .severity { color: var(--muted); font-size: .85rem; }
.severity.sev-critical { color: var(--decline); font-weight: 700; }
.reason { margin: .25rem 0 0; font-size: .92rem; }
/* The KPI tiles. */
.tiles {
  display: grid; grid-template-columns: repeat(auto-fill, minmax(13.5rem, 1fr)); gap: .75rem;
  margin-top: .5rem;
}
.tile {
  display: flex; flex-direction: column; gap: .15rem; min-width: 0;
  background: var(--panel); border: 1px solid var(--line); border-top: .35rem solid var(--neutral);
  border-radius: .7rem; padding: .6rem .8rem .4rem;
}
.tile.status-ok { border-top-color: var(--ok); }
.tile.status-decline { border-top-color: var(--decline); }
.tile.status-flattening { border-top-color: var(--flattening); }
.tile h3 { font-size: .85rem; font-weight: 600; color: var(--muted); }
.tile-value { font-size: 1.6rem; font-weight: 700; white-space: nowrap; }
.unit { font-size: .6em; font-weight: 600; color: var(--muted); }
.tile-foot {
  display: flex; justify-content: space-between; align-items: center; gap: .5rem;
  font-size: .85rem;
}
.members-alert { font-size: .75rem; color: var(--decline); }
.tile .spark { max-height: 3rem; margin-top: auto; }
/* The charts. */
.chart-head {
  display: flex; justify-content: space-between; align-items: baseline; gap: 1rem;
  flex-wrap: wrap;
}
.chart-head h3 { font-size: 1.05rem; }
.chart-value { font-size: 1.3rem; font-weight: 700; }
svg { display: block; width: 100%; height: auto; overflow: visible; }
.spark-line, .line {
  fill: none; stroke: var(--accent); stroke-width: 2.2; stroke-linejoin: round;
  stroke-linecap: round;
}
.spark-area { fill: var(--accent); opacity: .12; stroke: none; }
.spark-dot, .dot { fill: var(--accent); }
.tone-decline .spark-line { stroke: var(--decline); }
.tone-decline .spark-area, .tone-decline .spark-dot { fill: var(--decline); }
.tone-flattening .spark-line { stroke: var(--flattening); }
.tone-flattening .spark-area, .tone-flattening .spark-dot { fill: var(--flattening); }
.spark-empty { color: var(--muted); font-size: .8rem; }
svg line.grid { stroke: var(--line); stroke-width: 1; }
svg line.zero { stroke: var(--muted); stroke-width: 1.2; }
svg text.axis { fill: var(--muted); font-size: 12px; }
.net { fill: var(--ink); stroke: var(--panel); stroke-width: 1.5; }
.period.partial rect { opacity: .45; }
.legend {
  display: flex; flex-wrap: wrap; gap: .3rem 1rem; list-style: none; padding: 0;
  margin: .4rem 0 0; font-size: .85rem;
}
.swatch {
  display: inline-block; width: .8rem; height: .8rem; border-radius: .15rem;
  margin-right: .35rem; vertical-align: -.05rem;
}
.swatch.diamond { background: var(--ink); transform: rotate(45deg) scale(.8); }
.table-scroll { overflow-x: auto; }
.cohorts { border-collapse: separate; border-spacing: 2px; font-size: .8rem; width: 100%; }
.cohorts th {
  color: var(--muted); font-weight: 500; padding: .15rem .3rem; text-align: right;
  white-space: nowrap;
}
.cohorts td {
  text-align: center; padding: .25rem .15rem; border-radius: .2rem;
  font-variant-numeric: tabular-nums;
}
.cohorts td.size { color: var(--muted); text-align: right; }
.cohorts td.cell { background: rgba(var(--heat), var(--s)); }
.cohorts td.cell[data-month="0"] { background: var(--line); color: var(--muted); }
.cohorts td.dark { color: #fff; }
.cohorts td.partial { font-style: italic; outline: 1px dashed var(--muted); outline-offset: -1px; }
.numbers { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; margin: .25rem 0 .75rem; }
.numbers dt { color: var(--muted); font-size: .8rem; }
.numbers dd { margin: 0; font-size: 1.25rem; font-weight: 650; }
.hbars { display: grid; gap: .25rem; margin: .4rem 0; }
.hbar {
  display: grid; grid-template-columns: 9rem minmax(0, 1fr) 6.5rem; gap: .5rem;
  align-items: center; font-size: .85rem;
}
.hbar-label { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.hbar-track { background: var(--line); border-radius: .2rem; height: .8rem; overflow: hidden; }
.hbar-fill { display: block; height: 100%; background: var(--accent); }
.hbar-value {
  color: var(--muted); white-space: nowrap; font-variant-numeric: tabular-nums; text-align: right;
}
.bottom { color: var(--muted); font-size: .8rem; padding: 0 1.5rem 1.5rem; }
/* A phone: one column, the headline still first. */
@media (max-width: 700px) {
  .grid, .top { padding-left: .75rem; padding-right: .75rem; }
  .meta { flex-wrap: wrap; gap: .5rem 1.25rem; }
  .hero-body { grid-template-columns: minmax(0, 1fr); gap: .5rem; }
  .hero-value { font-size: 3rem; }
}
"""

# The page's age in words, and a banner once it is older than a day: the file a wall screen
# keeps reloading is only as fresh as the last run that wrote it.
SCRIPT = """
(function () {
  var root = document.documentElement;
  var generated = Date.parse(root.getAttribute("data-generated-at"));
  var age = document.getElementById("page-age");
  function words(minutes) {
    if (minutes < 1) { return "just now"; }
    if (minutes < 120) { return minutes + " min ago"; }
    if (minutes < 2880) { return Math.round(minutes / 60) + " h ago"; }
    return Math.round(minutes / 1440) + " days ago";
  }
  function tick() {
    var minutes = Math.max(0, Math.round((Date.now() - generated) / 60000));
    if (age) { age.textContent = "(" + words(minutes) + ")"; }
    root.classList.toggle("stale", minutes > 26 * 60);
  }
  if (!isNaN(generated)) { tick(); setInterval(tick, 30000); }
})();
"""
