"""Why the average customer value moved: frequency vs basket, segments, and the sentences."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from orchestration.lib.explain import (
    AcvSplit,
    Contribution,
    RelatedSignal,
    RevenueBridge,
    Snapshot,
    decompose_acv,
    format_value,
    render_reason,
    segment_contributions,
    unit_shown,
)
from orchestration.lib.trend import Finding

MINUS = "\u2212"


# --- frequency x basket ------------------------------------------------------------------


def test_a_smaller_basket_at_the_same_frequency_is_all_basket_effect():
    # ACV 100/5 = 20 -> 90/5 = 18; frequency 10/5 = 2 -> 2; basket 100/10 = 10 -> 9
    split = decompose_acv(Snapshot(100, 10, 5), Snapshot(90, 10, 5))
    assert (split.acv_before, split.acv_after) == (20, 18)
    assert split.basket_share == pytest.approx(1.0)
    assert split.frequency_share == pytest.approx(0.0)
    assert split.acv_change_pct == pytest.approx(-10.0)
    assert split.basket_change_pct == pytest.approx(-10.0)
    assert split.frequency_change_pct == pytest.approx(0.0)


def test_fewer_orders_at_the_same_basket_is_all_frequency_effect():
    # frequency 10/5 = 2 -> 9/5 = 1.8; basket 10 -> 10
    split = decompose_acv(Snapshot(100, 10, 5), Snapshot(90, 9, 5))
    assert split.frequency_share == pytest.approx(1.0)
    assert split.basket_share == pytest.approx(0.0)


def test_equal_falls_of_both_factors_share_the_move_half_and_half():
    # frequency 2 -> 1.8 (x0.9), basket 10 -> 9 (x0.9), ACV 20 -> 16.2 (x0.81)
    # ln 0.9 / ln 0.81 = 1/2 each
    split = decompose_acv(Snapshot(100, 10, 5), Snapshot(81, 9, 5))
    assert split.frequency_share == pytest.approx(0.5)
    assert split.basket_share == pytest.approx(0.5)
    assert split.acv_change_pct == pytest.approx(-19.0)


def test_log_shares_always_add_up_to_one():
    rng = np.random.default_rng(3)
    for _ in range(200):
        before = Snapshot(*rng.uniform(1, 1000, 3))
        after = Snapshot(*rng.uniform(1, 1000, 3))
        split = decompose_acv(before, after)
        assert split.frequency_share + split.basket_share == pytest.approx(1.0)


def test_zeros_and_an_unchanged_value_leave_the_shares_undefined():
    no_customers = decompose_acv(Snapshot(0, 0, 0), Snapshot(90, 10, 5))
    assert no_customers.acv_before is None
    assert no_customers.basket_share is None
    assert no_customers.acv_change_pct is None
    no_orders = decompose_acv(Snapshot(0, 0, 5), Snapshot(90, 10, 5))
    assert no_orders.basket_before is None
    assert no_orders.basket_share is None
    # ACV unchanged at 20 while frequency doubled and basket halved: nothing to split.
    unchanged = decompose_acv(Snapshot(100, 10, 5), Snapshot(100, 20, 5))
    assert unchanged.acv_change_pct == 0.0
    assert unchanged.frequency_share is None
    assert unchanged.frequency_change_pct == pytest.approx(100.0)


# --- segments ------------------------------------------------------------------------------


def test_a_segment_whose_customers_are_worth_less_carries_the_whole_change():
    # before: a 100/10 customers (ACV 10), b 300/10 (30); total 400/20 = 20
    # after:  a 100/10 (10),               b 200/10 (20); total 300/20 = 15; change -5
    # weights stay 0.5, so b: within 0.5 * (20 - 30) = -5, mix 0; a: 0
    before = {"a": Snapshot(100, 20, 10), "b": Snapshot(300, 20, 10)}
    after = {"a": Snapshot(100, 20, 10), "b": Snapshot(200, 20, 10)}
    contributions = segment_contributions(before, after)
    assert contributions == [Contribution("b", -5.0, 0.0, -5.0), Contribution("a", 0.0, 0.0, 0.0)]


def test_more_customers_in_a_low_value_segment_is_a_mix_effect():
    # before: a 10 customers at 10, b 10 at 30: ACV 20
    # after:  a 30 customers at 10, b 10 at 30: ACV 600/40 = 15; change -5; average ACV 17.5
    # a: mix (10 - 17.5) * (0.75 - 0.5) = -1.875; b: mix (30 - 17.5) * (0.25 - 0.5) = -3.125
    before = {"a": Snapshot(100, 10, 10), "b": Snapshot(300, 10, 10)}
    after = {"a": Snapshot(300, 30, 30), "b": Snapshot(300, 10, 10)}
    by_member = {c.member: c for c in segment_contributions(before, after)}
    assert by_member["a"].within == 0.0
    assert by_member["a"].mix == pytest.approx(-1.875)
    assert by_member["b"].mix == pytest.approx(-3.125)
    assert [c.member for c in segment_contributions(before, after)] == ["b", "a"]


def test_segment_contributions_sum_exactly_to_the_change_of_acv():
    rng = np.random.default_rng(5)
    for _ in range(200):
        names = [f"s{i}" for i in range(6)]
        before = {n: Snapshot(*rng.uniform(0, 1000, 3)) for n in names if rng.random() > 0.2}
        after = {n: Snapshot(*rng.uniform(0, 1000, 3)) for n in names if rng.random() > 0.2}
        contributions = segment_contributions(before, after)
        if not contributions:
            continue
        acv0 = sum(s.revenue for s in before.values()) / sum(
            s.active_customers for s in before.values()
        )
        acv1 = sum(s.revenue for s in after.values()) / sum(
            s.active_customers for s in after.values()
        )
        total = math.fsum(c.total for c in contributions)
        assert total == pytest.approx(acv1 - acv0, rel=1e-12, abs=1e-12)
        assert all(c.total == pytest.approx(c.within + c.mix) for c in contributions)
        assert [c.total for c in contributions] == sorted(c.total for c in contributions)


def test_a_segment_on_one_side_only_is_a_pure_mix_effect():
    # "new" appears with 10 customers at ACV 50; total 200/10 = 20 -> 700/20 = 35
    before = {"old": Snapshot(200, 10, 10)}
    after = {"old": Snapshot(200, 10, 10), "new": Snapshot(500, 10, 10)}
    by_member = {c.member: c for c in segment_contributions(before, after)}
    assert by_member["new"].within == 0.0
    assert math.fsum(c.total for c in by_member.values()) == pytest.approx(15.0)


def test_no_customers_on_a_side_gives_no_contributions():
    assert segment_contributions({}, {"a": Snapshot(1, 1, 1)}) == []
    assert segment_contributions({"a": Snapshot(0, 0, 0)}, {"a": Snapshot(1, 1, 1)}) == []


# --- sentences -----------------------------------------------------------------------------


DECLINE = Finding(
    "decline",
    since=date(2026, 3, 3),
    baseline_value=1204.0,
    current_value=1146.0,
    relative_change=1146.0 / 1204.0 - 1.0,
)


def _split(frequency_share: float, frequency_pct: float, basket_pct: float) -> AcvSplit:
    return AcvSplit(
        acv_before=1204.0,
        acv_after=1146.0,
        frequency_before=2.0,
        frequency_after=2.0 * (1 + frequency_pct / 100),
        basket_before=602.0,
        basket_after=602.0 * (1 + basket_pct / 100),
        acv_change_pct=-4.8,
        frequency_change_pct=frequency_pct,
        basket_change_pct=basket_pct,
        frequency_share=frequency_share,
        basket_share=1.0 - frequency_share,
    )


SEGMENTS = [
    Contribution("smb", within=-49.0, mix=-2.0, total=-51.0),
    Contribution("mid_market", within=-9.0, mix=0.0, total=-9.0),
    Contribution("enterprise", within=1.0, mix=1.0, total=2.0),
]


def test_a_basket_driven_fall_reads_with_its_numbers():
    text = render_reason(
        "Average customer value",
        DECLINE,
        split=_split(frequency_share=0.08, frequency_pct=-0.4, basket_pct=-4.4),
        contributions=SEGMENTS,
        unit="EUR",
    )
    assert text == (
        "Average customer value is 4.8 % below its baseline, falling since 3 March 2026 "
        "(baseline 1,204 EUR, 7-day average 1,146 EUR). "
        "Customers buy as often as before but spend less per order: the basket effect explains "
        "92 % of the fall. Most of it comes from the smb segment "
        f"({MINUS}51 EUR of {MINUS}58 EUR), where customers are worth less than before."
    )


def test_a_frequency_driven_fall_says_customers_buy_less_often():
    text = render_reason(
        "Average customer value",
        DECLINE,
        split=_split(frequency_share=0.97, frequency_pct=-4.7, basket_pct=-0.1),
        contributions=SEGMENTS,
        dimension_name="region",
        unit="EUR",
    )
    assert "spend as much per order as before but buy less often" in text
    assert "frequency effect explains 97 % of the fall" in text
    assert "the smb region" in text


def test_factors_moving_both_ways_name_the_driver_and_the_offset():
    text = render_reason(
        "Average customer value",
        DECLINE,
        split=_split(frequency_share=-0.3, frequency_pct=1.5, basket_pct=-6.2),
        unit="EUR",
    )
    assert (
        f"The fall comes from smaller baskets ({MINUS}6.2 % per order), partly offset by more "
        "frequent orders (+1.5 % orders per customer)." in text
    )


def test_both_factors_falling_are_both_quoted():
    text = render_reason(
        "Average customer value",
        DECLINE,
        split=_split(frequency_share=0.4, frequency_pct=-1.9, basket_pct=-2.9),
        unit="EUR",
    )
    assert f"buy less often ({MINUS}1.9 % orders per customer)" in text
    assert f"spend less per order ({MINUS}2.9 % per order)" in text
    assert "the basket effect explains 60 % of the fall" in text


def test_a_flattening_quotes_the_slope_against_the_expected_growth():
    stall = Finding(
        "flattening",
        since=date(2026, 1, 5),
        baseline_value=1100.0,
        current_value=1180.0,
        relative_change=80 / 1100,
        weekly_slope=0.001,
    )
    text = render_reason("Average customer value", stall, expected_weekly_growth=0.005, unit="EUR")
    assert text == (
        "Average customer value has stopped growing: +0.1 % a week over 12 weeks "
        "against the +0.5 % expected."
    )
    slipping = Finding("flattening", weekly_slope=-0.002)
    assert "has started to slip: \u22120.2 % a week" in render_reason(
        "ACV", slipping, expected_weekly_growth=0.005, unit="EUR"
    )


def test_a_real_split_and_contributions_render_end_to_end():
    before = {"smb": Snapshot(600_000, 1500, 600), "enterprise": Snapshot(604_000, 500, 400)}
    after = {"smb": Snapshot(546_000, 1500, 600), "enterprise": Snapshot(604_000, 500, 400)}
    total_before = Snapshot(1_204_000, 2000, 1000)
    total_after = Snapshot(1_150_000, 2000, 1000)
    text = render_reason(
        "Average customer value",
        DECLINE,
        split=decompose_acv(total_before, total_after),
        contributions=segment_contributions(before, after),
        unit="EUR",
    )
    # Orders unchanged: the whole fall of 54 EUR per customer is basket, all from smb.
    assert "the basket effect explains all of the fall" in text
    assert f"smb segment ({MINUS}54 EUR of {MINUS}54 EUR)" in text


def test_statuses_without_an_alert_still_read_as_a_sentence():
    ok = Finding("ok", baseline_value=1204.0, current_value=1210.0, relative_change=0.005)
    assert (
        render_reason("ACV", ok, unit="EUR")
        == "ACV is within its normal range (baseline 1,204 EUR, 7-day average 1,210 EUR)."
    )
    stale = Finding("no_data", detail="No value in the last 7 days (last on 2026-03-01).")
    assert render_reason("ACV", stale, unit="EUR").startswith("ACV: no assessment (no data).")
    churn = Finding("decline", baseline_value=0.1, current_value=0.1134, relative_change=0.134)
    assert (
        render_reason("Churn rate", churn, unit="")
        == "Churn rate is 13.4 % above its baseline (baseline 0.10, 7-day average 0.11)."
    )


def test_a_ratio_keeps_two_decimals_and_shows_no_unit():
    finding = Finding(
        status="decline",
        since=date(2026, 1, 16),
        baseline_value=10.72,
        current_value=10.4,
        relative_change=10.4 / 10.72 - 1,
    )
    reason = render_reason("Orders per active customer", finding, unit="ratio")
    assert "(baseline 10.72, 7-day average 10.40)" in reason


# --- the revenue bridge and related signals ------------------------------------------------


def _bridge(
    lost: float, gained: float, retained_change: float, lost_customers: int = 120
) -> RevenueBridge:
    return RevenueBridge(
        date(2026, 1, 17), date(2026, 6, 30), lost, gained, retained_change, lost_customers, 85
    )


def test_the_reason_first_says_whether_customers_leave_or_buy_less_with_both_numbers():
    leaving = render_reason("ACV", DECLINE, bridge=_bridge(437_645, 220_000, -150_000), unit="EUR")
    assert leaving.startswith(
        f"Customers are leaving ({MINUS}437,645 EUR, 120 customers stopped buying) and those "
        f"who stay buy less ({MINUS}150,000 EUR). New or returning customers brought "
        "+220,000 EUR (85 customers): revenue from 17 January 2026 to 30 June 2026 against the "
        "same weeks a year earlier. ACV is"
    )
    # the larger loss first, whichever it is
    shrinking = render_reason("ACV", DECLINE, bridge=_bridge(80_000, 60_000, -200_000), unit="EUR")
    assert shrinking.startswith(
        f"Customers who stay buy less ({MINUS}200,000 EUR) and customers are leaving "
        f"({MINUS}80,000 EUR, 120 customers stopped buying). "
    )
    # customers who stay and buy more do not hide those who left
    offset = render_reason(
        "ACV", DECLINE, bridge=_bridge(90_000, 10_000, 30_000, lost_customers=1), unit="EUR"
    )
    assert offset.startswith(
        f"Customers are leaving ({MINUS}90,000 EUR, 1 customer stopped buying) while those who "
        "stay buy more (+30,000 EUR). New or returning customers brought +10,000 EUR "
        "(85 customers)"
    )


def test_a_bridge_without_a_loss_says_no_customer_left():
    text = render_reason(
        "ACV", DECLINE, bridge=_bridge(0.0, 70_000, -5_000, lost_customers=0), unit="EUR"
    )
    assert text.startswith(
        f"Customers who stay buy less ({MINUS}5,000 EUR) while no customer stopped buying. "
    )


def test_a_smoothed_level_says_so_beside_the_value_of_the_day():
    text = render_reason("ACV", DECLINE, unit="EUR", latest=(date(2026, 6, 30), 1_139.0))
    assert "(baseline 1,204 EUR, 7-day average 1,146 EUR; 1,139 EUR on 30 June 2026)" in text


def test_related_signals_say_where_each_stood_and_stands():
    nps = Finding(
        "decline",
        since=date(2026, 9, 24),
        baseline_value=30,
        current_value=22,
        relative_change=-0.27,
    )
    related = [
        RelatedSignal("CSAT after support", "%", 84.6, 66.7),
        RelatedSignal("Customer effort score", "score", 5.20, 5.23),
        RelatedSignal("Churn rate", "share", 0.022, 0.062),
        RelatedSignal("Lapsed customers", "customers", 38, 86),
        RelatedSignal("Reviews", "count", None, 12.0),
    ]
    text = render_reason(
        "Net Promoter Score", nps, unit="points", related=related, since=date(2026, 9, 24)
    )
    assert text == (
        "Net Promoter Score is 8.0 points below its baseline, falling since 24 September 2026 "
        "(baseline 30 points, "
        "7-day average 22 points). Related signals since 24 September 2026: CSAT after "
        "support fell from 85 % to 67 %, Customer effort score held at 5.23, Churn rate rose "
        "from 2.2 % to 6.2 %, Lapsed customers rose from 38 to 86 customers."
    )


def test_a_related_signal_over_a_week_says_so():
    acv = Finding("decline", since=date(2026, 8, 10), baseline_value=3200, current_value=2912)
    related = [RelatedSignal("Existing customers' purchases", "ratio", 0.87, 1.12, smoothed=True)]
    text = render_reason("ACV", acv, unit="EUR", related=related, since=date(2026, 8, 10))
    assert text.endswith(
        "Related signals since 10 August 2026: Existing customers' purchases (7-day average) "
        "rose from 0.87 to 1.12."
    )


def test_a_related_signal_says_whether_it_moved_for_the_better_or_the_worse():
    churn = Finding("decline", since=date(2026, 9, 9), baseline_value=0.023, current_value=0.056)
    related = [
        RelatedSignal("Lapsed customers", "customers", 39, 75, direction="lower_is_better"),
        RelatedSignal("Lost revenue", "EUR", 117_409, 58_850, direction="lower_is_better"),
        RelatedSignal("CSAT after support", "%", 88.0, 50.0, direction="higher_is_better"),
        RelatedSignal("Active customers", "customers", 1379, 1380, direction="higher_is_better"),
    ]
    text = render_reason("Churn rate", churn, unit="share", related=related, since=date(2026, 9, 9))
    assert text.endswith(
        "Related signals since 9 September 2026: Lapsed customers rose from 39 to 75 customers "
        "(worse), Lost revenue fell from 117,409 to 58,850 EUR (better), CSAT after support fell "
        "from 88 % to 50 % (worse), Active customers held at 1,380 customers."
    )


def test_a_rate_moves_by_points_not_by_percent():
    churn = Finding("decline", baseline_value=0.022, current_value=0.062, relative_change=1.85)
    assert render_reason("Churn rate", churn, unit="share") == (
        "Churn rate is 4.0 points above its baseline (baseline 2.2 %, 7-day average 6.2 %)."
    )
    csat = Finding("decline", baseline_value=84.6, current_value=66.7, relative_change=-0.21)
    assert render_reason("CSAT", csat, unit="%").startswith(
        "CSAT is 17.9 points below its baseline"
    )


# --- money in the reporting currency -------------------------------------------------------


def test_the_catalogue_unit_money_is_shown_as_the_reporting_currency():
    assert unit_shown("money", "USD") == "USD"
    assert unit_shown("money", "EUR") == "EUR"
    for unit in ("customers", "count", "ratio", "share", "%", "points", "score", "days"):
        assert unit_shown(unit, "USD") == unit
    assert format_value(1204.4, unit_shown("money", "USD")) == "1,204 USD"
    assert format_value(7.5, unit_shown("money", "JPY")) == "7.50 JPY"


def test_a_related_amount_in_any_currency_names_its_currency_once():
    acv = Finding(
        "decline", since=date(2026, 3, 3), baseline_value=1204, current_value=1146,
        relative_change=-0.048,
    )  # fmt: skip
    related = [
        RelatedSignal("Average order value", "USD", 602.0, 573.0),
        RelatedSignal("Lost revenue (30 days)", "GBP", 10_000.0, 10_050.0),
    ]
    text = render_reason(
        "Average customer value", acv, unit="USD", related=related, since=date(2026, 3, 3)
    )
    assert text == (
        "Average customer value is 4.8 % below its baseline, falling since 3 March 2026 "
        "(baseline 1,204 USD, 7-day average 1,146 USD). "
        "Related signals since 3 March 2026: Average order value fell from 602 to 573 USD, "
        "Lost revenue (30 days) held at 10,050 GBP."
    )
