"""The revenue, customer, feedback, prospect and stakeholder panels, shaped for the templates:
the charts' geometry and the words around them, from the rows of :func:`load_dashboard_data`."""

from __future__ import annotations

from typing import Any

from orchestration.lib.dashboard import charts, text
from orchestration.lib.explain import format_value

Row = dict[str, Any]

# A month's bridge against the month before: its "reactivated" and "lost" customers are those
# with no order in one of the two months, not the customer flow's, who lapsed (180 days).
BRIDGE_PARTS = (
    ("new_revenue", "New customers", 1, "#2f6fdf"),
    ("reactivated_revenue", "Reactivated (none the month before)", 1, "#59b4e8"),
    ("expansion_revenue", "Expansion", 1, "#2e9e5b"),
    ("contraction_revenue", "Contraction (buy less)", -1, "#e8913a"),
    ("lost_revenue", "Lost (none this month)", -1, "#d64545"),
)
MTD_PARTS = (("revenue", "Revenue", 1, "#2f6fdf"),)
FLOW_PARTS = (
    ("new_customers", "New", 1, "#2f6fdf"),
    ("reactivated_customers", "Reactivated (after a lapse)", 1, "#59b4e8"),
    ("lapsed_customers", "Lapsed", -1, "#d64545"),
)
FEEDBACK_CHARTS = (
    ("chart-feedback-nps", "NPS (90 days)", "nps_90d", "points", (-100.0, 100.0)),
    ("chart-feedback-csat", "CSAT after support (30 days)", "csat_30d", "%", (0.0, 100.0)),
    ("chart-feedback-reviews", "Review rating (30 days)", "review_rating_30d", "score", (1.0, 5.0)),
)


def revenue_bridge(
    rows: list[Row], month_to_date: list[Row], days: int | None, currency: str
) -> Row:
    """The bridge of each month that has ended; the month under way as month to date, against
    the same days of the months before it, never as a whole month."""
    complete = [r for r in rows if r["is_complete_period"]]
    periods = [
        {
            "period": r["period_start"],
            "label": text.month(r["period_start"], short=True),
            "values": r,
        }
        for r in complete
    ]
    partial = next((r for r in rows if not r["is_complete_period"]), None)
    latest = complete[-1] if complete else None
    return {
        "latest": latest,
        "latest_text": (
            f"{text.month(latest['period_start'])}: "
            + format_value(latest["ending_revenue"], currency)
            if latest
            else ""
        ),
        "chart": charts.diverging_bars(
            "bridge", periods, BRIDGE_PARTS, currency, width=charts.width(7)
        ),
        "mtd": month_to_date_view(partial, month_to_date, days, currency)
        if partial and days
        else None,
    }


def month_to_date_view(partial: Row, rows: list[Row], days: int, currency: str) -> Row:
    current = partial["period_start"]
    by_month = {r["month_start"]: r["revenue"] or 0.0 for r in rows}
    months = charts.month_starts(min(by_month, default=current), current)
    earlier = [by_month.get(m, 0.0) for m in months if m < current]
    average = sum(earlier) / len(earlier) if earlier else None
    # the month's own bridge row: the revenue its bar and the marts say, to the cent
    revenue = partial["ending_revenue"]
    periods = [
        {
            "period": m,
            "label": text.first_days(m, days)
            if m == current
            # a year ago, the same month: named with its year
            else text.month(m, short=m.month != current.month),
            "title": text.first_days(m, days),
            "faint": m != current,
            "values": {"revenue": revenue if m == current else by_month.get(m, 0.0)},
        }
        for m in months
    ]
    previous = months[-2] if len(months) > 1 else None
    return {
        "title": f"{text.first_days(current, days)} (month to date)",
        "period": current,
        "revenue": revenue,
        "revenue_text": format_value(revenue, currency),
        "previous_text": (
            f"{format_value(by_month.get(previous, 0.0), currency)} on "
            + text.first_days(previous, days)
            if previous
            else ""
        ),
        "average_text": format_value(average, currency) if average is not None else "",
        "earlier": len(earlier),
        "change": text.changed(revenue, average, currency),
        "chart": charts.diverging_bars(
            "mtd", periods, MTD_PARTS, currency, width=charts.width(7), height=150
        ),
    }


