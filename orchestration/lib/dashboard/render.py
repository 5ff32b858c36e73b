"""The page: the data of :func:`load_dashboard_data` shaped for the templates, then rendered.

The markup lives in ``templates/*.html.j2``, the styles in ``templates/dashboard.css`` and the
script in ``templates/dashboard.js``; both are inlined at render time, so the page is one file
that opens from a file share or a wall screen's browser with no network, and its content
security policy forbids it to load anything else. Every number drawn also sits in the markup as
a ``data-value`` attribute, the same number a test or a screen reader can read.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup

from orchestration.lib.alert_state import OPEN_STATES
from orchestration.lib.dashboard import charts, panels, text
from orchestration.lib.dashboard.data import ACV, STATE_RANK
from orchestration.lib.dashboard.panels import BRIDGE_PARTS, FLOW_PARTS, MTD_PARTS
from orchestration.lib.explain import MONEY, format_value, unit_shown
from orchestration.lib.radar import CHANGE_DAYS, DEFAULT_CURRENCY, EXISTING_CUSTOMERS

Row = dict[str, Any]
TEMPLATES = Path(__file__).with_name("templates")

# Nothing but what the page holds: no font, script, image or request from elsewhere.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

# The two factors of ACV (orders per active customer times average order value), then the
# customers they are averaged over.
FACTORS = (
    ("Orders per active customer", "acv-frequency", "orders_per_active_customer", "ratio", "×"),
    ("Average order value", "acv-basket", "average_order_value", MONEY, "·"),
    ("Active customers", "acv-active-customers", "active_customers", "count", ""),
)
# How many lines of its reason each group of alerts shows, by how many groups there are: every
# open alert stays on a 1920 x 1080 wall screen without scrolling.
REASON_LINES = ((5, 3), (8, 2), (10, 1))
# Past this many groups they stand in two columns, a line or two each: every KPI of the
# catalogue in alert at once still fits the wall.
DENSE_GROUPS = 20


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        BRIDGE_PARTS=BRIDGE_PARTS,
        MTD_PARTS=MTD_PARTS,
        FLOW_PARTS=FLOW_PARTS,
        attrs=text.attrs,
        num=text.num,
        slug=text.slug,
        value=text.value_markup,
        day=text.day,
        CHANGE_DAYS=CHANGE_DAYS,
    )
    return env


def asset(name: str) -> Markup:
    """A style sheet or script to inline, as it is: it holds no text from the data."""
    return Markup((TEMPLATES / name).read_text(encoding="utf-8"))


def render_dashboard(data: Mapping[str, Any], refresh_seconds: int = 300) -> str:
    """The whole page: self-contained HTML that reloads itself every ``refresh_seconds``."""
    kpis = list(data.get("kpis") or [])
    acv = next((k for k in kpis if k["kpi_name"] == ACV), None)
    alerts = list(data.get("alerts") or [])
    zone = ZoneInfo(data.get("timezone") or "UTC")
    generated: datetime = (data.get("generated_at") or datetime.now(UTC)).astimezone(zone)
    as_of = data.get("as_of")
    # load_dashboard_data reads it from the warehouse; data made by hand may leave it out
    currency = data.get("currency") or DEFAULT_CURRENCY
    bridge = list(data.get("bridge") or [])
    partial = next((r for r in bridge if not r["is_complete_period"]), None)
    # the days the month that has not ended has had so far, e.g. the 3 of "Dec 1-3"
    days = (as_of or partial["period_end"]).day if partial else None
    return (
        environment()
        .get_template("page.html.j2")
        .render(
            title=f"Customer value radar, {text.day(as_of) if as_of else 'no data'}",
            refresh_seconds=int(refresh_seconds),
            csp=Markup(CSP),
            css=asset("dashboard.css"),
            script=asset("dashboard.js"),
            as_of=as_of,
            as_of_text=text.day(as_of) if as_of else "no data",
            currency=currency,
            generated=generated,
            generated_text=f"{text.day(generated.date())}, {generated:%H:%M %Z}",
            open_count=sum(a["state"] in OPEN_STATES for a in alerts),
            hero=hero(acv, data.get("customer_value") or {}, alerts, currency),
            alerts=alerts_panel(alerts, data.get("alerts_evaluated_on"), currency),
            tiles=[tile(k) for k in kpis if k["kpi_name"] != ACV],
            bridge=panels.revenue_bridge(bridge, data.get("month_to_date") or [], days, currency),
            flow=panels.customer_flow(
                data.get("customer_flow") or [], data.get("month_to_date") or [], days
            ),
            cohorts=panels.cohort_table(
                data.get("cohorts") or [],
                text.first_days(partial["period_start"], days) if partial else None,
            ),
            customers=panels.customer_base(data.get("customers") or {}, currency),
            feedback=panels.feedback(data.get("feedback") or []),
            prospects=panels.prospects(
                data.get("prospects") or [],
                data.get("lead_channels") or [],
                data.get("web_channels") or [],
            ),
            pulse=panels.stakeholders(data.get("pulse") or []),
            off=off_notes(data.get("sources_off") or {}),
        )
    )


#: The sources each section's panels are built on.
SECTION_SOURCES = {"feedback": ("crm",), "prospects": ("crm", "web"), "stakeholders": ("hr",)}


def off_notes(sources_off: Mapping[str, str]) -> dict[str, str]:
    """Per section, what says why some of its panels are empty: the sources switched off
    (``sources_off``: each source off, with the setting that turns it on)."""
    notes = {}
    for section, sources in SECTION_SOURCES.items():
        off = [f"{name.upper()} ({sources_off[name]})" for name in sources if name in sources_off]
        are, it = ("is", "it") if len(off) == 1 else ("are", "them")
        said = f"{' and '.join(off)} {are} off: the panels built on {it} stay empty."
        notes[section] = said if off else ""
    return notes


def reason(full: str | None) -> Row:
    """An alert's reason: its first sentence (what moved, by how much, since when) to read at a
    glance, the full text one click away."""
    full = " ".join((full or "").split())
    short = text.first_sentence(full)
    return {"short": short, "full": full, "more": full != short}


def hero(acv: Row | None, value: Row, alerts: list[Row], currency: str) -> Row | None:
    if acv is None or acv["value"] is None:
        return None
    status, alert = acv["status"], acv["alert"]
    leading = sorted(
        (a for a in alerts if a["kpi_name"] in EXISTING_CUSTOMERS and a["state"] in OPEN_STATES),
        key=lambda a: (a["dimension"] != "total", STATE_RANK.get(a["state"], 9)),
    )
    if alert:
        why = reason(alert["reason"])
    elif leading:
        said = [text.first_sentence(a["reason"]) for a in leading]
        why = reason(
            f"{said[0]} Average customer value is not yet below its normal range: a customer "
            f"counts in it for a year after their last order. {' '.join(said[1:])}"
        )
    elif status == "ok":
        why = reason("Within its normal range: neither a decline nor a flattening.")
    else:
        why = reason("")
    total = (value or {}).get("total")
    factors = []
    if total:
        before = total.get("before") or {}
        for label, testid, column, unit, operator in FACTORS:
            unit = unit_shown(unit, currency)
            factors.append(
                {
                    "label": label,
                    "testid": testid,
                    "value": total[column],
                    "text": format_value(total[column], unit),
                    "change": text.changed(total[column], before.get(column), unit),
                    "operator": operator,
                }
            )
    in_alert = {
        (a["dimension"], a["dimension_value"])
        for a in alerts
        if a["kpi_name"] == ACV and a["state"] in OPEN_STATES
    }
    members = [
        {
            **m,
            "text": format_value(m["average_customer_value"], currency),
            "customers": format_value(m["active_customers"], "count"),
            "change": text.changed(
                m["average_customer_value"],
                (m.get("before") or {}).get("average_customer_value"),
                currency,
            ),
            "flagged": (m["dimension"], m["dimension_value"]) in in_alert,
        }
        for m in (value or {}).get("members") or []
    ]
    return {
        **acv,
        "status_text": f"{status} · {alert['state']}" if alert else status,
        "change": text.changed(acv["value"], acv["value_before"], acv["unit"], acv["direction"]),
        "change_12m": text.changed(
            acv["value"], acv["value_year_before"], acv["unit"], acv["direction"]
        ),
        "spark": charts.sparkline(
            acv["trend"], acv["unit"], "acv-sparkline", width=520, height=120, tone=status
        ),
        "why": why,
        "factors": factors,
        "members": members,
    }


def alerts_panel(alerts: list[Row], evaluated_on: date | None, currency: str) -> Row:
    """The alerts, the open ones grouped by KPI, kind and state (a KPI falling in its total and
    three segments is one line to read), the recovered and suppressed ones folded away."""
    open_alerts = [a for a in alerts if a["state"] in OPEN_STATES]
    opened = group_alerts(open_alerts, currency)
    lines = next((n for most, n in REASON_LINES if len(opened) <= most), 0)
    return {
        "count": len(open_alerts),
        "evaluated_on": evaluated_on,
        "when": f"Evaluated on {text.day(evaluated_on)}." if evaluated_on else "Not evaluated yet.",
        "groups": opened,
        "closed": group_alerts([a for a in alerts if a["state"] not in OPEN_STATES], currency),
        "closed_count": len(alerts) - len(open_alerts),
        "reason_lines": lines,
        "dense": len(opened) > DENSE_GROUPS,
    }


def group_alerts(alerts: Sequence[Row], currency: str) -> list[Row]:
    groups: dict[tuple[str, str, str], Row] = {}
    for a in alerts:
        group = groups.setdefault(
            (a["state"], a["kpi_name"], a["kind"]),
            {
                "state": a["state"],
                "kind": a["kind"],
                "kpi": a["kpi_name"],
                "label": a["label"],
                "alerts": [],
            },
        )
        where = "total" if a["dimension"] == "total" else f"{a['dimension_value']} {a['dimension']}"
        unit = unit_shown(a.get("unit") or "", currency)
        group["alerts"].append(
            {
                **a,
                "where": where,
                "change": alert_change(a, unit),
                "why": reason(a["reason"]),
            }
        )
    for group in groups.values():
        members = group["alerts"]
        severities = [a["severity"] for a in members if a.get("severity")]
        group["severity"] = min(severities, key=lambda s: s != "critical", default=None)
        # the first one's, as its reason shown under it says; each says its own on hover
        group["since"] = members[0].get("since")
        group["why"] = members[0]["why"]
    return sorted(groups.values(), key=lambda g: STATE_RANK.get(g["state"], 9))


def alert_change(alert: Row, unit: str) -> Row:
    """The move an alert is about, from its baseline: bad news when it is a decline, whichever
    way the KPI went (a churn rate rising declines)."""
    change = text.changed(alert["current_value"], alert["baseline_value"], unit)
    if alert["kind"] == "decline" and change["value"]:
        change["tone"] = "bad"
    return change


def tile(k: Row) -> Row:
    return {
        **k,
        "change": text.changed(k["value"], k["value_before"], k["unit"], k["direction"]),
        "spark": charts.sparkline(
            charts.weekly(k["trend"]),
            k["unit"],
            f"spark-{k['kpi_name']}",
            width=240,
            height=48,
            tone=k["status"],
        ),
    }
