"""Why the average customer value (ACV) moved, as numbers and as sentences a CEO can read.

ACV = window revenue / active customers = (orders / active customers) * (revenue / orders)
    = frequency * basket.

Two exact decompositions:

* :func:`decompose_acv` splits a change of ACV between frequency and basket with log shares,
  which add up to 1 whatever the size of the change (a plain percentage split leaves an
  interaction term);
* :func:`segment_contributions` splits it between segments (or regions...), each into a rate
  effect (customers of the segment are worth more or less) and a mix effect (the segment weighs
  more or less among customers), with the symmetric averages of before and after, so the terms
  add up exactly to the change and no residual is left to explain away.

A year-over-year revenue bridge (:class:`RevenueBridge`) tells customers who leave from
customers who stay and buy less. Any other KPI is explained by its related signals
(:class:`RelatedSignal`) over the same period.

:func:`render_reason` turns those numbers and a monitoring finding into a few sentences.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

MINUS = "\u2212"  # a typographic minus reads better than a hyphen in prose
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Units whose changes read in points (a relative change of a share, or of an NPS near zero,
# says little), and the points of one unit.
POINT_UNITS = {"share": 100.0, "%": 1.0, "points": 1.0}
# Units written as a word after the number, said once in "from 1,352 to 1,379 customers";
# a currency code is one too (see is_currency).
WORD_UNITS = ("customers", "points", "days")
# The KPI catalogue's unit for an amount of money. The catalogue names no currency: the
# warehouse is built in the reporting currency of the run (reference.run_settings), and a
# reader shows that code in its place (unit_shown), so a company reporting in dollars never
# sees its dollars called euros.
MONEY = "money"
# A smoothed value averages the latest week, as the monitor's trend reads it.
WEEK_DAYS = 7
WEEK_AVERAGE = f"{WEEK_DAYS}-day average"


@dataclass(frozen=True)
class Snapshot:
    """Totals of one window (the trailing window of the ACV definition) for one population."""

    revenue: float
    orders: float
    active_customers: float

    @property
    def acv(self) -> float | None:
        """Revenue per active customer; None without customers."""
        return _ratio(self.revenue, self.active_customers)

    @property
    def frequency(self) -> float | None:
        """Orders per active customer; None without customers."""
        return _ratio(self.orders, self.active_customers)

    @property
    def basket(self) -> float | None:
        """Average order value; None without orders."""
        return _ratio(self.revenue, self.orders)


@dataclass(frozen=True)
class AcvSplit:
    """Frequency and basket effects of a change of ACV.

    ``*_change_pct`` are relative changes in percent (-4.8 means -4.8 %). ``frequency_share``
    and ``basket_share`` are ln(factor ratio) / ln(ACV ratio) and add up to 1: 0.92 means the
    factor explains 92 % of the move. A share above 1 with the other one negative means the
    second factor moved the other way and offset part of the first. Anything that cannot be
    computed (no customers or orders, a non-positive value, an unchanged ACV for the shares) is
    None.
    """

    acv_before: float | None
    acv_after: float | None
    frequency_before: float | None
    frequency_after: float | None
    basket_before: float | None
    basket_after: float | None
    acv_change_pct: float | None
    frequency_change_pct: float | None
    basket_change_pct: float | None
    frequency_share: float | None
    basket_share: float | None


@dataclass(frozen=True)
class Contribution:
    """A member's part in the change of the total ACV, in the KPI's currency.

    ``within`` (rate effect): average weight * change of the member's ACV. ``mix``: (average
    member ACV - average total ACV) * change of the member's weight, so gaining customers helps
    only a member worth more than average. ``total = within + mix``.
    """

    member: str
    within: float
    mix: float
    total: float


@dataclass(frozen=True)
class RevenueBridge:
    """Revenue of ``first_day`` to ``last_day`` against the same weeks a year earlier, customer
    by customer.

    ``lost``: the fall of revenue of the ``lost_customers`` who bought then and not now, or
    stopped buying within the period; ``gained``: the revenue of the ``gained_customers`` who
    buy now and did not then (new or returning); ``retained_change``: the change of revenue of
    the other customers who bought in both. The change of revenue is exactly
    ``gained - lost + retained_change``.

    A year-over-year bridge rather than the month-to-month one of ``fct_revenue_bridge``: a
    customer who buys every second month is lost and won back month after month there, so a
    smaller basket of such customers would read as churn; a year apart, and over periods of
    three months or more, the customers who stay are in both periods, and the seasons match.
    """

    first_day: date
    last_day: date
    lost: float
    gained: float
    retained_change: float
    lost_customers: int
    gained_customers: int

    @property
    def customer_flow(self) -> float:
        """The revenue effect of customers leaving and arriving."""
        return self.gained - self.lost


@dataclass(frozen=True)
class RelatedSignal:
    """Another KPI over the period of a finding: its value on the day before the move began and
    on the day evaluated, as the dashboard shows them; or, ``smoothed``, over the week ending on
    each (a KPI of a single day's counts, which swing from day to day by chance)."""

    label: str
    unit: str
    before: float | None
    after: float | None
    smoothed: bool = False
    # higher_is_better or lower_is_better: a move is said to be for the better or the worse
    # ("Lost revenue fell" beside a rise of lapses reads as bad news otherwise)
    direction: str | None = None


class FindingLike(Protocol):
    """What :func:`render_reason` reads from a monitoring finding (see trend.Finding)."""

    status: str
    since: date | None
    baseline_value: float | None
    current_value: float | None
    relative_change: float | None
    weekly_slope: float | None
    detail: str


def unit_shown(unit: str, currency: str) -> str:
    """The unit a reader sees: ``currency`` (an ISO 4217 code) for money, any other as it is.

    >>> unit_shown("money", "USD"), unit_shown("customers", "USD")
    ('USD', 'customers')
    """
    return currency if unit == MONEY else unit


def is_currency(unit: str) -> bool:
    """Whether ``unit`` is a currency code (three capital letters, as ISO 4217 writes them).

    >>> is_currency("USD"), is_currency("days"), is_currency("money")
    (True, False, False)
    """
    return len(unit) == 3 and unit.isalpha() and unit.isupper()


def decompose_acv(before: Snapshot, after: Snapshot) -> AcvSplit:
    """Split the change of ACV from ``before`` to ``after`` into frequency and basket effects."""
    acv0, acv1 = before.acv, after.acv
    f0, f1 = before.frequency, after.frequency
    b0, b1 = before.basket, after.basket
    log_acv = _log_ratio(acv0, acv1)
    log_f = _log_ratio(f0, f1)
    log_b = _log_ratio(b0, b1)
    frequency_share = basket_share = None
    if log_acv is not None and log_acv != 0.0 and log_f is not None and log_b is not None:
        frequency_share, basket_share = log_f / log_acv, log_b / log_acv
    return AcvSplit(
        acv_before=acv0,
        acv_after=acv1,
        frequency_before=f0,
        frequency_after=f1,
        basket_before=b0,
        basket_after=b1,
        acv_change_pct=_change_pct(acv0, acv1),
        frequency_change_pct=_change_pct(f0, f1),
        basket_change_pct=_change_pct(b0, b1),
        frequency_share=frequency_share,
        basket_share=basket_share,
    )


def segment_contributions(
    before: Mapping[str, Snapshot], after: Mapping[str, Snapshot]
) -> list[Contribution]:
    """Exact split of the change of the total ACV into one term per member, most negative first.

    With w_s = N_s / N (share of active customers) and ACV = sum_s w_s * ACV_s, the change is
    sum_s [avg(w_s) * delta(ACV_s) + (avg(ACV_s) - avg(ACV)) * delta(w_s)], which equals
    ACV_after - ACV_before to rounding. A member present on one side only counts with zero
    revenue and customers on the other; its ACV there is taken equal to the side where it exists
    (its weight is 0, so any value is exact), which makes it a pure mix effect rather than half
    a rate effect from an ACV of 0. Without customers on either side the total ACV is undefined
    and the list is empty.
    """
    empty = Snapshot(0.0, 0.0, 0.0)
    members = sorted(set(before) | set(after))
    n0 = sum(before.get(m, empty).active_customers for m in members)
    n1 = sum(after.get(m, empty).active_customers for m in members)
    if n0 <= 0 or n1 <= 0:
        return []
    total0 = sum(before.get(m, empty).revenue for m in members) / n0
    total1 = sum(after.get(m, empty).revenue for m in members) / n1
    total_mean = (total0 + total1) / 2.0
    contributions = []
    for member in members:
        s0, s1 = before.get(member, empty), after.get(member, empty)
        w0, w1 = s0.active_customers / n0, s1.active_customers / n1
        acv0, acv1 = s0.acv, s1.acv
        if acv0 is None:
            acv0 = acv1 if acv1 is not None else 0.0
        if acv1 is None:
            acv1 = acv0
        within = (w0 + w1) / 2.0 * (acv1 - acv0)
        mix = ((acv0 + acv1) / 2.0 - total_mean) * (w1 - w0)
        contributions.append(Contribution(member, within, mix, within + mix))
    return sorted(contributions, key=lambda c: (c.total, c.member))


def render_reason(
    kpi_label: str,
    finding: FindingLike,
    *,
    split: AcvSplit | None = None,
    contributions: Sequence[Contribution] = (),
    direction: str = "higher_is_better",
    expected_weekly_growth: float = 0.0,
    flat_weeks: int = 12,
    dimension_name: str = "segment",
    unit: str,
    bridge: RevenueBridge | None = None,
    related: Sequence[RelatedSignal] = (),
    since: date | None = None,
    latest: tuple[date, float] | None = None,
) -> str:
    """A few plain sentences: why, as far as the numbers tell, then what happened.

    With a revenue ``bridge`` the first sentence answers "are customers leaving, or buying
    less?" with its numbers: revenue lost with the customers who left, and the change of the
    customers who stay, each on its own; the customers who arrived come next, never netted
    against those who left. Then the move of the KPI, what drove it (``split``), where it
    concentrates (``contributions``) and the related signals.

    ``finding`` is a trend.Finding (or anything with the same attributes). The rest is optional,
    measured over the period of the finding (``since`` to the latest day): ``split`` and
    ``contributions`` from :func:`decompose_acv` and :func:`segment_contributions`; ``bridge``
    the revenue bridge of the period against a year earlier; ``related`` signals. A KPI
    without any has only the first sentence. ``direction``, ``expected_weekly_growth`` and
    ``flat_weeks`` are the values the finding was evaluated with (growth in the good direction,
    as trend.evaluate takes it); a flattening quotes them. ``unit`` is the KPI's unit as shown
    (money as its currency code, see :func:`unit_shown`): it labels the KPI's levels and the
    segment and bridge amounts, which are in the KPI's own unit. ``latest`` is the KPI's value
    on the day evaluated, as the marts and the dashboard show it: the finding's levels are
    averages (of the baseline, of the latest 7 days), and the sentence says so beside it.
    """
    headline = _headline(
        kpi_label, finding, direction, expected_weekly_growth, flat_weeks, unit, latest
    )
    if finding.status not in ("decline", "flattening"):
        return headline
    sentences = [*_bridge_sentences(bridge, unit), headline] if bridge else [headline]
    if split is not None:
        sentences.append(_split_sentence(split))
    sentences.append(_member_sentence(contributions, dimension_name, unit))
    sentences.append(_related_sentence(related, since))
    return " ".join(sentence for sentence in sentences if sentence)


def _headline(
    kpi_label: str,
    finding: FindingLike,
    direction: str,
    expected_weekly_growth: float,
    flat_weeks: int,
    unit: str,
    latest: tuple[date, float] | None = None,
) -> str:
    levels = ""
    if finding.baseline_value is not None and finding.current_value is not None:
        on_the_day = ""
        if latest is not None:
            on_the_day = f"; {_amount(latest[1], unit)} on {_day(latest[0])}"
        levels = (
            f" (baseline {_amount(finding.baseline_value, unit)}, {WEEK_AVERAGE} "
            f"{_amount(finding.current_value, unit)}{on_the_day})"
        )
    change = finding.relative_change
    if finding.status == "decline" and change is not None:
        by = _pct(abs(change))
        if unit in POINT_UNITS and levels:
            # a rate moves by points: "churn rose 185 %" reads as a typo for 2.2 % -> 6.2 %
            change = (finding.current_value - finding.baseline_value) * POINT_UNITS[unit]
            by = f"{abs(change):.1f} points"
        # the change is against the baseline, not since the onset: said so
        side, moving = ("below", "falling") if change < 0 else ("above", "rising")
        since = f", {moving} since {_day(finding.since)}" if finding.since else ""
        return f"{kpi_label} is {by} {side} its baseline{since}{levels}."
    if finding.status == "flattening" and finding.weekly_slope is not None:
        slope = finding.weekly_slope
        lower_is_better = direction == "lower_is_better"
        # The catalogue states growth in the good direction; the sentence quotes KPI units.
        expected = -expected_weekly_growth if lower_is_better else expected_weekly_growth
        if lower_is_better:
            state = "has started to creep up" if slope > 0 else "has stopped falling"
        else:
            state = "has started to slip" if slope < 0 else "has stopped growing"
        return (
            f"{kpi_label} {state}: {_pct(slope, signed=True)} a week over {flat_weeks} weeks "
            f"against the {_pct(expected, signed=True)} expected."
        )
    if finding.status == "ok":
        return f"{kpi_label} is within its normal range{levels}."
    if finding.status == "constant":
        return f"{kpi_label} has not changed{levels}."
    return f"{kpi_label}: no assessment ({finding.status.replace('_', ' ')}). {finding.detail}"


def _split_sentence(split: AcvSplit) -> str | None:
    f_pct, b_pct = split.frequency_change_pct, split.basket_change_pct
    f_share, b_share = split.frequency_share, split.basket_share
    acv_pct = split.acv_change_pct
    if f_pct is None or b_pct is None or f_share is None or b_share is None or acv_pct is None:
        return None
    move = "fall" if acv_pct < 0 else "rise"
    often = "less often" if f_pct < 0 else "more often"
    spend = "less per order" if b_pct < 0 else "more per order"
    # "As before" needs both a small share and a small move: a 0.8 % dip in frequency is noise
    # next to a 10 % fall of the basket, not next to a 1 % fall.
    if abs(f_share) < 0.15 and abs(f_pct) < 1.0:
        return (
            f"Customers buy as often as before but spend {spend}: "
            f"the basket effect explains {_share(b_share)} of the {move}."
        )
    if abs(b_share) < 0.15 and abs(b_pct) < 1.0:
        return (
            f"Customers spend as much per order as before but buy {often}: "
            f"the frequency effect explains {_share(f_share)} of the {move}."
        )
    frequency = f"{_pct(f_pct / 100, signed=True)} orders per customer"
    basket = f"{_pct(b_pct / 100, signed=True)} per order"
    if (f_pct < 0) == (b_pct < 0):
        leading, share = ("basket", b_share) if b_share >= f_share else ("frequency", f_share)
        return (
            f"Customers buy {often} ({frequency}) and spend {spend} ({basket}): "
            f"the {leading} effect explains {_share(share)} of the {move}."
        )
    # Opposite moves: the factor with a share above 1 drives, the other one offsets part of it.
    frequency_phrase = f"{'less' if f_pct < 0 else 'more'} frequent orders ({frequency})"
    basket_phrase = f"{'smaller' if b_pct < 0 else 'larger'} baskets ({basket})"
    driver, offset = (
        (basket_phrase, frequency_phrase)
        if b_share > f_share
        else (frequency_phrase, basket_phrase)
    )
    return f"The {move} comes from {driver}, partly offset by {offset}."


def _member_sentence(
    contributions: Sequence[Contribution], dimension_name: str, unit: str
) -> str | None:
    if not contributions:
        return None
    change = math.fsum(c.total for c in contributions)
    if change == 0.0:
        return None
    # The member that pushed hardest in the direction of the move (the list is sorted by total).
    top = contributions[0] if change < 0 else contributions[-1]
    if (top.total < 0) != (change < 0):
        return None
    lead = "Most of it" if abs(top.total) >= abs(change) / 2 else "The largest part"
    if abs(top.mix) > abs(top.within):
        reason = "through a shift in the customer mix"
    else:
        reason = f"where customers are worth {'less' if top.within < 0 else 'more'} than before"
    return (
        f"{lead} comes from the {top.member} {dimension_name} "
        f"({_amount(top.total, unit, signed=True)} of {_amount(change, unit, signed=True)}), "
        f"{reason}."
    )


def _bridge_sentences(bridge: RevenueBridge, unit: str) -> list[str]:
    """Customers leaving and customers who stay buying less, the larger loss first, each with
    its amount; then those who arrived and the period compared."""
    lost, retained = bridge.lost, bridge.retained_change
    leaving = (
        f"customers are leaving ({_amount(-lost, unit, signed=True)}, "
        f"{_count(bridge.lost_customers, 'customer')} stopped buying)"
        if lost > 0
        else "no customer stopped buying"
    )
    if retained < 0:
        staying = f"those who stay buy less ({_amount(retained, unit, signed=True)})"
    elif retained > 0:
        staying = f"those who stay buy more ({_amount(retained, unit, signed=True)})"
    else:
        staying = "those who stay buy as much as before"
    both = "and" if (lost > 0) == (retained < 0) else "while"
    if lost >= -retained:
        answer = f"{leaving} {both} {staying}"
    else:
        staying = staying.replace("those who stay", "customers who stay", 1)
        answer = f"{staying} {both} {leaving}"
    arrived = (
        f"New or returning customers brought {_amount(bridge.gained, unit, signed=True)} "
        f"({_count(bridge.gained_customers, 'customer')})"
        if bridge.gained_customers
        else "No new or returning customer bought"
    )
    return [
        f"{answer[0].upper()}{answer[1:]}.",
        f"{arrived}: revenue from {_day(bridge.first_day)} to {_day(bridge.last_day)} against "
        "the same weeks a year earlier.",
    ]


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _related_sentence(related: Sequence[RelatedSignal], since: date | None) -> str | None:
    moves = [
        _move(signal)
        for signal in related
        if signal.before is not None and signal.after is not None
    ]
    if not moves:
        return None
    period = f"since {_day(since)}" if since else "over the same period"
    return f"Related signals {period}: {', '.join(moves)}."


def _move(signal: RelatedSignal) -> str:
    before, after = signal.before, signal.after
    label = f"{signal.label} ({WEEK_AVERAGE})" if signal.smoothed else signal.label
    # within 1 % of where it was, a signal reads as unchanged
    if abs(after - before) <= 0.01 * abs(before):
        return f"{label} held at {_amount(after, signal.unit)}"
    verb = "rose" if after > before else "fell"
    start = _amount(before, signal.unit)
    if signal.unit in WORD_UNITS or is_currency(signal.unit):  # "from 1,352 to 1,379 customers"
        start = start.removesuffix(f" {signal.unit}")
    judged = ""
    if signal.direction in ("higher_is_better", "lower_is_better"):
        better = (after > before) == (signal.direction == "higher_is_better")
        judged = " (better)" if better else " (worse)"
    return f"{label} {verb} from {start} to {_amount(after, signal.unit)}{judged}"


def _ratio(numerator: float, denominator: float) -> float | None:
    if denominator == 0 or not (math.isfinite(numerator) and math.isfinite(denominator)):
        return None
    return numerator / denominator


def _log_ratio(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before <= 0 or after <= 0:
        return None
    return math.log(after / before)


def _change_pct(before: float | None, after: float | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    return (after - before) / abs(before) * 100.0


def _day(day: date) -> str:
    # Spelled out here rather than with strftime("%B"), which follows the process locale.
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _amount(value: float, unit: str, signed: bool = False) -> str:
    """A value in its catalogue unit, as a person reads it.

    1,204 USD, 51 USD, 7.50 USD (decimals only below 10, where they still matter); a ratio or
    a score keeps two decimals; a share (0-1) reads as a percentage; points (NPS-like) and
    counts are whole numbers; a unit that is a word is singular for one.

    >>> _amount(1.2, "customers"), _amount(2, "customers"), _amount(1, "points")
    ('1 customer', '2 customers', '1 point')
    """
    if unit == "share":
        return _pct(value, signed=signed)
    decimals = 2 if unit in ("ratio", "score") or 0 < abs(value) < 9.995 else 0
    if unit in ("points", "count", "customers"):
        decimals = 0
    text = f"{abs(value):,.{decimals}f}"
    suffix = {"ratio": "", "score": "", "points": " points", "%": " %", "count": ""}.get(
        unit, f" {unit}"
    )
    if text == "1" and unit in WORD_UNITS:
        suffix = suffix.removesuffix("s")
    sign = ""
    if text.strip("0.,"):
        if value < 0:
            sign = MINUS
        elif signed:
            sign = "+"
    return f"{sign}{text}{suffix}".rstrip()


def format_value(value: float | None, unit: str) -> str:
    """A KPI value for a table: the same units as the sentences, a dash when undefined."""
    return "—" if value is None else _amount(value, unit)


def signed(value: float, spec: str, minus: str = MINUS) -> str:
    """``value`` formatted by ``spec`` with its sign, none when it shows as zero.

    >>> signed(-0.0004, ".1%", minus="-"), signed(-0.05, ".1%", minus="-"), signed(2.0, ".1f")
    ('0.0%', '-5.0%', '+2.0')
    """
    text = format(abs(value), spec)
    if not any(digit in text for digit in "123456789"):
        return text
    return f"{minus if value < 0 else '+'}{text}"


def _pct(fraction: float, signed: bool = False) -> str:
    """A fraction as a percentage with one decimal (two when one would show 0.0)."""
    percent = fraction * 100.0
    text = f"{abs(percent):.1f}"
    if text == "0.0" and percent != 0.0:
        text = f"{abs(percent):.2f}"
    sign = ""
    if text.strip("0."):
        if percent < 0:
            sign = MINUS
        elif signed:
            sign = "+"
    return f"{sign}{text} %"


def _share(share: float) -> str:
    # A share above 100 % (the other factor moved the other way a little) reads as a typo.
    return "all" if share >= 0.995 else f"{round(share * 100):d} %"


def existing_customers_sentence(
    kpi_name: str,
    where: str | None,
    *,
    days: int,
    made: float | None = None,
    expected: float | None = None,
    change: float | None = None,
) -> str | None:
    """The first sentence of an alert on the existing customers' purchases or basket: the
    cause, where (``where`` such as "the south region", None for the company) and its numbers.

    "Customers of the south region are leaving: they made 40 purchases in the last 30 days
    against 100 expected from their own rhythm, as the rest of the company bought (-60.0 %)." The
    count expected is each customer's own rhythm moved as the reference the test reads moved:
    the rest of the company that week for a segment or region, the same weeks a year earlier
    (the season) for the company. None for another KPI.
    """
    if kpi_name == "existing_customer_purchases" and made is not None and expected:
        who = "Customers" if where is None else f"Customers of {where}"
        # what moved the count expected: the season for the company, the rest of it for a member
        moved = " at this time of year" if where is None else ", as the rest of the company bought"
        return (
            f"{who} are leaving: they made {made:,.0f} purchases in the last {days} days "
            f"against {expected:,.0f} expected from their own rhythm{moved} "
            f"({_pct(made / expected - 1.0, signed=True)})."
        )
    if kpi_name == "existing_customer_basket" and change is not None:
        who = "Existing customers" if where is None else f"Existing customers of {where}"
        return (
            f"{who} buy less: their orders of the last {days} days are worth "
            f"{_pct(change, signed=True)} against each one's own average order of the year "
            "before."
        )
    return None
