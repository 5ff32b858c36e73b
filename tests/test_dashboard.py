"""The CEO dashboard: the page alone, then the page of the demo company in a real browser."""

import base64
import contextlib
import json
import os
import re
import select
import shutil
import struct
import subprocess
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from radar_runs import project_instance
from report import print_lines

from orchestration.definitions import defs
from orchestration.defs.dashboard.ceo import CEO_DASHBOARD
from orchestration.lib.dashboard import (
    OPEN_STATES,
    STATE_RANK,
    load_dashboard_data,
    publish_page,
    render_dashboard,
)
from orchestration.lib.dashboard.data import _kpis
from orchestration.lib.explain import format_value, unit_shown
from orchestration.lib.settings import PROJECT_ROOT

DAY = date(2026, 6, 30)
# The demo company three days into a month: its page shows a month under way.
DEMO_DAY = date(2026, 7, 3)
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "data" / "test-artifacts"


class Dom(HTMLParser):
    """Every element of a page with its attributes and its text (its descendants' included)."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self._open: list[dict] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = self._add(tag, attrs)
        if tag not in self.VOID:
            self._open.append(element)

    def handle_startendtag(self, tag, attrs):
        self._add(tag, attrs)

    def _add(self, tag, attrs) -> dict:
        element = {"tag": tag, "attrs": dict(attrs), "text": "", "descendants": []}
        for parent in self._open:
            parent["descendants"].append(element)
        self.elements.append(element)
        return element

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data

    def find_all(self, within: dict | None = None, **attrs) -> list[dict]:
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
        return [
            e
            for e in (within["descendants"] if within else self.elements)
            if all(e["attrs"].get(name) == value for name, value in wanted.items())
        ]

    def find(self, **attrs) -> dict:
        found = self.find_all(**attrs)
        assert len(found) == 1, (attrs, len(found))
        return found[0]

    def text(self, **attrs) -> str:
        return " ".join(self.find(**attrs)["text"].split())

    def value(self, **attrs) -> float | None:
        raw = self.find(**attrs)["attrs"]["data-value"]
        return float(raw) if raw else None


def series(days: int, start: float, step: float) -> list[tuple[date, float]]:
    return [(DAY - timedelta(days=days - 1 - i), start + i * step) for i in range(days)]


def kpi(name, label, unit, value, before, status="ok", alert=None, members=(), direction=None):
    trend = series(365, before, (value - before) / 364)
    return {
        "kpi_name": name,
        "label": label,
        "unit": unit,
        "direction": direction or "higher_is_better",
        "watched": True,
        "description": f"What {label} means.",
        "day": DAY,
        "value": value,
        "value_before": trend[-29][1],
        "value_year_before": before,
        "trend": trend,
        "status": status,
        "alert": alert,
        "member_alerts": list(members),
    }


def alert(
    name, label, state, kind="decline", dimension="total", member="all", reason="Why.", unit="EUR"
):
    return {
        "alert_id": f"{name}|{dimension}|{member}|{kind}",
        "evaluated_on": DAY,
        "kpi_name": name,
        "label": label,
        "unit": unit,
        "dimension": dimension,
        "dimension_value": member,
        "kind": kind,
        "state": state,
        "severity": "critical",
        "since": date(2026, 3, 1),
        "baseline_value": 3200.0,
        "current_value": 2850.0,
        "relative_change": -0.11,
        "reason": reason,
    }


def page_data(currency: str = "EUR") -> dict:
    """What load_dashboard_data reads from a warehouse built in ``currency``: its money KPIs
    and alerts carry it as their unit."""
    flattening = alert(
        "average_customer_value",
        "Average customer value",
        "escalated",
        kind="flattening",
        reason="Average customer value has stopped growing <script>alert(1)</script>.",
        unit=currency,
    )
    revenue = alert(
        "window_revenue",
        "Revenue <b>&</b> more",
        "new",
        dimension="segment",
        member='smb" onmouseover="steal()',
        unit=currency,
    )
    return {
        "generated_at": datetime(2026, 7, 1, 6, 5, tzinfo=UTC),
        "as_of": DAY,
        "currency": currency,
        "kpis": [
            kpi("active_customers", "Active customers", "customers", 1375.0, 1300.0),
            kpi(
                "average_customer_value",
                "Average customer value",
                currency,
                2849.3,
                3200.0,
                status="flattening",
                alert=flattening,
            ),
            kpi(
                "window_revenue",
                "Revenue <b>&</b> more",
                currency,
                3917835.6,
                4292553.0,
                members=['smb" onmouseover="steal()'],
            ),
            kpi(
                "churn_rate",
                "Churn rate",
                "share",
                0.0625,
                0.026,
                status="decline",
                alert=alert("churn_rate", "Churn rate", "new"),
                direction="lower_is_better",
            ),
        ],
        "alerts": [flattening, revenue],
        "alerts_evaluated_on": DAY,
        "customer_value": {
            "day": DAY,
            "total": {
                "dimension": "total",
                "dimension_value": "all",
                "active_customers": 1375,
                "average_customer_value": 2849.3,
                "orders_per_active_customer": 6.38,
                "average_order_value": 446.3,
                "before": {"average_customer_value": 2910.0, "average_order_value": 454.0},
            },
            "members": [
                {
                    "dimension": "segment",
                    "dimension_value": "smb",
                    "active_customers": 426,
                    "average_customer_value": 3685.0,
                    "before": {"average_customer_value": 3866.0},
                },
                {  # few large accounts: the widest figures a phone must hold
                    "dimension": "segment",
                    "dimension_value": "enterprise",
                    "active_customers": 1248,
                    "average_customer_value": 659122.0,
                    "before": {"average_customer_value": 671200.0},
                },
            ],
        },
        "bridge": [
            {
                "period_start": date(2026, month, 1),
                "is_complete_period": month < 6,
                "new_revenue": 3440.25,
                "reactivated_revenue": 82340.31,
                "expansion_revenue": 62507.34,
                "contraction_revenue": 47142.0,
                "lost_revenue": 60828.94,
                "ending_revenue": 291349.04,
            }
            for month in range(1, 7)
        ],
        "customer_flow": [
            {
                "month_start": date(2026, 6, 1),
                "is_complete_month": True,
                "new_customers": 19,
                "reactivated_customers": 8,
                "lapsed_customers": 86,
            }
        ],
        "cohorts": [
            {
                "cohort_month": date(2026, 5, 1),
                "customers": 22,
                "cells": [
                    {"month": 0, "rate": 1.0, "retained": 22, "complete": True},
                    {"month": 1, "rate": 0.36, "retained": 8, "complete": False},
                ],
            }
        ],
        "feedback": [
            {
                "feedback_date": d,
                "nps_90d": v,
                "csat_30d": 74.0,
                "review_rating_30d": 4.2,
                "review_count_30d": 19,
            }
            for d, v in series(60, 30.0, -0.2)
        ],
        "prospects": [
            {
                "prospect_date": d,
                "leads_created_30d": 81,
                "lead_conversion_rate_30d": None if d > DAY - timedelta(days=90) else 26.2,
                "median_days_to_first_order_90d": 12.0,
            }
            for d, _ in series(200, 0, 0)
        ],
        "lead_channels": [{"channel": "organic", "leads_created_30d": 28}],
        "web_channels": [
            {"channel": "organic", "visitors_30d": 667, "visitor_to_lead_rate_30d": 2.7}
        ],
        "pulse": [
            {
                "survey_month": date(2026, 6, 1),
                "responses": 82,
                "enps": 24.4,
                "response_rate": 0.732,
                "is_complete_month": True,
            },
        ],
        "customers": {
            "customers": 1623,
            "active": 1375,
            "predicted_clv_12m": 3.3e6,
            "p_alive_active": 0.883,
            "segments": [{"rfm_segment": "at_risk", "customers": 287}],
        },
    }


@pytest.fixture
def data():
    return page_data()


def test_the_page_is_self_contained_and_refreshes_itself(data):
    page = render_dashboard(data, refresh_seconds=120)
    links = re.findall(r"""(?:src|href|url)\s*[=(]\s*["']?\s*([^"'\s)>]*)""", page, re.I)
    assert not [link for link in links if re.match(r"(https?:)?//", link)]
    assert not re.search(r"<(link|img|iframe|object|embed)\b", page)
    assert '<meta http-equiv="refresh" content="120">' in page
    assert "default-src 'none'" in page  # the browser itself refuses anything from outside
    assert page.count("<script>") == 1 and "<style>" in page


def test_text_from_the_data_is_escaped(data):
    page = render_dashboard(data)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Revenue <b>" not in page and "Revenue &lt;b&gt;&amp;&lt;/b&gt; more" in page
    assert 'onmouseover="steal()' not in page and "&quot; onmouseover=&quot;steal()" in page
    dom = Dom(page)
    assert dom.find(data_testid="alert", data_kind="decline")["attrs"]["data-member"] == (
        'smb" onmouseover="steal()'
    )


def test_the_average_customer_value_comes_first_and_largest(data):
    page = render_dashboard(data)
    dom = Dom(page)
    order = [
        page.index(f'data-testid="{testid}"')
        for testid in ("acv", "alerts", "kpi-tiles", "chart-revenue-bridge")
    ]
    assert order == sorted(order)
    assert dom.value(data_testid="acv") == 2849.3
    assert dom.text(data_testid="acv-value") == "2,849 EUR"
    assert "hero-value" in page and not dom.find_all(data_testid="kpi-average_customer_value")
    assert dom.find(data_testid="acv-sparkline")["attrs"]["data-points"] == "365"
    assert dom.value(data_testid="acv-change-12m") == pytest.approx(2849.3 / 3200 - 1)
    assert "stopped growing" in dom.text(data_testid="acv-reason")


def test_each_tile_and_the_alerts_are_marked_with_their_status(data):
    dom = Dom(render_dashboard(data))
    hero = dom.find(data_testid="acv")["attrs"]
    assert (hero["data-status"], "status-flattening" in hero["class"]) == ("flattening", True)
    assert dom.text(data_testid="acv-status") == "flattening · escalated"
    churn = dom.find(data_testid="kpi-churn_rate")
    assert (
        churn["attrs"]["data-status"] == "decline" and "status-decline" in churn["attrs"]["class"]
    )
    # a churn rate going up is bad news, told in points
    [change] = dom.find_all(within=churn, class_="change bad")
    assert " ".join(change["text"].split()) == "▲ +0.3 pts"
    revenue = dom.find(data_testid="kpi-window_revenue")
    assert revenue["attrs"]["data-status"] == "ok" and "in alert: smb" in revenue["text"]
    [value] = dom.find_all(within=dom.find(data_testid="kpi-active_customers"), class_="tile-value")
    assert " ".join(value["text"].split()) == "1,375 customers"
    assert dom.value(data_testid="open-alerts") == 2
    assert [a["attrs"]["data-state"] for a in dom.find_all(data_testid="alert")] == [
        "escalated",
        "new",
    ]


def test_the_charts_carry_their_numbers(data):
    dom = Dom(render_dashboard(data))
    may = dom.find(data_testid="bridge-2026-05-01")
    assert may["attrs"]["data-complete"] == "true"
    parts = {
        e["attrs"]["data-component"]: float(e["attrs"]["data-value"])
        for e in may["descendants"]
        if e["attrs"].get("data-component")
    }
    assert parts["lost_revenue"] == 60828.94
    assert parts["net"] == pytest.approx(3440.25 + 82340.31 + 62507.34 - 47142.0 - 60828.94)
    assert dom.value(data_cohort="2026-05-01", data_month="1") == 0.36
    assert dom.value(data_testid="chart-feedback-nps-latest") == pytest.approx(30.0 - 59 * 0.2)
    # the conversion rate shown is the latest final one, not the pending last days
    assert dom.value(data_testid="chart-prospects-conversion-latest") == 26.2
    assert dom.value(data_testid="chart-stakeholders-enps-latest") == 24.4
    assert dom.text(data_testid="as-of") == "30 June 2026"


def month_under_way(data: dict) -> dict:
    """The page three days into July: its bridge, flow and cohorts end on a month not over, with
    the revenue and new customers of the first three days of each month before."""
    day = date(2026, 7, 3)
    july = {**data["bridge"][-1], "period_start": date(2026, 7, 1), "is_complete_period": False}
    july |= {"lost_revenue": 295544.87, "ending_revenue": 38944.99}
    flow = {"month_start": date(2026, 7, 1), "is_complete_month": False, "new_customers": 2}
    flow |= {"reactivated_customers": 1, "lapsed_customers": 5}
    may = {**data["pulse"][0], "survey_month": date(2026, 5, 1)}
    pulse = {"survey_month": date(2026, 7, 1), "responses": 9, "enps": -11.1}
    pulse |= {"response_rate": 0.08, "is_complete_month": False}
    return {
        **data,
        "pulse": [may, *data["pulse"], pulse],
        "as_of": day,
        "bridge": [*[{**r, "is_complete_period": True} for r in data["bridge"]], july],
        "customer_flow": [*data["customer_flow"], flow],
        "month_to_date": [
            {
                "month_start": date(2026, m, 1),
                "revenue": 10000.0 * m,
                "orders": 9,
                "new_customers": m,
            }
            for m in range(1, 8)
            if m != 7
        ]
        + [{"month_start": date(2026, 7, 1), "revenue": 38944.99, "new_customers": 2}],
    }


def test_a_month_not_over_is_shown_month_to_date_against_the_same_days_before(data):
    dom = Dom(render_dashboard(month_under_way(data)))
    # never as a whole month: no bar of the bridge or of the flow, no bare "Jul*"
    assert not dom.find_all(data_testid="bridge-2026-07-01")
    assert not dom.find_all(data_testid="flow-2026-07-01")
    assert dom.find_all(data_testid="bridge-2026-06-01") and "*" not in dom.text(
        data_testid="chart-revenue-bridge"
    )
    assert dom.text(data_testid="chart-revenue-bridge-latest") == "Jun 2026: 291,349 EUR"
    mtd = dom.find(data_testid="month-to-date")
    assert mtd["attrs"]["data-value"] == "38944.99"
    assert " ".join(mtd["text"].split()).startswith(
        "Jul 1–3 (month to date) 38,945 EUR of revenue, against 60,000 EUR on Jun 1–3 and "
        "35,000 EUR on average over the same days of the 6 months before (▲ +11.3 %)"
    )
    # its bar beside the same days of each month before, named so
    drawn = {
        e["attrs"]["data-period"]: float(e["descendants"][0]["attrs"]["data-value"])
        for e in dom.find_all(within=mtd)
        if e["tag"] == "g"
    }
    assert drawn == {f"2026-0{m}-01": 10000.0 * m for m in range(1, 7)} | {"2026-07-01": 38944.99}
    current = dom.find(data_testid="mtd-2026-07-01")
    assert "Jul 1–3: Revenue 38,945 EUR" in current["text"]
    assert "Jun 1–3: Revenue 60,000 EUR" in dom.text(data_testid="mtd-2026-06-01")
    flow = " ".join(dom.find(data_testid="customer-flow-month-to-date")["text"].split())
    assert flow.startswith("Jul 1–3 (month to date) 2 new, 1 reactivated and 5 lapsed")
    assert "days 1–3 of earlier months: 3.5 on average" in flow
    assert "dashed: Jul 1–3, month to date" in dom.text(data_testid="chart-cohorts")
    # the pulse survey under way: its answers so far drawn lighter, its response rate left
    # out, the latest values those of June's survey
    july = dom.find(data_testid="enps-2026-07-01")
    assert july["attrs"]["data-complete"] == "false"
    assert "Jul 2026 (survey under way, 9 answers so far)" in july["text"]
    assert dom.value(data_testid="chart-stakeholders-enps-latest") == 24.4
    assert dom.value(data_testid="chart-stakeholders-response-latest") == 0.732
    response = " ".join(dom.text(data_testid="chart-stakeholders-response").split())
    assert response.endswith("MayJun 1 June 2026: 73.2 %")


def test_a_month_that_has_ended_has_no_month_to_date(data):
    data["bridge"] = [{**r, "is_complete_period": True} for r in data["bridge"]]
    dom = Dom(render_dashboard(data))
    assert dom.find_all(data_testid="bridge-2026-06-01")
    assert not dom.find_all(data_testid="month-to-date")


LONG_REASON = (
    "Customers are leaving (−333,596 EUR, 212 customers) and those who stay buy less "
    "(−203,933 EUR). Most of it comes from the smb segment (−211 EUR of −292 EUR). Related "
    "signals since 16 June 2026: Active customers rose from 1,356 to 1,378 customers."
)


def test_a_reason_shows_its_first_sentence_and_the_full_text_one_click_away(data):
    data["alerts"][0]["reason"] = LONG_REASON
    dom = Dom(render_dashboard(data))
    first = LONG_REASON[: LONG_REASON.index(" Most")]
    hero = dom.find(data_testid="acv-reason")
    assert hero["tag"] == "details"
    [short] = dom.find_all(within=hero, class_="short")
    [full] = dom.find_all(within=hero, class_="full")
    assert (short["text"], full["text"]) == (first, LONG_REASON)
    # in the alerts, the same first sentence; the full text under the total, segment or region
    group = dom.find_all(data_testid="alert-group")[0]
    [short] = dom.find_all(within=group, class_="short")
    [member] = dom.find_all(within=group, data_testid="alert")
    [full] = dom.find_all(within=member, class_="full")
    assert (short["text"], full["text"]) == (first, LONG_REASON)
    assert member["descendants"][0]["tag"] == "details"
    # a reason of one sentence has nothing more to open
    data["alerts"][0]["reason"] = "Fell 3 %."  # the hero's alert too
    assert Dom(render_dashboard(data)).find(data_testid="acv-reason")["tag"] == "div"


def test_customers_leaving_head_the_page_before_the_average_customer_value_falls(data):
    acv = next(k for k in data["kpis"] if k["kpi_name"] == "average_customer_value")
    acv.update(status="ok", alert=None)
    data["alerts"] = [a for a in data["alerts"] if a["kpi_name"] != "average_customer_value"]
    leaving = (
        "Customers of the south region are leaving: they made 56 purchases in the last 15 days "
        "against 87 expected from their own rhythm (−35.7 %)."
    )
    data["alerts"] += [
        alert("existing_customer_basket", "Basket", "ongoing", reason="Stayers buy less. More."),
        alert(
            "existing_customer_purchases",
            "Purchases",
            "new",
            dimension="region",
            member="south",
            reason=f"{leaving} Related signals.",
        ),
        alert("existing_customer_purchases", "Purchases", "recovered", reason="Back. More."),
    ]
    dom = Dom(render_dashboard(data))
    hero = dom.find(data_testid="acv-reason")
    [short] = dom.find_all(within=hero, class_="short")
    [full] = dom.find_all(within=hero, class_="full")
    # the total first, then the region; a recovered alert is not news
    assert short["text"] == "Stayers buy less."
    assert full["text"] == (
        "Stayers buy less. Average customer value is not yet below its normal range: a customer "
        f"counts in it for a year after their last order. {leaving}"
    )
    # without them, the value in its normal range says only that
    data["alerts"] = data["alerts"][:-3]
    reason = Dom(render_dashboard(data)).text(data_testid="acv-reason")
    assert reason.startswith("Within its normal range")


def test_open_alerts_of_one_kpi_are_one_entry_and_closed_ones_are_folded(data):
    def member(name, state="new", segment="smb", kind="decline"):
        return alert(name, "Orders", state, kind=kind, dimension="segment", member=segment)

    data["alerts"] = [
        alert("orders", "Orders", "new", reason="Orders fell 5.0 %. More."),
        member("orders", segment="smb"),
        member("orders", segment="consumer"),
        member("orders", state="recovered", segment="enterprise"),
        alert("churn_rate", "Churn rate", "ongoing", kind="decline", unit="share"),
    ]
    data["alerts"][-1] |= {"baseline_value": 0.023, "current_value": 0.055}
    dom = Dom(render_dashboard(data))
    groups = dom.find_all(data_testid="alert-group")
    assert [g["attrs"]["data-kpi"] for g in groups] == ["orders", "churn_rate", "orders"]
    members = [
        a["attrs"]["data-member"] for a in dom.find_all(within=groups[0], data_testid="alert")
    ]
    assert members == ["all", "smb", "consumer"]
    [short] = dom.find_all(within=groups[0], class_="short")
    assert short["text"] == "Orders fell 5.0 %."
    # a churn rate rising 3.2 points is bad news
    [churn] = dom.find_all(within=groups[1], data_testid="alert")
    [change] = dom.find_all(within=churn, class_="change bad")
    assert " ".join(change["text"].split()) == "▲ +3.2 pts"
    closed = dom.find(data_testid="closed-alerts")
    assert closed["tag"] == "details" and "open" not in closed["attrs"]
    assert " ".join(closed["text"].split()).startswith("1 recovered or suppressed")
    assert groups[2] in closed["descendants"]
    assert dom.value(data_testid="open-alerts") == 4
    # the fewer the entries, the more lines of its reason each shows
    assert "lines-3" in dom.find(data_testid="open-alert-list")["attrs"]["class"]


def test_a_page_in_dollars_labels_every_amount_in_dollars_and_none_in_euros():
    page = render_dashboard(page_data("USD"))
    dom = Dom(page)
    assert dom.text(data_testid="currency") == "USD"
    assert dom.text(data_testid="acv-value") == "2,849 USD"
    [basket] = dom.find_all(within=dom.find(data_testid="acv-basket"), class_="factor-value")
    assert basket["text"] == "446 USD"
    [smb] = dom.find_all(within=dom.find(data_testid="acv-members"), data_member="smb")
    assert "3,685 USD" in smb["text"]
    assert dom.text(data_testid="chart-revenue-bridge-latest") == "May 2026: 291,349 USD"
    assert "May 2026: Lost (none this month) 60,829 USD" in dom.text(
        data_testid="bridge-2026-05-01"
    )
    assert dom.text(data_testid="month-to-date").startswith("Jun 1–30 (month to date) 291,349 USD")
    assert dom.text(data_testid="customers-predicted-clv").endswith("3.3M USD")
    [revenue] = dom.find_all(within=dom.find(data_testid="kpi-window_revenue"), class_="tile-value")
    assert " ".join(revenue["text"].split()) == "3,917,836 USD"
    assert "EUR" not in page
    # nor the catalogue's word for money in place of a currency
    assert not [e for e in dom.elements if "money" in e["text"]]
    assert dom.find(data_testid="kpi-window_revenue")["attrs"]["data-unit"] == "USD"


def test_an_empty_warehouse_gives_a_page_that_says_so():
    dom = Dom(render_dashboard({"generated_at": datetime(2026, 7, 1, tzinfo=UTC)}))
    assert dom.text(data_testid="as-of") == "no data"
    assert dom.value(data_testid="acv") is None
    assert dom.value(data_testid="open-alerts") == 0


def test_the_page_tells_its_time_in_the_reporting_time_zone():
    generated = datetime(2026, 7, 1, 6, 5, tzinfo=UTC)
    paris = Dom(render_dashboard({"generated_at": generated, "timezone": "Europe/Paris"}))
    assert paris.text(data_testid="generated-at").startswith("1 July 2026, 08:05 CEST")
    utc = Dom(render_dashboard({"generated_at": generated}))
    assert utc.text(data_testid="generated-at").startswith("1 July 2026, 06:05 UTC")


def test_publishing_replaces_the_page_whole_and_leaves_no_draft(tmp_path):
    target = tmp_path / "dashboard" / "index.html"
    assert publish_page("<p>first</p>", target) == len("<p>first</p>")
    publish_page("<p>second</p>", target)
    assert target.read_text() == "<p>second</p>"
    assert [p.name for p in target.parent.iterdir()] == ["index.html"]
    assert target.stat().st_mode & 0o777 == 0o644


# --------------------------------------------------------------------------------------------
# The demo company's page in a real browser
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The daily job on a small demo company; it writes the page as its last asset."""
    root = tmp_path_factory.mktemp("dashboard")
    env = {
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "SERVING_PATH": str(root / "serving.duckdb"),
        "DASHBOARD_PATH": str(root / "dashboard" / "index.html"),
        "DEMO_PATH": str(root / "demo"),
        "AS_OF": DEMO_DAY.isoformat(),
        "DEMO_SEED": "42",
        "DEMO_SCALE": "0.3",
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
    step = CEO_DASHBOARD.to_python_identifier()
    failure = result.failure_data_for_node(step) if result.is_node_failed(step) else None
    assert result.is_node_success(step), failure.error.to_string() if failure else "not run"
    [page] = result.asset_materializations_for_node(step)
    return root, page.metadata


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", header[16:24])


def rows(root: Path, sql: str, params=()) -> list[tuple]:
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


@pytest.mark.e2e
def test_the_asset_writes_the_page_where_the_settings_say(demo):
    root, metadata = demo
    path = Path(metadata["path"].value)
    assert path == root / "dashboard" / "index.html" and path.exists()
    assert metadata["size_bytes"].value == path.stat().st_size > 50_000
    assert metadata["build_seconds"].value < 30
    # the demo company reports in euros, as the warehouse records it
    assert metadata["reporting_currency"].value == "EUR"


@pytest.mark.e2e
def test_empty_marts_give_a_page_that_says_so_rather_than_an_error(demo):
    root, _ = demo
    empty = duckdb.connect(":memory:")
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'monitoring', 'reference')"
        ).fetchall()
        for schema, table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            empty.execute(f"create schema if not exists {schema}")
            empty.execute(
                f"create table {schema}.{table} ("
                + ", ".join(f'"{name}" {type_}' for name, type_ in columns)
                + ")"
            )
        catalogue = con.execute("select * from reference.kpi_catalogue").fetchall()
    # The sources are off: the catalogue is there, every mart is empty.
    empty.executemany(
        f"insert into reference.kpi_catalogue values ({', '.join('?' * len(catalogue[0]))})",
        catalogue,
    )
    dom = Dom(render_dashboard(load_dashboard_data(empty)))
    assert dom.text(data_testid="as-of") == "no data"
    tiles = [e for e in dom.elements if e["tag"] == "article"]
    assert len(tiles) > 20 and {t["attrs"]["data-status"] for t in tiles} == {"no data"}
    assert "No data yet." in dom.text(data_testid="chart-revenue-bridge")


@pytest.mark.e2e
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} to render the page")
def test_the_browser_shows_the_numbers_of_the_marts(demo, tmp_path, request):
    root, metadata = demo
    url = Path(metadata["path"].value).as_uri()
    # --dump-dom prints the document once it has loaded and its script has run.
    dom = Dom(chromium("--dump-dom", url, profile=tmp_path / "profile").stdout)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshots = {
        ARTIFACTS / "dashboard.png": (1600, 1000),  # a wall screen: what is seen at a glance
        ARTIFACTS / "dashboard-full.png": (1600, 4400),  # the whole page
    }
    for path, (width, height) in screenshots.items():
        path.unlink(missing_ok=True)
        chromium(
            f"--screenshot={path}",
            f"--window-size={width},{height}",
            url,
            profile=tmp_path / "profile",
        )
    print_lines(
        request.config,
        "CEO dashboard",
        [f"built in {metadata['build_seconds'].value:.2f} s; screenshots:", *map(str, screenshots)],
    )

    # The script ran in the browser.
    assert dom.text(data_testid="page-age").startswith("(")
    as_of = rows(root, "select max(kpi_date) from marts.fct_kpi_daily")[0][0]
    assert dom.find(data_testid="as-of")["attrs"]["data-value"] == as_of.isoformat() == "2026-07-03"

    # Every KPI of the catalogue, with its own latest value and the status of its alerts; the
    # existing customers' purchases and basket made over expected in the week to their last day.
    latest = rows(
        root,
        """
        with week as (
            select kpi_name, max(kpi_date) as last_day from marts.fct_kpi_daily
            where kpi_name in ('existing_customer_purchases', 'existing_customer_basket')
            group by kpi_name
        )
        select k.kpi_name, k.unit, v.value
        from reference.kpi_catalogue as k
        join marts.fct_kpi_daily as v on v.kpi_name = k.kpi_name
        where k.enabled and v.dimension = 'total' and v.value is not null
            and k.kpi_name not in (select kpi_name from week)
        qualify row_number() over (partition by k.kpi_name order by v.kpi_date desc) = 1
        union all
        select v.kpi_name, any_value(k.unit), sum(v.value * v.sample_size) / sum(v.sample_size)
        from week
        join marts.fct_kpi_daily as v on v.kpi_name = week.kpi_name
            and v.kpi_date between week.last_day - 6 and week.last_day
        join reference.kpi_catalogue as k on k.kpi_name = v.kpi_name
        where v.dimension = 'total'
        group by v.kpi_name
        """,
    )
    assert {"existing_customer_purchases", "existing_customer_basket"} <= {n for n, *_ in latest}
    alerts = rows(
        root,
        "select kpi_name, dimension, kind, state from monitoring.kpi_alerts "
        "where evaluated_on = (select max(evaluated_on) from monitoring.kpi_alerts)",
    )
    in_alert = {
        (k, kind) for k, dim, kind, state in alerts if dim == "total" and state in OPEN_STATES
    }
    # The money KPIs read in the currency the warehouse was built in: euros for the demo.
    ((currency,),) = rows(root, "select reporting_currency from reference.run_settings")
    assert currency == "EUR"
    assert len(latest) > 20
    for name, unit, value in latest:
        testid = "acv" if name == "average_customer_value" else f"kpi-{name}"
        assert dom.value(data_testid=testid) == pytest.approx(value), name
        element = dom.find(data_testid=testid)
        [shown] = dom.find_all(
            within=element, class_="hero-value" if testid == "acv" else "tile-value"
        )
        assert " ".join(shown["text"].split()) == format_value(value, unit_shown(unit, currency)), (
            name
        )
        status = element["attrs"]["data-status"]
        kinds = {kind for k, kind in in_alert if k == name}
        assert status in (kinds or {"ok", "not watched", "not scored", "suppressed"}), (
            name,
            status,
        )

    # The ACV is the hero, with its factors from the customer value mart.
    acv, frequency, basket, active = rows(
        root,
        "select average_customer_value, orders_per_active_customer, average_order_value, "
        "active_customers from marts.fct_customer_value_daily "
        "where dimension = 'total' and value_date = ?",
        [as_of],
    )[0]
    assert dom.value(data_testid="acv") == pytest.approx(acv)
    assert dom.value(data_testid="acv-frequency") == pytest.approx(frequency)
    assert dom.value(data_testid="acv-basket") == pytest.approx(basket)
    assert dom.value(data_testid="acv-active-customers") == active

    # The alerts of the latest evaluation, the ones to act on first.
    shown = dom.find_all(data_testid="alert")
    assert len(shown) == len(alerts)
    ranks = [STATE_RANK[a["attrs"]["data-state"]] for a in shown]
    assert ranks == sorted(ranks)
    assert dom.value(data_testid="open-alerts") == sum(a[3] in OPEN_STATES for a in alerts)

    # The revenue bridge, bar by bar, for the months that have ended.
    bridge = rows(
        root,
        "select period_start, is_complete_period, ending_revenue, new_revenue, "
        "reactivated_revenue, expansion_revenue, contraction_revenue, lost_revenue "
        "from marts.fct_revenue_bridge where period_grain = 'month' and dimension = 'total' "
        "order by period_start desc limit 12",
    )
    assert len(bridge) == 12
    (july, complete, revenue, *_), *ended = bridge
    # July is under way: its first three days, against the first three days of each month
    assert (july, complete) == (date(2026, 7, 1), False)
    assert not dom.find_all(data_testid=f"bridge-{july}")
    mtd = dom.find(data_testid="month-to-date")
    assert mtd["attrs"]["data-value"] == str(float(revenue))
    assert " ".join(mtd["text"].split()).startswith("Jul 1–3 (month to date)")
    june_first_days = rows(
        root,
        "select sum(net_revenue) from marts.fct_orders where not is_cancelled "
        "and order_date between '2026-06-01' and '2026-06-03'",
    )[0][0]
    [june] = [
        e for e in dom.find(data_testid="mtd-2026-06-01")["descendants"] if e["tag"] == "rect"
    ]
    assert float(june["attrs"]["data-value"]) == pytest.approx(float(june_first_days))
    names = ("new_revenue", "reactivated_revenue", "expansion_revenue")
    names += ("contraction_revenue", "lost_revenue")
    for month, complete, _ending, *amounts in ended:
        assert complete
        group = dom.find(data_testid=f"bridge-{month}")
        drawn = {
            e["attrs"]["data-component"]: float(e["attrs"]["data-value"])
            for e in group["descendants"]
            if e["tag"] == "rect"
        }
        for name, amount in zip(names, amounts, strict=True):
            assert drawn.get(name, 0.0) == pytest.approx(float(amount)), (month, name)

    # The cohort heat-map, cell by cell.
    cells = rows(
        root,
        "select cohort_month, months_since_first, customer_retention_rate "
        "from marts.fct_cohort_retention where cohort_month >= "
        "(select max(cohort_month) from marts.fct_cohort_retention) - interval 11 month "
        "and months_since_first <= 12",
    )
    assert len(cells) > 50
    for cohort, month, rate in cells:
        assert dom.value(data_cohort=cohort.isoformat(), data_month=str(month)) == pytest.approx(
            rate
        )

    # Feedback, prospects and stakeholders: the latest value of each chart.
    nps, csat, rating = rows(
        root,
        "select nps_90d, csat_30d, review_rating_30d from marts.fct_feedback_daily "
        "where dimension = 'total' order by feedback_date desc limit 1",
    )[0]
    assert dom.value(data_testid="chart-feedback-nps-latest") == pytest.approx(nps)
    assert dom.value(data_testid="chart-feedback-csat-latest") == pytest.approx(csat)
    assert dom.value(data_testid="chart-feedback-reviews-latest") == pytest.approx(rating)
    leads, lag = rows(
        root,
        "select leads_created_30d, median_days_to_first_order_90d from marts.fct_prospects_daily "
        "where dimension = 'total' order by prospect_date desc limit 1",
    )[0]
    assert dom.value(data_testid="chart-prospects-leads-latest") == leads
    assert dom.value(data_testid="chart-prospects-lag-latest") == pytest.approx(lag)
    enps = rows(
        root,
        "select enps from marts.fct_employee_pulse_monthly where department = 'all' "
        "and is_complete_month order by survey_month desc limit 1",
    )[0][0]
    assert dom.value(data_testid="chart-stakeholders-enps-latest") == pytest.approx(enps)

    # What the wall screen shows at a glance was drawn.
    for path, size in screenshots.items():
        assert png_size(path) == size
        assert path.stat().st_size > 50_000, path  # a blank page compresses to a few kB


# --------------------------------------------------------------------------------------------
# The page on a wall screen, a desktop and a phone: where each element lands
# --------------------------------------------------------------------------------------------

# The screens the page is read on: a wall (every open alert at a glance), a desktop, a phone.
SCREENS = {"wall": (1920, 1080), "desktop": (1400, 900), "phone": (390, 844)}

# Run in the page: the boxes that matter, in CSS pixels of the viewport.
MEASURE = """(function () {
  function name(e) {
    var id = e.getAttribute("data-testid"), cls = e.getAttribute("class");
    return e.tagName.toLowerCase() + (id ? "[" + id + "]" : "") + (cls ? "." + cls : "");
  }
  function clipper(e) {
    for (var a = e.parentElement; a; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") { return a; }
    }
    return null;
  }
  function hidden(e) { return e.closest("details:not([open]) > :not(summary)") !== null; }
  var width = window.innerWidth, overflow = [], cut = [];
  document.body.querySelectorAll("*").forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (!r.width || !r.height || hidden(e)) { return; }
    var c = clipper(e);
    if (c === null && (r.right > width + 0.5 || r.left < -0.5)) { overflow.push(name(e)); }
    if (e.classList.contains("badge")) {
      [c, e.closest(".tile, .panel")].forEach(function (box) {
        if (!box) { return; }
        var b = box.getBoundingClientRect();
        if (r.left < b.left - 0.5 || r.right > b.right + 0.5) {
          cut.push(name(e) + " in " + name(box));
        }
      });
    }
  });
  var axes = {}, bars = [];
  document.querySelectorAll("svg text.axis").forEach(function (t) {
    if (!t.getBoundingClientRect().width) { return; }
    var svg = t.ownerSVGElement;
    var size = parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a;
    axes[svg.closest("[data-testid]").getAttribute("data-testid")] = size;
  });
  document.querySelectorAll("svg.bars rect").forEach(function (rect) {
    var r = rect.getBoundingClientRect(), s = rect.ownerSVGElement.getBoundingClientRect();
    if (r.top < s.top - 0.5 || r.bottom > s.bottom + 0.5 || r.right > s.right + 0.5) {
      bars.push(rect.closest("g").getAttribute("data-testid"));
    }
  });
  var alerts = [];
  document.querySelectorAll("[data-testid=alert]").forEach(function (a) {
    if (a.closest("details:not([open])")) { return; }
    var r = a.getBoundingClientRect();
    alerts.push({id: a.getAttribute("data-alert-id"), top: r.top, bottom: r.bottom});
  });
  var scrolled = [];
  document.querySelectorAll("table.members").forEach(function (t) {
    var box = t.parentElement;
    if (box.scrollWidth > box.clientWidth + 0.5) { scrolled.push(t.getAttribute("data-testid")); }
  });
  var lines = [], headline = null;
  document.querySelectorAll(".short").forEach(function (s) {
    var r = s.getBoundingClientRect();
    if (!r.height) { return; }
    var measure = {lines: r.height / parseFloat(getComputedStyle(s).lineHeight),
                   clipped: s.scrollHeight > s.clientHeight + 1};
    if (s.closest("[data-testid=acv-reason]")) { headline = measure; }
    else { lines.push(measure.lines); }
  });
  return {
    width: width, height: window.innerHeight, scrollWidth: document.documentElement.scrollWidth,
    pageHeight: document.documentElement.scrollHeight, overflow: overflow, cut: cut,
    axes: axes, bars: bars, alerts: alerts, lines: lines, headline: headline,
    scrolled: scrolled
  };
})()"""


class Browser:
    """Headless Chromium driven over its DevTools pipe (fd 3 in, fd 4 out): a page opened at an
    exact viewport, a script run in it, its screenshot."""

    def __init__(self, profile: Path) -> None:
        commands_in, commands = os.pipe()
        events, events_out = os.pipe()
        # the browser reads its commands on fd 3 and writes its answers on fd 4
        self.process = subprocess.Popen(
            [
                "bash",
                "-c",
                f'exec "$0" "$@" 3<&{commands_in} 4>&{events_out}',
                str(CHROMIUM),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(commands_in, events_out),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_in)
        os.close(events_out)
        self._commands, self._events = commands, events
        self._buffer, self._next_id, self._pending = b"", 0, []

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *_exc) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self._commands)
        os.close(self._events)

    def _receive(self) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._events], [], [], 60)
            chunk = os.read(self._events, 1 << 16) if ready else b""
            if not chunk:
                raise RuntimeError("Chromium stopped answering")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._receive()
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]
            self._pending.append(answer)

    def _event(self, method: str) -> dict:
        for i, event in enumerate(self._pending):
            if event.get("method") == method:
                return self._pending.pop(i)
        while (event := self._receive()).get("method") != method:
            self._pending.append(event)
        return event

    def open(self, url: str, width: int, height: int) -> str:
        target = self.send("Target.createTarget", url="about:blank")["targetId"]
        session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.send(
            "Emulation.setDeviceMetricsOverride",
            session,
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.send("Page.enable", session)
        self.send("Page.navigate", session, url=url)
        self._event("Page.loadEventFired")
        return session

    def evaluate(self, session: str, expression: str):
        answer = self.send("Runtime.evaluate", session, expression=expression, returnByValue=True)
        assert "exceptionDetails" not in answer, answer["exceptionDetails"]
        return answer["result"]["value"]

    def screenshot(self, session: str, path: Path, height: int | None = None) -> Path:
        """The viewport, or the first ``height`` pixels of the page."""
        params: dict = {"format": "png"}
        if height:
            width = self.evaluate(session, "window.innerWidth")
            params |= {
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            }
        path.write_bytes(
            base64.b64decode(self.send("Page.captureScreenshot", session, **params)["data"])
        )
        return path


def keep_screenshots(paths: list[Path]) -> None:
    """Screenshots are kept under the test's directory, and copied where DASHBOARD_SCREENSHOTS
    says when it is set (CI keeps them as artifacts)."""
    if target := os.environ.get("DASHBOARD_SCREENSHOTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.copy2(path, Path(target) / path.name)


def measure_on_every_screen(page: Path, shots: Path, name: str) -> dict[str, dict]:
    """The page on each screen: its measures, and a screenshot of the screen and of the whole
    page (written under ``shots``)."""
    shots.mkdir(parents=True, exist_ok=True)
    measured, kept = {}, []
    with Browser(shots / "profile") as browser:
        for screen, (width, height) in SCREENS.items():
            session = browser.open(page.as_uri(), width, height)
            measured[screen] = browser.evaluate(session, MEASURE)
            kept.append(browser.screenshot(session, shots / f"{name}-{screen}.png"))
            whole = min(measured[screen]["pageHeight"], 16_000)
            kept.append(browser.screenshot(session, shots / f"{name}-{screen}-full.png", whole))
    keep_screenshots(kept)
    for path in kept:
        assert path.stat().st_size > 20_000, path  # a blank page compresses to a few kB
    return measured


def assert_reads_cleanly(measured: dict[str, dict]) -> None:
    for screen, m in measured.items():
        assert (m["width"], m["height"]) == SCREENS[screen]
        # nothing wider than the screen: a table too wide scrolls inside its own box
        assert m["scrollWidth"] <= m["width"] and not m["overflow"], (screen, m["overflow"])
        # ... but the ACV by segment and region fits whole, its last column too
        assert not m["scrolled"], (screen, m["scrolled"])
        # no status badge cut by its box, nor spilling over its tile
        assert not m["cut"], (screen, m["cut"])
        assert not m["bars"], (screen, m["bars"])  # no bar past its chart's edge
        sizes = m["axes"].values()
        assert len(sizes) > 5 and max(sizes) - min(sizes) < 0.5, (screen, m["axes"])
        assert min(sizes) >= 10, (screen, m["axes"])
        # a reason shows three lines at most (or none, a line per alert, when many share it)
        assert max(m["lines"], default=0) < 3.1, (screen, m["lines"])
        # the headline's answer is read whole: five lines at most on a phone, three elsewhere
        assert m["headline"] and not m["headline"]["clipped"], (screen, m["headline"])
        assert m["headline"]["lines"] < (5.1 if screen == "phone" else 3.1), (screen, m)
    # on the wall, every open alert is seen without scrolling
    wall = measured["wall"]
    assert max((a["bottom"] for a in wall["alerts"]), default=0) <= SCREENS["wall"][1], [
        a for a in wall["alerts"] if a["bottom"] > SCREENS["wall"][1]
    ]


def many_alerts(data: dict, more_kpis: int = 0) -> dict:
    """A bad day: sixteen open alerts over nine KPIs, in the total, segments and regions, each
    with a long reason, and two recovered; ``more_kpis`` more KPIs in alert in one segment."""
    kpis = [
        ("average_customer_value", "Average customer value", ["all", "smb", "consumer"]),
        ("average_order_value", "Average order value", ["all", "smb"]),
        ("churn_rate", "Churn rate (30 days)", ["all"]),
        ("gross_revenue_retention", "Gross revenue retention (12 months)", ["all"]),
        ("lapsed_customers_30d", "Lapsed customers (30 days)", ["all"]),
        ("net_revenue_retention", "Net revenue retention (12 months)", ["all"]),
        ("nps_detractor_share", "NPS detractors", ["all"]),
        ("orders_per_active_customer", "Orders per active customer", ["all", "smb", "consumer"]),
        ("window_revenue", "Revenue of the active window", ["all", "smb", "south"]),
    ]
    alerts = [
        alert(
            name,
            label,
            "new",
            dimension="total" if member == "all" else "region" if member == "south" else "segment",
            member=member,
            reason=f"{label} fell 9.1 % since 16 June 2026 (from 3,217 EUR to 2,923 EUR). "
            + LONG_REASON,
        )
        for name, label, members in kpis
        for member in members
    ]
    alerts += [
        alert(
            f"kpi_{i}",
            f"A long KPI label, number {i} (30 days)",
            "new",
            "decline",
            "segment",
            "smb",
        )
        for i in range(more_kpis)
    ]
    alerts += [alert("csat", "CSAT after support", "recovered", reason=LONG_REASON)] * 2
    assert sum(a["state"] == "new" for a in alerts) == 16 + more_kpis
    return {**month_under_way(data), "alerts": alerts, "alerts_evaluated_on": DAY}


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} to render the page")
# 8 more: 17 KPIs in alert, a line each; 30 more: 39 KPIs, more than the catalogue holds.
@pytest.mark.parametrize(
    ("more_kpis", "name"), [(0, "bad-day"), (8, "worse-day"), (30, "worst-day")]
)
def test_a_bad_day_reads_on_a_wall_screen_a_desktop_and_a_phone(data, tmp_path, more_kpis, name):
    page = tmp_path / "index.html"
    publish_page(render_dashboard(many_alerts(data, more_kpis)), page)
    measured = measure_on_every_screen(page, tmp_path / "screenshots", name)
    assert_reads_cleanly(measured)
    assert len(measured["wall"]["alerts"]) == 16 + more_kpis


@pytest.mark.e2e
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} to render the page")
def test_the_demo_page_reads_on_a_wall_screen_a_desktop_and_a_phone(demo, tmp_path):
    root, metadata = demo
    measured = measure_on_every_screen(Path(metadata["path"].value), tmp_path, "demo")
    assert_reads_cleanly(measured)
    open_alerts = rows(
        root,
        "select count(*) from monitoring.kpi_alerts where state in ('new', 'ongoing', "
        "'escalated') and evaluated_on = (select max(evaluated_on) from monitoring.kpi_alerts)",
    )[0][0]
    assert len(measured["wall"]["alerts"]) == open_alerts


def test_a_section_says_which_of_its_sources_are_off():
    page = render_dashboard(
        {"sources_off": {"crm": "CRM_API_URL=off", "web": "WEB_EVENTS_PATH unset"}}
    )
    notes = {
        testid: page.split(f'data-testid="off-{testid}">')[1].split("</p>")[0]
        for testid in ("feedback", "prospects")
    }
    assert notes == {
        "feedback": "CRM (CRM_API_URL=off) is off: the panels built on it stay empty.",
        "prospects": "CRM (CRM_API_URL=off) and WEB (WEB_EVENTS_PATH unset) are off: the panels "
        "built on them stay empty.",
    }
    assert 'data-testid="off-stakeholders"' not in page
    assert 'data-testid="off-' not in render_dashboard({})


def test_a_tile_the_monitor_could_not_score_says_so_and_why():
    con = duckdb.connect()
    con.execute(
        """create schema reference; create schema marts; create schema monitoring;
        create table reference.kpi_catalogue as select * from (values
            ('churn_rate', 'Churn rate', 'share', 'lower_is_better', 'total', 'Lapses.', true),
            ('nps', 'NPS', 'points', 'higher_is_better', 'total', 'Scores.', true)
        ) as t(kpi_name, label, unit, direction, alert_level, description, enabled);
        create table marts.fct_kpi_daily as select * from (values
            (date '2026-06-30', 'churn_rate', 'total', 'all', 0.02, 400),
            (date '2026-06-30', 'nps', 'total', 'all', 31.0, 90)
        ) as t(kpi_date, kpi_name, dimension, dimension_value, value, sample_size);
        create table monitoring.kpi_status as select * from (values
            (date '2026-06-30', 'churn_rate', 'insufficient_history', '160 days of history.'),
            (date '2026-06-30', 'nps', 'ok', 'CUSUM 0.0 <= h=4.5.')
        ) as t(evaluated_on, kpi_name, status, detail)"""
    )
    kpis = {k["kpi_name"]: k for k in _kpis(con, date(2026, 1, 1), [], "EUR")}
    assert kpis["churn_rate"]["status"] == "not scored"
    assert kpis["churn_rate"]["status_detail"] == "not scored: 160 days of history."
    assert kpis["nps"]["status"] == "ok"
    dom = Dom(render_dashboard({"kpis": list(kpis.values())}))
    tile = dom.find(data_testid="kpi-churn_rate")
    assert tile["attrs"]["data-status"] == "not scored"
    assert tile["attrs"]["title"] == "Lapses. (not scored: 160 days of history.)"


def test_a_change_shown_as_zero_is_drawn_flat():
    from orchestration.lib.dashboard import text

    tiny = text.changed(2849.3, 2850.0, "EUR")  # -0.02 %, shown 0.0 %
    assert (tiny["tone"], tiny["arrow"]) == (text.tone(0.0, ""), text.arrow(0.0))
    fall = text.changed(2700.0, 2850.0, "EUR")
    assert fall["tone"] == "bad"