def customer_flow(rows: list[Row], month_to_date: list[Row], days: int | None) -> Row:
    complete = [r for r in rows if r["is_complete_month"]]
    periods = [
        {"period": r["month_start"], "label": text.month(r["month_start"], short=True), "values": r}
        for r in complete
    ]
    partial = next((r for r in rows if not r["is_complete_month"]), None)
    mtd = None
    if partial and days:
        current = partial["month_start"]
        earlier = {
            r["month_start"]: r["new_customers"]
            for r in month_to_date
            if r["month_start"] < current
        }
        months = charts.month_starts(min(earlier, default=current), current)[:-1]
        average = sum(earlier.get(m, 0) for m in months) / len(months) if months else None
        mtd = {
            **partial,
            "title": f"{text.first_days(current, days)} (month to date)",
            "average_text": f"{average:.1f}" if average is not None else "",
            "same_days": f"days 1–{days}" if days > 1 else "day 1",
        }
    return {
        "chart": charts.diverging_bars(
            "flow", periods, FLOW_PARTS, "customers", width=charts.width(5), height=280
        ),
        "mtd": mtd,
    }


def cohort_table(cohorts: list[Row], so_far: str | None) -> Row:
    if not cohorts:
        return {"rows": [], "months": 0, "so_far": so_far}
    months = max(c["month"] for cohort in cohorts for c in cohort["cells"])
    # Month 0 retains everyone by construction: the colours scale on the later months.
    later = [c["rate"] for ch in cohorts for c in ch["cells"] if c["month"] and c["rate"]]
    top = max(later, default=1.0) or 1.0
    rows = []
    for cohort in cohorts:
        cells = {c["month"]: c for c in cohort["cells"]}
        shown = []
        for m in range(months + 1):
            c = cells.get(m)
            if c is None or c["rate"] is None:
                shown.append(None)
                continue
            strength = 0.08 + 0.92 * min(1.0, c["rate"] / top) if m else 0.0
            partial = "" if c["complete"] else f" ({so_far or 'month to date'}, month to date)"
            shown.append(
                {
                    **c,
                    "text": str(round(c["rate"] * 100)),
                    "class": " ".join(
                        ["cell"]
                        + ([] if c["complete"] else ["partial"])
                        + (["dark"] if strength > 0.55 else [])
                    ),
                    "style": f"--s:{strength:.3f}",
                    "title": (
                        f"{text.month(cohort['cohort_month'])}, month {m}: {c['retained']} of "
                        f"{cohort['customers']} customer{'s' if cohort['customers'] != 1 else ''} "
                        f"bought{partial}"
                    ),
                }
            )
        rows.append({**cohort, "label": text.month(cohort["cohort_month"]), "cells": shown})
    return {"rows": rows, "months": months, "so_far": so_far}


