"""Decline and flattening detection for daily KPI series (pure numpy, no orchestration import).

A KPI is scored against a *frozen* baseline: the ``baseline_days`` that end where the monitored
window (the last ``monitor_days``) begins, so no scored day ever shapes its own reference. A
rolling z-score cannot see a slow decline because its window follows the decline down; a CUSUM
against a frozen baseline accumulates the small daily shortfalls instead.

Two detectors, each gated by the KPI's minimum effect so tiny moves never page:

* **decline**: one-sided lower CUSUM (Page 1954) on the weekday-adjusted series, standardized
  with the baseline mean and a long-run standard deviation (see :func:`baseline_scale`);
* **flattening**: the Sen slope of the recent complete weekly means falls short of the growth
  the KPI is expected to have.

The decline settings are measured with ``benchmarks/alert_quality.py``: simulated series with
noise sd sigma and a weekly profile, evaluated every day on the history up to that day as the
monitor does; an alarm is a day in decline after a day that was not. With min effect 0, so
that the CUSUM decides (1000 series per case):

===================================================  ===================  ===================
                                                     ramp 0.05 sigma/day  false alarms per
                                                     median days          KPI-year
                                                     (AR(1) phi 0 / 0.5)  (phi 0 / 0.5)
===================================================  ===================  ===================
before: 91-day baseline sliding daily, h = 6         22 / 32              0.81 / 0.82
now: 182-day baseline moved every 4 weeks, h = 4.5   19 / 30              0.82 / 0.46
===================================================  ===================  ===================

With the catalogue's usual minimum effect (3 % on a KPI with 3 % daily noise): 23 -> 20 days
and 0.30 -> 0.54 false alarms per KPI-year at phi 0, 32 -> 30 days and 0.55 -> 0.46 at 0.5.

Where the false alarms came from, and what each setting does about it:

* A baseline that slides by a day every day re-scores the recent past against a slightly
  different reference each day, so a near miss one day is an alarm the next: half the false
  alarms came from that. The window now starts on a four-week grid (REANCHOR_DAYS), so each
  day's evaluation extends the previous day's CUSUM; it is re-scored 13 times a year.
* The baseline mean is itself uncertain, by 1/sqrt(91) = 0.10 long-run sd after 91 days: a
  bias that lasts the whole window and weighs on a CUSUM whose k is 0.5. A 182-day baseline
  (0.07) removes a third of the false alarms under phi 0 and half under phi 0.5. It costs
  history: a series is scored after 189 days, and fully after 364.
* A gate on the latest week alone switches an alarm off and on as consecutive weeks fall on
  either side of the minimum effect, each switch paging anew; the gate now reads the worst week
  of the last 14 days (RECENT_DAYS): a fifth fewer false alarms at min effect 0. With the
  capped statistic (CUSUM_CAP), a 2 sigma drop that recovers after 60 days now re-alarms 0.2
  times in the next 120 days instead of 9 (min effect 0; 0.14 instead of 0.39 with min effect
  1 sigma). The price: the alarm ends about 13 days after the KPI is back instead of 4.
* A decline already raised holds until its worst recent week is back within half the minimum
  effect (RELEASE_FRACTION), so a KPI hovering at its minimum effect does not page, recover and
  page again. With min effect 1 sigma and a 2 sigma drop that recovers after 60 days, re-alarms
  in the next 120 days fall from 0.26 to 0.17 under phi 0.5 and from 0.86 to 0.48 with a
  yearly swing of +-0.5 sigma; false alarms with both fall from 1.28 to 0.97 per KPI-year.
* That budget bought a lower h: 4.5 instead of 6 (phi 0: h = 5 gives 20 days and 0.51 false
  alarms a year, h = 4 gives 18 days and 1.23).

Rejected: a slow CUSUM (k = 0.25, h = 10 to 12) alone or next to the k = 0.5 one found this
ramp no sooner (22 days) with 4 to 5 times the false alarms on the daily-sliding baseline: a
small k is of the order of the baseline's own error. A CUSUM of 7-day means would add no
evidence (the CUSUM already sums the days) and would see each day's shortfall later.

Limits, measured the same way:

* Under phi 0.5 no setting finds a ramp of 0.05 sigma/day in 3 weeks with under one false
  alarm a year: after 21 days its evidence is about 1.7 standard errors. This one takes 30 days
  (0.46 false alarms a year); h = 3.5 takes 26 days (0.91), h = 2.5 takes 23 (1.9).
* Yearly seasonality reads as a decline, since the baseline ends 6 to 7 months before the day
  scored: with a yearly swing of +-0.5 sigma, 1.7 false alarms per KPI-year under phi 0 (1.8
  with min effect 1 sigma; 4.3 and 8.0 before). KPIs over a trailing 365-day window (ACV and
  its factors, revenue retention) have none; one over 30 or 90 days (leads, visitors, reviews)
  can, and then needs a minimum effect above its seasonal swing.

Sampled KPIs (SAMPLING_Z), measured the same way on a share or score of a trailing window of
responses, 1000 series per case, against the former relative minimum effect alone:

* CSAT from 600 ratings a month (floor 3 points): a fall of 10 points is raised in a median of
  17 days (never within 120 days with 25 %), at 0.26 false alarms per KPI-year (0).
* CSAT from 20 ratings a month: 2.5 standard errors are about 21 points, close to the former
  25 %: 0.42 false alarms per KPI-year (0.40), a fall of 20 points raised in 39 days (37).
* NPS from 400 responses in 90 days (floor 5 points): 0.05 false alarms per KPI-year (0.87
  with 10 %), a fall of 20 points raised in 57 days (38). The error of a score is bounded from
  its range alone, which overstates an NPS's by about 30 % when a third of the responses are
  passives.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, Literal

import numpy as np

Direction = Literal["higher_is_better", "lower_is_better"]
Status = Literal["ok", "decline", "flattening", "insufficient_history", "no_data", "constant"]

#: The CUSUM's standard deviation is never below this fraction of ``min_effect * |mean|``.
#: A change of exactly ``min_effect`` is then at most 5 standard deviations, so the CUSUM alarms
#: on it within a couple of days, while an almost constant baseline (a KPI stored with few
#: decimals, a trailing 365-day ratio) cannot turn a 0.01 % wiggle into an alarm.
SD_FLOOR_FRACTION = 0.2

#: Lag-1 autocorrelation is capped here when inflating the baseline standard deviation to a
#: long-run one. Trailing-window KPIs have autocorrelation near 1, where the AR(1) inflation
#: factor explodes and would blind the detector; at 0.8 the factor is 3.
MAX_AUTOCORRELATION = 0.8

#: ``current_value`` is the mean of the latest week: it is weekday-balanced and it reports where
#: the KPI is now. The effect gate reads the weeks of RECENT_DAYS, and the alert text quotes the
#: worst of them, so it never shows a change below min_effect.
CURRENT_DAYS = 7

#: Fewer monitored days than this cannot say anything about the current level.
MIN_MONITOR_DAYS = 7

#: The monitored window starts on a grid of this many days (four weeks, so always on a Monday)
#: instead of sliding by a day every day (see the module docstring).
REANCHOR_DAYS = 28

#: CUSUM reference value and threshold, in long-run standard deviations (see the module
#: docstring for the measurements behind them).
DEFAULT_K = 0.5
DEFAULT_H = 4.5

#: The CUSUM statistic is capped at this multiple of h (see :func:`cusum_decline`).
CUSUM_CAP = 2.0

#: The effect gate reads the 7-day means ending in the last RECENT_DAYS days: the decline must
#: reach its minimum effect in one of them. On the latest week alone, an alarm switches off and
#: on again as consecutive weeks fall on either side of the minimum effect, and each switch
#: pages anew.
RECENT_DAYS = 14


#: A KPI that is a share or mean of a sample (an NPS, a CSAT, a conversion rate) moves by
#: chance by about one standard error of its sample (:func:`sampling_error`): its decline over
#: a week must be at least this many standard errors of the week's smallest sample, however
#: small its minimum effect (a week's mean errs by no more than its most uncertain day).
SAMPLING_Z = 2.5

#: The chance of a normal deviate beyond SAMPLING_Z (0.62 %): a count too small for standard
#: errors has moved beyond chance when a count that far out is this unlikely.
SAMPLING_TAIL = 0.5 * math.erfc(SAMPLING_Z / math.sqrt(2.0))

#: A count of events expected at least this many times moves by chance by SAMPLING_Z standard
#: errors (sqrt of the count); below it the Poisson tail itself says how far: one customer
#: lapsing where 0.08 were expected is 3.3 standard errors, yet happens one month in thirteen.
NORMAL_COUNT = 10.0

#: Threshold of the count CUSUM (:func:`poisson_cusum_decline`), in log-likelihood ratio
#: units. Measured with ``benchmarks/alert_quality.py --counts`` (40 series per case, a fall
#: of 25 %, half of the customers leaving evenly over 60 days): with Poisson counts of 5 a day
#: (a demo region) 0.29 false alarms per KPI-year and a median of 43 days to the alarm (72 %
#: within 45), of 20 a day 0.03 and 36 days; h = 7 gave 0.05 and 47 days (38 % within 45),
#: 0.03 and 36 days. On six demos (``benchmarks/demo_stories.py --run``) h = 7 raised the south
#: region's leaving past 45 days in two and 3 quiet-stretch alarms on the purchases, h = 5.5 in
#: none and 6 (in 33 series-years), h = 5 in none and 12. Counts that vary twice as much as
#: Poisson counts (the demo's vary 1.0 to 1.2 times in its regions, 1.4 to 1.7 in its total and
#: smallest segment) raise 2.0 false alarms per KPI-year at 5 a day despite the widened
#: threshold (1.3 at h = 7), 0.14 at 20.
COUNT_H = 5.5

#: A member is compared with the rest of the company over the week ending each day.
REST_DAYS = 7

#: A total has no rest of the company to be compared with: its season is read a year earlier,
#: over this many days around the day.
SEASON_DAYS = 7

#: A day whose count is below this fraction of its weekday's usual count in the weeks around
#: it (the median of the same weekday one to three weeks before and after) was a holiday (a
#: closure, a public holiday): a reference over a week cannot expect such a day. Where the
#: usual count is below HOLIDAY_COUNT, chance alone brings days that low.
HOLIDAY_FRACTION = 0.6
HOLIDAY_COUNT = 10.0
#: The rest of the company is read on the day itself, not a year before it: only a day it was
#: largely closed is a holiday. At 0.6 its chance lows cost the demo's south region two to four
#: days to its alert on customers leaving, in two runs of six.
REST_HOLIDAY_FRACTION = 0.4

#: A decline already raised holds until its worst recent week is back within this fraction of
#: the minimum effect (hysteresis): a KPI hovering at its minimum effect would otherwise be
#: raised, recovered and raised again, paging each time.
RELEASE_FRACTION = 0.5


@dataclass(frozen=True, eq=False)
class CusumResult:
    """Path of a lower CUSUM and its first alarm.

    ``statistic[t]`` is S_t; ``alarm`` is the first index with S_t > h (None if never);
    ``onset`` is the index after the last time S was 0 before that alarm (None without alarm).
    """

    statistic: np.ndarray
    alarm: int | None
    onset: int | None


@dataclass(frozen=True)
class Finding:
    """What the monitor concludes about one KPI series on its latest day.

    ``baseline_value`` and ``current_value`` are in the KPI's units (the baseline mean and the
    mean of the last 7 days); ``relative_change`` is ``(current - baseline) / |baseline|``, so a
    fall is negative whatever the KPI's direction; ``weekly_slope`` is the Sen slope of the
    weekly means per week relative to ``|baseline|``, same sign convention. ``since`` is the
    onset of a decline, or the first week of the window a flattening was measured on. Values
    that cannot be computed (no data, a zero baseline) are None; ``cusum`` is the final CUSUM
    statistic (0 when not computed). ``min_effect`` is the minimum effect the series was held
    to, relative to ``|baseline|``: the catalogue's, or the one its sampling error sets.
    """

    status: Status
    since: date | None = None
    baseline_value: float | None = None
    current_value: float | None = None
    relative_change: float | None = None
    cusum: float = 0.0
    weekly_slope: float | None = None
    min_effect: float | None = None
    detail: str = ""
    # a count KPI's decline (evaluate_counts): the counts made and expected from its onset
    observed_count: float | None = None
    expected_count: float | None = None


def monitored_start(first_day: date, n: int, baseline_days: int, monitor_days: int) -> int:
    """Index of the first monitored day in a daily series of ``n`` days from ``first_day``.

    The monitored window starts on an anchor day, a Monday of a fixed four-weekly grid
    (REANCHOR_DAYS), chosen so the window is at least ``monitor_days`` long (and shorter than
    ``monitor_days + REANCHOR_DAYS``); the baseline is the ``baseline_days`` before it. A history
    too short for that keeps its first ``baseline_days`` as the baseline. Between two anchors, each
    day's evaluation therefore extends the previous day's CUSUM instead of re-scoring the recent
    past against a reference that moved by a day.

    >>> monitored_start(date(2025, 1, 6), 400, 91, 182)  # day 196 is Monday 2025-07-21
    196
    >>> monitored_start(date(2025, 1, 6), 150, 91, 182)
    91
    """
    latest = n - monitor_days
    # date(1, 1, 1) has ordinal 1 and is a Monday, so anchors are every fourth Monday from it.
    anchored = latest - (first_day.toordinal() - 1 + latest) % REANCHOR_DAYS
    return max(baseline_days, anchored)


def weekday_adjust(
    dates: Sequence[date], values: np.ndarray, baseline_mask: np.ndarray | Sequence[bool]
) -> np.ndarray:
    """Divide each value by its weekday's multiplicative factor, estimated on the baseline only.

    The factor of a weekday is its baseline mean over the mean of the weekday means (a balanced
    mean, so a gap on a Saturday does not tilt the reference). A weekday with no baseline data,
    a zero reference or a non-positive factor (a weekday mean of the other sign than the level,
    where a multiplicative profile means nothing) keeps factor 1. NaN stays NaN.
    """
    x = np.asarray(values, dtype=float)
    mask = np.asarray(baseline_mask, dtype=bool)
    if x.shape != mask.shape or len(dates) != x.size:
        raise ValueError("dates, values and baseline_mask must have the same length")
    weekdays = np.fromiter((d.weekday() for d in dates), dtype=int, count=x.size)
    usable = mask & np.isfinite(x)
    day_means = np.full(7, np.nan)
    for weekday in range(7):
        selected = usable & (weekdays == weekday)
        if selected.any():
            day_means[weekday] = x[selected].mean()
    factors = np.ones(7)
    present = np.isfinite(day_means)
    if present.any():
        level = day_means[present].mean()
        if level != 0.0 and np.isfinite(level):
            ratio = day_means / level
            valid = present & np.isfinite(ratio) & (ratio > 0.0)
            factors[valid] = ratio[valid]
    return x / factors[weekdays]


def cusum_decline(
    values: np.ndarray | Sequence[float],
    baseline_mean: float,
    baseline_sd: float,
    k: float = DEFAULT_K,
    h: float = DEFAULT_H,
) -> CusumResult:
    """One-sided lower CUSUM on z = (x - mean) / sd, capped at CUSUM_CAP * h:
    S_t = min(CUSUM_CAP * h, max(0, S_{t-1} - z_t - k)), S_{-1} = 0.

    A missing value (NaN) carries the statistic over unchanged. The path is not reset at the
    alarm. The cap changes nothing up to the alarm; after it, an uncapped statistic grows with
    every day of a long decline and then needs months of normal days to return to 0, and until
    it does every noisy week could re-open the alert.
    """
    if not (math.isfinite(baseline_sd) and baseline_sd > 0.0):
        raise ValueError(f"baseline_sd must be positive and finite, got {baseline_sd!r}")
    z = (np.asarray(values, dtype=float) - baseline_mean) / baseline_sd
    return _accumulate(-z - k, h)


def _accumulate(steps: np.ndarray, h: float) -> CusumResult:
    """S_t = min(CUSUM_CAP * h, max(0, S_{t-1} + step_t)), a NaN step carrying S over; the
    alarm is the first day above ``h``, its onset the day after the last zero before it."""
    path = np.empty(steps.size)
    ceiling = CUSUM_CAP * h
    statistic = 0.0
    last_zero = -1
    alarm: int | None = None
    onset: int | None = None
    for t, step in enumerate(steps):
        if math.isfinite(step):
            statistic = min(ceiling, max(0.0, statistic + step))
        path[t] = statistic
        if alarm is None:
            if statistic == 0.0:
                last_zero = t
            elif statistic > h:
                alarm, onset = t, last_zero + 1
    path.flags.writeable = False
    return CusumResult(statistic=path, alarm=alarm, onset=onset)


def sen_slope(
    y: np.ndarray | Sequence[float], x: np.ndarray | Sequence[float] | None = None
) -> float:
    """Median of the pairwise slopes (Theil-Sen), per step of ``x`` (default 0, 1, 2, ...).

    NaN points are ignored; fewer than two points give NaN.
    """
    yy = np.asarray(y, dtype=float)
    xx = np.arange(yy.size, dtype=float) if x is None else np.asarray(x, dtype=float)
    keep = np.isfinite(yy) & np.isfinite(xx)
    yy, xx = yy[keep], xx[keep]
    i, j = np.triu_indices(yy.size, k=1)
    dx = xx[j] - xx[i]
    distinct = dx != 0.0
    if not distinct.any():
        return math.nan
    return float(np.median((yy[j] - yy[i])[distinct] / dx[distinct]))


def weekly_means(
    dates: Sequence[date], values: np.ndarray | Sequence[float]
) -> tuple[list[date], np.ndarray]:
    """Means of complete ISO weeks (Monday to Sunday, seven finite values), oldest first.

    A partial week (the current one, or one with a gap) would tilt its mean by its weekday mix,
    so it is left out.
    """
    x = np.asarray(values, dtype=float)
    if len(dates) != x.size:
        raise ValueError("dates and values must have the same length")
    weeks: dict[date, list[float]] = {}
    for day, value in zip(dates, x, strict=True):
        if math.isfinite(value):
            weeks.setdefault(day - timedelta(days=day.weekday()), []).append(float(value))
    complete = sorted(start for start, members in weeks.items() if len(members) == 7)
    return complete, np.array([np.mean(weeks[start]) for start in complete], dtype=float)


def baseline_scale(adjusted_baseline: np.ndarray, min_effect: float) -> tuple[float, float]:
    """Mean and the standard deviation the CUSUM standardizes with.

    The sample standard deviation is inflated to the long-run one of an AR(1) process,
    sd * sqrt((1 + phi) / (1 - phi)), with the lag-1 autocorrelation phi clipped to
    [0, MAX_AUTOCORRELATION]. A CUSUM sums days, and positively correlated days wander further
    than independent ones: on AR(1) noise with phi = 0.5 the plain standard deviation gives
    about 3.9 false alarms per KPI-year with the default k and h, the long-run one 0.5. The
    result is floored at SD_FLOOR_FRACTION * min_effect * |mean|, and at a tiny positive number
    so it can divide. Needs at least one finite value.
    """
    x = np.asarray(adjusted_baseline, dtype=float)
    finite = x[np.isfinite(x)]
    mean = float(finite.mean()) if finite.size else math.nan
    sd = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    centred = x - mean
    pairs = np.isfinite(centred[1:]) & np.isfinite(centred[:-1])
    denominator = float(np.sum(centred[np.isfinite(centred)] ** 2))
    phi = 0.0
    if pairs.sum() > 2 and denominator > 0.0:
        phi = float(np.sum(centred[1:][pairs] * centred[:-1][pairs])) / denominator
    phi = min(max(phi, 0.0), MAX_AUTOCORRELATION)
    long_run = sd * math.sqrt((1.0 + phi) / (1.0 - phi))
    floor = SD_FLOOR_FRACTION * min_effect * abs(mean)
    tiny = 1e-12 * max(1.0, abs(mean))
    return mean, max(long_run, floor, tiny)


def sampling_error(
    level: float, sample_size: float, observation_range: tuple[float, float]
) -> float:
    """Standard error of the mean of ``sample_size`` observations in ``observation_range`` that
    average ``level``.

    One observation's variance is at most (level - low) * (high - level) (Bhatia and Davis
    2000), reached when every observation is at an end of the range: exact for a share (the
    binomial p * (1 - p)), an upper bound for a score whose observations also fall in between
    (an NPS with passives, a star rating). NaN without a positive sample size.

    A level at an end of the range (every customer a repeat customer) is read one observation
    in ``sample_size + 1`` away from it: the next observation could be the first at the other
    end, and an error of 0 would make any move beyond chance.

    >>> sampling_error(80.0, 100, (0.0, 100.0))  # sqrt(80 * 20 / 100)
    4.0
    >>> round(sampling_error(1.0, 45, (0.0, 1.0)), 4)  # as 45 of 46: sqrt(45/46 * 1/46 / 45)
    0.0217
    """
    low, high = observation_range
    if not (math.isfinite(sample_size) and sample_size > 0):
        return math.nan
    edge = (high - low) / (sample_size + 1)
    level = min(max(level, low + edge), high - edge)
    return math.sqrt(max(0.0, (level - low) * (high - level)) / sample_size)


def event_move(count: float, sign: float) -> float:
    """How far chance alone moves a count of events expected at ``count`` (Poisson) the bad
    way, down when ``sign`` is 1 and up when -1: SAMPLING_Z standard errors (sqrt(count)), or
    below NORMAL_COUNT the first count whose tail is at most SAMPLING_TAIL. inf when no count
    is that far (a fall of a count too small to tell from none), NaN without a count.

    >>> event_move(0.08, -1)  # 2 events where 0.08 are expected are beyond chance, 1 is not
    1.92
    >>> event_move(3.0, 1)  # not even none of 3 expected is
    inf
    >>> event_move(16.0, 1)
    10.0
    """
    if not (math.isfinite(count) and count >= 0):
        return math.nan
    if count >= NORMAL_COUNT:
        return SAMPLING_Z * math.sqrt(count)
    below = 0.0  # P(X < c)
    for c in range(10 * int(NORMAL_COUNT) + 1):
        if sign < 0 and 1.0 - below <= SAMPLING_TAIL:
            return c - count
        below += math.exp(c * math.log(count) - count - math.lgamma(c + 1)) if count else c == 0
        if sign > 0 and below > SAMPLING_TAIL:
            return count - (c - 1) if c > 0 else math.inf
    return math.inf


def evaluate(
    dates: Sequence[date],
    values: np.ndarray | Sequence[float],
    *,
    direction: Direction,
    min_effect: float,
    expected_weekly_growth: float = 0.0,
    baseline_days: int = 182,
    monitor_days: int = 182,
    k: float = DEFAULT_K,
    h: float = DEFAULT_H,
    flat_weeks: int = 12,
    alerting: bool = False,
    absolute: bool = False,
    sample_sizes: np.ndarray | Sequence[float] | None = None,
    observation_range: tuple[float, float] | None = None,
    events: bool = False,
) -> Finding:
    """Score one daily KPI series on its latest day.

    ``dates`` need not be contiguous: the series is laid on a full daily calendar from its first
    finite value to its last date, and missing days are ignored. The monitored window runs from
    :func:`monitored_start` to the last day (at least ``monitor_days`` days, fewer than
    ``monitor_days + REANCHOR_DAYS``) and the baseline is the ``baseline_days`` before it; when
    the history is shorter, the baseline keeps its length and the monitored window shrinks (to
    at least MIN_MONITOR_DAYS). ``min_effect`` and ``expected_weekly_growth`` are fractions of the
    baseline level (0.05 = 5 %); for a lower-is-better KPI, growth means going down. With
    ``absolute``, ``min_effect`` is in the KPI's units instead (5 NPS points).

    A KPI that is a share or mean of a sample gives its ``sample_sizes`` (one per date) and the
    ``observation_range`` of one observation: its minimum effect is then at least SAMPLING_Z
    standard errors (:func:`sampling_error` at the baseline level) of the smallest sample of the
    week it is read on, so a thin sample's chance moves never page and a large one's real moves
    do (answers that come late thin the last days' samples, not the weeks before them). A KPI
    of ``events`` counts events (leads, reviews, customers lapsing in a window), or events per
    its sample when it has sample sizes (lapses per customer): its minimum effect is at least
    the move chance leaves to a count of its baseline (:func:`event_move`), on the same week's
    smallest sample. That effect gates the decline and sets the flattening tolerance; the
    CUSUM's standard-deviation floor keeps the catalogue's minimum effect, so each day's CUSUM
    still extends the previous day's.

    Status, in order of precedence: ``no_data`` (no finite value), ``insufficient_history``
    (fewer than ``baseline_days`` + 7 days, or a baseline less than half filled), ``no_data``
    (no value in the last 7 days: stale), ``constant`` (baseline without variance and every
    monitored value equal to it), ``decline`` (CUSUM in alarm in its current excursion, and a
    7-day mean ending in the last RECENT_DAYS days at least ``min_effect`` worse than the
    baseline), ``flattening`` (weekly Sen slope below ``expected_weekly_growth`` minus a
    tolerance), else ``ok``. ``alerting`` says the series was in decline on the previous
    evaluation: the effect gate then holds the decline until the worst recent week is back within
    RELEASE_FRACTION of ``min_effect``. A zero baseline mean makes
    relative changes undefined: such a series is reported ``ok`` with that reason in ``detail``.

    Flattening tolerance: ``max(min_effect / flat_weeks, 2 * standard error of the slope)``. The
    first term means the level ends the window ``min_effect`` short of where the expected growth
    would have taken it; the second keeps a noisy weekly series from reading as a stall.
    """
    if direction not in ("higher_is_better", "lower_is_better"):
        raise ValueError(f"unknown direction {direction!r}")
    sign = 1.0 if direction == "higher_is_better" else -1.0
    calendar, series = _daily_calendar(dates, values)

    if series.size == 0:
        return Finding("no_data", detail="The series has no finite value.")
    n = series.size
    if n - baseline_days < MIN_MONITOR_DAYS:
        return Finding(
            "insufficient_history",
            detail=f"{n} days of history; {baseline_days + MIN_MONITOR_DAYS} needed "
            f"({baseline_days} baseline + {MIN_MONITOR_DAYS} monitored).",
        )
    start = monitored_start(calendar[0], n, baseline_days, monitor_days)
    base = slice(start - baseline_days, start)
    filled = int(np.isfinite(series[base]).sum())
    if filled < max(2, math.ceil(baseline_days / 2)):
        return Finding(
            "insufficient_history",
            detail=f"Only {filled} of {baseline_days} baseline days have a value.",
        )
    latest = series[n - CURRENT_DAYS :]
    if not np.isfinite(latest).any():
        last_day = calendar[int(np.flatnonzero(np.isfinite(series))[-1])]
        return Finding(
            "no_data",
            detail=f"No value in the last {CURRENT_DAYS} days (last on {last_day.isoformat()}).",
        )

    baseline_value = float(np.nanmean(series[base]))
    current_value = float(np.nanmean(latest))
    scored = series[start:]
    spread = float(np.nanmax(series[base]) - np.nanmin(series[base]))
    rounding = 1e-12 * max(1.0, abs(baseline_value))
    if spread <= rounding and np.all(
        np.abs(scored[np.isfinite(scored)] - baseline_value) <= rounding
    ):
        return Finding(
            "constant",
            detail=f"Baseline and monitored values are all {baseline_value:g}.",
            baseline_value=baseline_value,
            current_value=current_value,
            relative_change=0.0 if baseline_value != 0.0 else None,
        )
    if abs(baseline_value) <= 1e-12:
        return Finding(
            "ok",
            detail="The baseline mean is 0, so a relative change is undefined; not scored.",
            baseline_value=baseline_value,
            current_value=current_value,
        )

    relative_change = (current_value - baseline_value) / abs(baseline_value)
    floor = min_effect / abs(baseline_value) if absolute else min_effect
    sizes = None if sample_sizes is None else _on_calendar(calendar, dates, sample_sizes)

    def effect_of(smallest: float) -> tuple[float, str]:
        """The minimum effect of a week whose smallest sample is ``smallest``, and its why."""
        if events:
            per = smallest if math.isfinite(smallest) and smallest > 0 else 1.0
            count = abs(baseline_value) * per
            return max(floor, event_move(count, sign) / count), (
                f", beyond chance for a count of {count:.3g}"
            )
        error = (
            math.nan
            if observation_range is None
            else sampling_error(baseline_value, smallest, observation_range)
        )
        if not math.isfinite(error):
            return floor, ""
        return max(floor, SAMPLING_Z * error / abs(baseline_value)), (
            f", at least {SAMPLING_Z:g} standard errors of a sample of {smallest:.0f}"
        )

    # The gate's week: of the 7-day means ending in the last RECENT_DAYS days, the one furthest
    # beyond its own minimum effect (a week of fuller samples needs a smaller move).
    gate_factor = RELEASE_FRACTION if alerting else 1.0
    worst_change, effect, sampled = max(
        (
            (change, *effect_of(smallest))
            for change, smallest in _recent_weeks(series, sizes, start, baseline_value)
        ),
        key=lambda week: -sign * week[0] - week[1] * gate_factor,
    )
    numbers: dict[str, Any] = {
        "baseline_value": baseline_value,
        "current_value": current_value,
        "relative_change": relative_change,
        "min_effect": effect,
    }

    base_mask = np.zeros(n, dtype=bool)
    base_mask[base] = True
    oriented = sign * weekday_adjust(calendar, series, base_mask)
    mean, scale = baseline_scale(oriented[base], floor)
    path = cusum_decline(oriented[start:], mean, scale, k=k, h=h).statistic
    numbers["cusum"] = float(path[-1])

    # The excursion still under way starts after the last day S was 0; an alarm earlier in the
    # window whose excursion has ended is a recovered decline, not a current one.
    zeros = np.flatnonzero(path == 0.0)
    onset = int(zeros[-1]) + 1 if zeros.size else 0
    in_alarm = onset < path.size and float(path[onset:].max()) > h
    weekly_slope, tolerance_weekly, weeks_used, first_week = _weekly_trend(
        calendar, series, baseline_value, flat_weeks, effect
    )
    numbers["weekly_slope"] = weekly_slope

    if in_alarm:
        onset_day = calendar[start + onset]
        since_onset = float(np.nanmean(series[start + onset :]))
        onset_change = (since_onset - baseline_value) / abs(baseline_value)
        worst = (
            "" if worst_change == relative_change else f", worst recent week {worst_change:+.1%}"
        )
        gate = effect * gate_factor
        # (a count exactly at its threshold is at it, whatever the rounding of the division)
        if -sign * worst_change >= gate * (1.0 - 1e-9):
            return Finding(
                "decline",
                detail=f"CUSUM {path[-1]:.1f} > h={h:g} since {onset_day.isoformat()}; last "
                f"{CURRENT_DAYS} days {relative_change:+.1%}{worst}, since onset "
                f"{onset_change:+.1%} vs baseline (min effect {effect:.1%}{sampled}).",
                since=onset_day,
                **numbers,
            )
        quiet = (
            f"CUSUM alarm since {onset_day.isoformat()} but every week of the last {RECENT_DAYS} "
            f"days (the last {CURRENT_DAYS}: {relative_change:+.1%}) is within the "
            f"{effect:.1%} minimum effect{sampled}."
            if math.isfinite(effect)
            else f"CUSUM alarm since {onset_day.isoformat()} but no move is beyond chance"
            f"{sampled.removeprefix(', beyond chance')}."
        )
    else:
        quiet = (
            f"CUSUM {path[-1]:.1f} <= h={h:g}; last {CURRENT_DAYS} days "
            f"{relative_change:+.1%} vs baseline."
        )

    if (
        expected_weekly_growth > 0.0
        and weekly_slope is not None
        and tolerance_weekly is not None
        and sign * weekly_slope < expected_weekly_growth - tolerance_weekly
    ):
        return Finding(
            "flattening",
            detail=f"Weekly Sen slope {weekly_slope:+.2%}/week over {weeks_used} weeks against "
            f"{sign * expected_weekly_growth:+.2%} expected (tolerance {tolerance_weekly:.2%}).",
            since=first_week,
            **numbers,
        )
    return Finding("ok", detail=quiet, **numbers)


def poisson_cusum_decline(
    counts: np.ndarray | Sequence[float],
    expected: np.ndarray | Sequence[float],
    shift: float,
    h: float = COUNT_H,
) -> CusumResult:
    """One-sided CUSUM of Poisson counts for a fall to ``1 - shift`` of their expected means:
    S_t = min(CUSUM_CAP * h, max(0, S_{t-1} + shift * m_t + x_t * log(1 - shift))), the
    log-likelihood ratio of a fall against none (Lucas 1985), so a day weighs by its expected
    count and a thin sample cannot page by chance. A day without a count or an expectation
    (NaN) carries the statistic over; alarm and onset as in :func:`cusum_decline`.

    >>> poisson_cusum_decline([0, 0], [10.0, 10.0], 0.5, h=4).alarm  # 5 + 5 > 4 on day 1
    0
    """
    if not 0.0 < shift < 1.0:
        raise ValueError(f"shift must be between 0 and 1, got {shift!r}")
    x = np.asarray(counts, dtype=float)
    m = np.asarray(expected, dtype=float)
    if x.shape != m.shape:
        raise ValueError("counts and expected must have the same length")
    return _accumulate(shift * m + x * math.log(1.0 - shift), h)


def evaluate_counts(
    dates: Sequence[date],
    counts: np.ndarray | Sequence[float],
    expected: np.ndarray | Sequence[float],
    *,
    min_effect: float,
    reference: np.ndarray | Sequence[float] | None = None,
    baseline_days: int = 182,
    monitor_days: int = 182,
    h: float = COUNT_H,
    alerting: bool = False,
) -> Finding:
    """Score a daily count against what was expected of it (a higher-is-better KPI), on its
    latest day.

    ``counts`` are what happened (the purchases the existing customers made), ``expected`` what
    was expected of them (from each customer's own rhythm) and ``reference`` each day's factor
    for what moves every count alike (the same ratio elsewhere in the company that week, or a
    year earlier: the season, a holiday); all three are on ``dates``, a full daily calendar,
    NaN where missing. The count expected on a day is ``expected * reference`` times the
    calibration of its weekday: the ratio of counts to that product on that weekday over the
    frozen baseline (the ``baseline_days`` before the monitored window, as in
    :func:`evaluate`). A decline is :func:`poisson_cusum_decline` for a fall of ``min_effect``,
    with the threshold ``h`` times the baseline's :func:`overdispersion`, in alarm in its
    current excursion, and the last RECENT_DAYS days at least ``min_effect`` short of their
    expected count (half of it while ``alerting``). The values reported are ratios of counts
    to ``expected`` as the KPI shows them: the baseline's and the latest week's;
    ``observed_count`` and ``expected_count`` are the counts from the onset of a decline, the
    latter calibrated as the test expects them.
    """
    x = np.asarray(counts, dtype=float)
    e = np.asarray(expected, dtype=float)
    q = np.ones(x.size) if reference is None else np.asarray(reference, dtype=float)
    if not (len(dates) == x.size == e.size == q.size):
        raise ValueError("dates, counts, expected and reference must have the same length")
    if any((b - a).days != 1 for a, b in pairwise(dates)):
        raise ValueError("dates must be consecutive days")
    usable = np.isfinite(x) & np.isfinite(e) & np.isfinite(q) & (e > 0)
    n = x.size
    if not usable.any():
        return Finding("no_data", detail="No day has a count and an expected count.")
    if n - baseline_days < MIN_MONITOR_DAYS:
        return Finding(
            "insufficient_history",
            detail=f"{n} days of history; {baseline_days + MIN_MONITOR_DAYS} needed.",
        )
    start = monitored_start(dates[0], n, baseline_days, monitor_days)
    base = np.zeros(n, dtype=bool)
    base[start - baseline_days : start] = True
    base &= usable
    if base.sum() < max(2, math.ceil(baseline_days / 2)):
        return Finding(
            "insufficient_history",
            detail=f"Only {int(base.sum())} of {baseline_days} baseline days have a count, its "
            "expected count and a reference to compare with (a total's is the same weeks a year "
            "earlier: its history must reach a year before the baseline).",
        )
    if not usable[n - CURRENT_DAYS :].any():
        return Finding("no_data", detail=f"No count in the last {CURRENT_DAYS} days.")
    modelled = np.where(usable, e * q, np.nan)
    weekdays = np.fromiter((day.weekday() for day in dates), dtype=int, count=n)
    # a weekday with nothing due in the baseline (a business's Sunday) expects nothing
    factors = np.zeros(7)
    for weekday in range(7):
        on = base & (weekdays == weekday)
        due = modelled[on].sum()
        factors[weekday] = x[on].sum() / due if due > 0 else 0.0
    if x[base].sum() <= 0:
        return Finding("ok", detail="No count in the baseline, so none is expected; not scored.")
    mean = factors[weekdays] * modelled
    observed = np.where(usable, x, np.nan)
    dispersion = overdispersion(x[base], mean[base])

    def ratio(window: slice) -> float:
        made, due = np.nansum(observed[window]), np.nansum(mean[window])
        return float(made / due) if due > 0 else 1.0

    baseline_value = float(x[base].sum() / e[base].sum())
    week = slice(n - CURRENT_DAYS, n)
    current_value = float(np.nansum(observed[week]) / np.nansum(np.where(usable, e, np.nan)[week]))
    recent = ratio(slice(max(start, n - RECENT_DAYS), n))
    numbers: dict[str, Any] = {
        "baseline_value": baseline_value,
        "current_value": current_value,
        "relative_change": (current_value - baseline_value) / baseline_value,
        "min_effect": min_effect,
    }
    path = poisson_cusum_decline(
        observed[start:], mean[start:], min_effect, h * dispersion
    ).statistic
    numbers["cusum"] = float(path[-1])
    zeros = np.flatnonzero(path == 0.0)
    onset = int(zeros[-1]) + 1 if zeros.size else 0
    if onset < path.size and float(path[onset:].max()) > h:
        made = float(np.nansum(observed[start + onset :]))
        due = float(np.nansum(mean[start + onset :]))
        gate = min_effect * (RELEASE_FRACTION if alerting else 1.0)
        if 1.0 - recent >= gate:
            return Finding(
                "decline",
                detail=f"Poisson CUSUM {path[-1]:.1f} > h={h:g} since "
                f"{dates[start + onset].isoformat()}: {made:.0f} made against {due:.0f} "
                f"expected; the last {RECENT_DAYS} days {recent - 1.0:+.1%} (min effect "
                f"{min_effect:.0%}).",
                since=dates[start + onset],
                observed_count=made,
                expected_count=due,
                **numbers,
            )
    return Finding(
        "ok",
        detail=f"Poisson CUSUM {path[-1]:.1f} <= h={h:g} or the last {RECENT_DAYS} days "
        f"({recent - 1.0:+.1%}) within the {min_effect:.0%} minimum effect.",
        **numbers,
    )


def overdispersion(counts: np.ndarray, means: np.ndarray) -> float:
    """How much more counts vary than Poisson counts of these means (at least 1): the mean of
    (x - m)^2 / m. Customers who order together, and a reference that is itself counted, spread
    the counts wider; a CUSUM threshold multiplied by it keeps its false alarm rate.

    >>> overdispersion(np.array([0.0, 4.0]), np.array([2.0, 2.0]))
    2.0
    """
    x = np.asarray(counts, dtype=float)
    m = np.asarray(means, dtype=float)
    keep = np.isfinite(x) & np.isfinite(m) & (m > 0)
    if not keep.any():
        return 1.0
    return max(1.0, float(np.mean((x[keep] - m[keep]) ** 2 / m[keep])))


def _trailing_sum(x: np.ndarray, days: int) -> np.ndarray:
    """Sum of each day's last ``days`` values (NaN counts 0), NaN before ``days`` are there."""
    filled = np.concatenate([[0.0], np.cumsum(np.nan_to_num(x))])
    out = np.full(x.size, np.nan)
    out[days - 1 :] = filled[days:] - filled[:-days]
    return out


def reference_from_rest(
    counts: np.ndarray,
    expected: np.ndarray,
    total_counts: np.ndarray,
    total_expected: np.ndarray,
    days: int = REST_DAYS,
) -> np.ndarray:
    """Each day's ratio of counts to expected counts in the rest of the company (the total less
    the member) over the ``days`` ending that day: what moved everyone then (the season, a
    holiday), so that a member is compared with the others. A whole week is weekday-balanced.

    >>> reference_from_rest(np.array([2.0, 0.0]), np.array([4.0, 4.0]),
    ...                     np.array([12.0, 8.0]), np.array([14.0, 14.0]), days=2)
    array([nan, 0.9])
    """
    made = np.asarray(total_counts, dtype=float) - np.asarray(counts, dtype=float)
    due = np.asarray(total_expected, dtype=float) - np.asarray(expected, dtype=float)
    made_sum, due_sum = _trailing_sum(made, days), _trailing_sum(due, days)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(due_sum > 0, made_sum / due_sum, np.nan)


def reference_from_last_year(
    counts: np.ndarray, expected: np.ndarray, days: int = SEASON_DAYS
) -> np.ndarray:
    """Each day's ratio of counts to expected counts a year (52 weeks) earlier, over the
    ``days`` centred on that day: the season as it was. NaN where that year has no expected
    count.

    >>> float(reference_from_last_year(np.full(370, 2.0), np.full(370, 4.0), days=5)[-1])
    0.5
    """
    x = np.asarray(counts, dtype=float)
    e = np.asarray(expected, dtype=float)
    made, due = _trailing_sum(x, days), _trailing_sum(e, days)
    lag = 364 - days // 2  # the window ends this many days before the day it serves
    out = np.full(x.size, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[lag:] = np.where(due[:-lag] > 0, made[:-lag] / due[:-lag], np.nan)
    return out


def holidays(counts: np.ndarray, fraction: float = HOLIDAY_FRACTION) -> np.ndarray:
    """The days whose count fell below ``fraction`` of their weekday's usual count, when that
    is at least HOLIDAY_COUNT: the median of the same weekday one to three weeks before
    and after (the days on the series).

    >>> holidays(np.r_[np.full(21, 10.0), 2.0, np.full(21, 10.0)]).nonzero()[0]
    array([21])
    """
    x = np.asarray(counts, dtype=float)
    around = np.full((6, x.size), np.nan)
    for row, shift in enumerate((-21, -14, -7, 7, 14, 21)):
        if shift < 0:
            around[row, -shift:] = x[:shift]
        else:
            around[row, :-shift] = x[shift:]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a day with no neighbour: no median
        usual = np.nanmedian(around, axis=0)
    return np.isfinite(x) & (usual >= HOLIDAY_COUNT) & (x < fraction * usual)


def without_closed_days(
    reference: np.ndarray,
    counts: np.ndarray,
    dates: Sequence[date],
    others: np.ndarray | None = None,
) -> np.ndarray:
    """``reference`` without the days it cannot speak for, of which nothing is expected: those
    whose weekday a year (52 weeks) earlier, or whose date a year earlier, was a holiday of the
    member's (:func:`holidays`: a closure, a public holiday, which a reference smoothed over a
    week cannot expect, and which falls on the same date each year rather than the same
    weekday); and, given ``others`` (the rest of the company's counts on the same days), the
    days that are a holiday for the rest of the company (below REST_HOLIDAY_FRACTION of its
    usual count). ``dates`` is a full daily calendar.

    >>> days = [date(2024, 1, 1) + timedelta(days=i) for i in range(370)]
    >>> without_closed_days(np.ones(370), np.r_[0.0, np.full(369, 20.0)], days)[364:368]
    array([nan,  1., nan,  1.])
    """
    out = np.array(reference, dtype=float)
    closed = holidays(counts)
    out[364:][closed[:-364]] = np.nan
    first = dates[0]
    for i, day in enumerate(dates):
        earlier = (_a_year_before(day) - first).days
        if earlier >= 0 and closed[earlier]:
            out[i] = np.nan
    if others is not None:
        out[holidays(others, REST_HOLIDAY_FRACTION)] = np.nan
    return out


def _a_year_before(day: date) -> date:
    """The same date a year earlier (29 February: the 28th).

    >>> _a_year_before(date(2024, 2, 29)), _a_year_before(date(2026, 1, 1))
    (datetime.date(2023, 2, 28), datetime.date(2025, 1, 1))
    """
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


def severity(finding: Finding, min_effect: float) -> str:
    """Escalation level: "critical" for a decline of at least twice the minimum effect.

    A smaller decline and any flattening are "warning" (a stall that turns into a fall becomes a
    decline, and escalates there); every other status is "none".
    """
    if finding.status == "flattening":
        return "warning"
    if finding.status != "decline" or finding.relative_change is None:
        return "none"
    return "warning" if abs(finding.relative_change) < 2.0 * min_effect else "critical"


def _daily_calendar(
    dates: Sequence[date], values: np.ndarray | Sequence[float]
) -> tuple[list[date], np.ndarray]:
    """Lay the series on every day from its first finite value to its last date (NaN = missing)."""
    x = np.asarray(values, dtype=float).ravel()
    if len(dates) != x.size:
        raise ValueError(f"{len(dates)} dates for {x.size} values")
    if x.size == 0:
        return [], x
    order = sorted(range(x.size), key=lambda i: dates[i])
    days = [dates[i] for i in order]
    x = x[order]
    if any(a == b for a, b in pairwise(days)):
        raise ValueError("dates must be unique")
    finite = np.flatnonzero(np.isfinite(x))
    if finite.size == 0:
        return [], np.empty(0)
    first, last = days[int(finite[0])], days[-1]
    n = (last - first).days + 1
    series = np.full(n, np.nan)
    for day, value in zip(days[int(finite[0]) :], x[int(finite[0]) :], strict=True):
        series[(day - first).days] = value if math.isfinite(value) else np.nan
    return [first + timedelta(days=i) for i in range(n)], series


def _on_calendar(
    calendar: list[date], dates: Sequence[date], values: np.ndarray | Sequence[float]
) -> np.ndarray:
    """``values`` (one per date) on the days of ``calendar``; NaN on a day without one."""
    x = np.asarray(values, dtype=float).ravel()
    if len(dates) != x.size:
        raise ValueError(f"{len(dates)} dates for {x.size} values")
    index = {day: i for i, day in enumerate(calendar)}
    laid = np.full(len(calendar), np.nan)
    for day, value in zip(dates, x, strict=True):
        if day in index:
            laid[index[day]] = value
    return laid


def _recent_weeks(
    series: np.ndarray, sizes: np.ndarray | None, start: int, level: float
) -> list[tuple[float, float]]:
    """Each 7-day mean ending in the last RECENT_DAYS days: its change relative to ``level`` and
    the smallest sample of its days (NaN without sample sizes).

    Only weeks inside the monitored window (from ``start``) count; the latest week always does.
    The mean of a week's values errs by at most the standard error of its smallest sample.
    """
    n = series.size
    weeks = []
    for end in range(max(start + CURRENT_DAYS, n - RECENT_DAYS + CURRENT_DAYS), n + 1):
        week = series[end - CURRENT_DAYS : end]
        if not np.isfinite(week).any():
            continue
        sample = np.empty(0) if sizes is None else sizes[end - CURRENT_DAYS : end]
        smallest = float(np.nanmin(sample)) if np.isfinite(sample).any() else math.nan
        weeks.append(((float(np.nanmean(week)) - level) / abs(level), smallest))
    return weeks


def _weekly_trend(
    calendar: list[date],
    series: np.ndarray,
    level: float,
    flat_weeks: int,
    min_effect: float,
) -> tuple[float | None, float | None, int, date | None]:
    """Sen slope of the recent complete weekly means, relative to ``|level|``, and its tolerance.

    Uses the complete weeks among the last ``flat_weeks`` calendar weeks that have ended; needs
    at least two thirds of them, and 3 for a standard error, to say anything.
    """
    last_day = calendar[-1]
    last_monday = last_day - timedelta(days=last_day.weekday())
    if last_day.weekday() != 6:
        last_monday -= timedelta(days=7)
    first_monday = last_monday - timedelta(days=7 * (flat_weeks - 1))
    window = [
        i for i, day in enumerate(calendar) if first_monday <= day < last_monday + timedelta(7)
    ]
    if not window:
        return None, None, 0, None
    starts, means = weekly_means([calendar[i] for i in window], series[window])
    needed = max(3, math.ceil(2 * flat_weeks / 3))
    if len(starts) < needed:
        return None, None, len(starts), None
    x = np.array([(start - first_monday).days / 7 for start in starts])
    slope = sen_slope(means, x)
    residuals = means - (slope * x + float(np.median(means - slope * x)))
    standard_error = math.sqrt(float(np.sum(residuals**2)) / (x.size - 2)) / math.sqrt(
        float(np.sum((x - x.mean()) ** 2))
    )
    tolerance = max(min_effect / flat_weeks, 2.0 * standard_error / abs(level))
    return slope / abs(level), tolerance, len(starts), starts[0]