def customer_base(customers: Row, currency: str) -> Row:
    segments = customers.get("segments") or []
    everyone = sum(s["customers"] for s in segments) or 1
    bars = charts.hbars(
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
    facts = []
    # A failed CLV fit leaves the predictions empty: say so and why, never a blank or a 0.
    unavailable = customers.get("predictions_unavailable_because")
    if customers.get("customers"):
        for label, testid, column, shown in (
            (
                "active customers",
                "customers-active",
                "active",
                format_value(customers["active"], "count"),
            ),
            (
                "predicted revenue, next 12 months",
                "customers-predicted-clv",
                "predicted_clv_12m",
                text.compact(customers["predicted_clv_12m"], currency),
            ),
            (
                "P(alive) of the active",
                "customers-p-alive",
                "p_alive_active",
                format_value(customers["p_alive_active"], "share"),
            ),
        ):
            predicted = column in ("predicted_clv_12m", "p_alive_active")
            facts.append(
                {
                    "label": label,
                    "testid": testid,
                    "value": customers[column],
                    "text": "unavailable" if unavailable and predicted else shown,
                }
            )
    return {"facts": facts, "unavailable": unavailable if facts else None, "bars": bars}


def feedback(rows: list[Row]) -> list[Row]:
    weekly = charts.weekly([(r["feedback_date"], r) for r in rows])
    latest = rows[-1] if rows else {}
    cards = []
    for testid, title, column, unit, bounds in FEEDBACK_CHARTS:
        points = [(d, r[column]) for d, r in weekly]
        extra = ""
        if column == "review_rating_30d" and latest:
            extra = f" · {latest['review_count_30d']} reviews"
        cards.append(
            card(
                testid,
                title,
                chart=charts.line_chart(
                    points, unit, domain=charts.zoom(points, bounds), width=charts.width(4)
                ),
                latest=latest.get(column),
                unit=unit,
                extra=extra,
                span=4,
            )
        )
    return cards


def prospects(rows: list[Row], lead_channels: list[Row], web_channels: list[Row]) -> Row:
    weekly = charts.weekly([(r["prospect_date"], r) for r in rows])
    latest = rows[-1] if rows else {}
    # A conversion rate is final once its leads have had their 90 days: the series stops at
    # the latest final one.
    conversion = charts.weekly(
        [
            (r["prospect_date"], r["lead_conversion_rate_30d"])
            for r in rows
            if r["lead_conversion_rate_30d"] is not None
        ]
    )
    # Two by two at every width: their axes read at the size of every other chart's.
    wide = charts.width(6)
    return {
        "charts": [
            card(
                "chart-prospects-leads",
                "Leads created (30 days)",
                chart=charts.line_chart(
                    [(d, r["leads_created_30d"]) for d, r in weekly], "count", width=wide
                ),
                latest=latest.get("leads_created_30d"),
                unit="count",
            ),
            card(
                "chart-prospects-conversion",
                "Lead conversion rate",
                "Leads of 30 days who ordered within 90 days, known once the 90 days have "
                + (
                    f"passed: the latest are those to {text.day(conversion[-1][0])}."
                    if conversion
                    else "passed."
                ),
                chart=charts.line_chart(conversion, "%", width=wide),
                latest=conversion[-1][1] if conversion else None,
                unit="%",
            ),
            card(
                "chart-prospects-lag",
                "Marketing lag",
                "Median days from lead to first order, first orders of 90 days.",
                chart=charts.line_chart(
                    [(d, r["median_days_to_first_order_90d"]) for d, r in weekly],
                    "days",
                    width=wide,
                ),
                latest=latest.get("median_days_to_first_order_90d"),
                unit="days",
            ),
        ],
        "leads": charts.hbars(
            "leads",
            [
                (r["channel"], r["leads_created_30d"], f"{r['leads_created_30d']:,}")
                for r in lead_channels
            ],
        ),
        "visitors": charts.hbars(
            "visitors",
            [
                (
                    r["channel"],
                    r["visitors_30d"],
                    f"{r['visitors_30d']:,} · {format_value(r['visitor_to_lead_rate_30d'], '%')}",
                )
                for r in web_channels
            ],
        ),
    }


def stakeholders(rows: list[Row]) -> list[Row]:
    """The monthly pulse: a survey under way is drawn lighter with its answers so far, and
    its response rate, not yet the month's, is left out until the month ends."""
    complete = [r for r in rows if r["is_complete_month"]]
    periods = [
        {
            "period": r["survey_month"],
            "label": text.month(r["survey_month"], short=True),
            "values": r,
            "partial": not r["is_complete_month"],
            "title": None
            if r["is_complete_month"]
            else f"{text.month(r['survey_month'])} (survey under way, "
            f"{r['responses']:,} answers so far)",
        }
        for r in rows
        if r["enps"] is not None
    ]
    latest = complete[-1] if complete else {}
    return [
        card(
            "chart-stakeholders-enps",
            "Employee NPS, monthly pulse",
            "% promoters − % detractors among the staff who answered.",
            bars=charts.diverging_bars(
                "enps", periods, (("enps", "eNPS", 1, "#6a5acd"),), "points", width=charts.width(6)
            ),
            latest=latest.get("enps"),
            unit="points",
        ),
        card(
            "chart-stakeholders-response",
            "Pulse survey response rate",
            "Staff who answered among those invited.",
            chart=charts.line_chart(
                [(r["survey_month"], r["response_rate"]) for r in complete],
                "share",
                domain=(0.0, 1.0),
                width=charts.width(6),
                height=250,
            ),
            latest=latest.get("response_rate"),
            unit="share",
        ),
    ]


def card(
    testid: str,
    title: str,
    note: str = "",
    *,
    chart: Row | None = None,
    bars: Row | None = None,
    latest: float | None = None,
    unit: str = "count",
    extra: str = "",
    span: int = 6,
) -> Row:
    """A chart in its panel, with its latest value as the headline."""
    return {
        "testid": testid,
        "title": title,
        "note": note,
        "chart": chart,
        "bars": bars,
        "latest": latest,
        "latest_text": format_value(latest, unit) + extra,
        "span": span,
    }
