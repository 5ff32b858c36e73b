"""Alert quality of the decline detector on simulated daily KPI series with known declines.

    python benchmarks/alert_quality.py [--series N] [--seed S] [--yearly A] [--markdown]

Reports, per scenario, the median and 90th-percentile detection delay (the days of decline
behind the first alarm: a step caught on its first day has delay 1) and the share detected
within 60 days, and the false alarms per KPI-year on series without a change, for the
product's detector (``trend.evaluate``) and two rolling z-scores typical of data-quality tools;
then how the product's alarm ends after a decline that recovers.

Simulated series, amounts in noise standard deviations (sd):

* level 100 and noise sd 3 (a 3 % coefficient of variation), AR(1) with phi 0 or 0.5 and a
  marginal sd of 3, so "0.05 sd a day" is the same decline whatever phi;
* a multiplicative weekly profile (busy Monday, quiet Saturday at -15 %) with a random phase;
* a yearly sinusoid of ``--yearly`` sd with a random phase (default 0.5 sd, +-1.5 % of the
  level), reported next to series without one: KPIs over a trailing 365-day window (ACV and
  its factors) have none, those over 30 or 90 days (leads, visitors, reviews) can;
* no change (two years of daily evaluations per series, for false alarms), or from a random day
  a ramp of 0.02, 0.05 or 0.1 sd a day or a step of 1 or 2 sd, followed for 120 days; and a
  2 sd step that ends after 60 days, followed for 120 days more.

The product's detector runs as the monitor runs it: every day, on the history up to that day,
with ``alerting`` set when it was in decline the day before (the effect gate then drops to
``trend.RELEASE_FRACTION`` of the minimum effect, so an open alert holds longer).
An alarm is a day in decline after a day not in decline (the alert goes "new"). A series
already in decline the day before its change is left out of the delays (the count is printed),
so that a false alarm under way is not credited as a detection. Its minimum effect is a
fraction of the level, so 0.03 is 1 sd here: with "min effect 0" the CUSUM decides alone (the
standard-deviation floor is then 0 too), which measures the statistics; "min effect 1 sd" is
the catalogue's usual 3 % on a KPI whose daily noise is 3 %, which measures the product.

The z-scores are given every advantage: they score the series divided by its true weekly
profile (a tool estimates it, or compares a weekday with a few of its like), and only a low z
counts (z < -3); the report also prints their false alarms on |z| > 3, as the tools alarm.

Evaluating each day on its whole history costs O(days^2) per series. Between two anchors of
``trend.monitored_start`` the baseline is fixed, so each day's CUSUM path is a prefix of one
path per four-week period: this script computes that path for all series at once and derives
every day's status. The fast path is checked against ``trend.evaluate`` itself on the days that
decide a number (the day before a change, each first detection and the day before it, each
false alarm and the day before it, the end of an alarm after a recovery), for a sample of the
series, each given the fast path's status of the day before as ``alerting``; the exit status is
1 if any of them disagrees.
"""

from __future__ import annotations

import argparse
import inspect
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from orchestration.lib import trend

LEVEL, SIGMA = 100.0, 3.0
# A shop's week, Monday first: busy Monday, quiet Saturday (mean 1).
PROFILE = np.array([1.08, 1.04, 1.0, 1.0, 0.97, 0.85, 1.06])
PROFILE = PROFILE / PROFILE.mean()
# The product's windows: evaluate()'s defaults, which the monitor uses.
_DEFAULTS = inspect.signature(trend.evaluate).parameters
BASELINE_DAYS: int = _DEFAULTS["baseline_days"].default
MONITOR_DAYS: int = _DEFAULTS["monitor_days"].default
# The first day evaluated has a full baseline and monitored window behind it.
FIRST_DAY = BASELINE_DAYS + MONITOR_DAYS - 1
# Changes start anywhere in a quarter, so they meet every phase of the four-week anchor grid.
ONSET_SPAN = 91
QUIET_DAYS = 730
HORIZON = 120
WITHIN = 60
RECOVERY_AFTER = 60
# A Monday; all series share the calendar (the weekly profile's phase is random instead).
START = date(2024, 1, 1)
Z_WINDOW, Z_LIMIT = 28, 3.0


@dataclass(frozen=True)
class Scenario:
    name: str
    kind: str  # "ramp" or "step"
    size: float  # sd a day for a ramp, sd for a step


SCENARIOS = (
    Scenario("ramp 0.02 sd/day", "ramp", 0.02),
    Scenario("ramp 0.05 sd/day", "ramp", 0.05),
    Scenario("ramp 0.1 sd/day", "ramp", 0.1),
    Scenario("step 1 sd", "step", 1.0),
    Scenario("step 2 sd", "step", 2.0),
)
RECOVERING = SCENARIOS[-1]


@dataclass(frozen=True)
class Series:
    values: np.ndarray  # (series, days) in KPI units
    profile: np.ndarray  # (series, days) the weekly factor of each day


def simulate(
    rng: np.random.Generator,
    n: int,
    length: int,
    phi: float,
    yearly: float,
    scenario: Scenario | None = None,
    onset: np.ndarray | None = None,
    recovery: np.ndarray | None = None,
) -> Series:
    """``n`` series of ``length`` days; a change from day ``onset`` (to ``recovery``, excluded)."""
    t = np.arange(length)
    profile = PROFILE[(rng.integers(0, 7, n)[:, None] + t) % 7]
    phase = rng.uniform(0.0, 2.0 * math.pi, n)[:, None]
    seasonal = yearly * np.sin(2.0 * math.pi * t / 365.25 + phase)
    decline = np.zeros((n, length))
    if scenario is not None and onset is not None:
        since = t - onset[:, None]
        if scenario.kind == "ramp":
            decline = scenario.size * np.clip(since + 1, 0, None)
        else:
            decline = scenario.size * (since >= 0)
        if recovery is not None:
            decline = np.where(t < recovery[:, None], decline, 0.0)
    noise = np.empty((n, length))
    noise[:, 0] = rng.standard_normal(n)
    innovations = rng.standard_normal((n, length)) * math.sqrt(1.0 - phi**2)
    for i in range(1, length):
        noise[:, i] = phi * noise[:, i - 1] + innovations[:, i]
    values = (LEVEL + SIGMA * (seasonal - decline)) * profile + SIGMA * noise
    return Series(values, profile)


# --- the product's detector, every day ----------------------------------------------------


@dataclass(frozen=True)
class Sampling:
    """What makes a series a sampled KPI's: its sample size on each day (series, days), the
    range of one observation, and whether its minimum effect is in the KPI's units."""

    sizes: np.ndarray
    observation_range: tuple[float, float]
    absolute: bool = True


def ours(
    values: np.ndarray,
    first: int,
    last: int,
    min_effect: float,
    sampling: Sampling | None = None,
) -> np.ndarray:
    """Whether ``trend.evaluate`` reports a decline on each day ``first..last`` of each series.

    Mirrors evaluate() on complete series without expected growth: the same window
    (trend.monitored_start), weekday factors, long-run scale and its floor, capped CUSUM and
    effect gate on the worst recent week. The gate is ``min_effect * trend.RELEASE_FRACTION``
    on a day after one in decline, as the monitor passes ``alerting`` while the alert is open;
    the day before ``first`` counts as not in decline. With ``sampling`` each week's gate is at
    least trend.SAMPLING_Z standard errors of the smallest sample of its days.
    """
    if BASELINE_DAYS % 7:
        raise ValueError("the fast path needs a baseline of whole weeks")
    n = values.shape[0]
    out = np.zeros((n, last - first + 1), dtype=bool)
    k, h, week = trend.DEFAULT_K, trend.DEFAULT_H, trend.CURRENT_DAYS
    running = np.concatenate([np.zeros((n, 1)), np.cumsum(values, axis=1)], axis=1)
    week_means = np.full(values.shape, np.nan)  # the mean of the 7 days ending on each day
    week_means[:, week - 1 :] = (running[:, week:] - running[:, :-week]) / week
    starts = [
        trend.monitored_start(START, day + 1, BASELINE_DAYS, MONITOR_DAYS)
        for day in range(first, last + 1)
    ]
    smallest = None  # the smallest sample of the 7 days ending on each day
    if sampling is not None:
        smallest = np.full(values.shape, np.nan)
        windows = np.lib.stride_tricks.sliding_window_view(sampling.sizes, week, axis=1)
        smallest[:, week - 1 :] = windows.min(axis=2)
    alerting = np.zeros(n, dtype=bool)  # in decline on the previous day
    for start in sorted(set(starts)):
        days = [first + i for i, s in enumerate(starts) if s == start]
        base = values[:, start - BASELINE_DAYS : start]
        weekly = base.reshape(n, -1, 7)  # whole weeks: one column per weekday
        day_means = weekly.mean(axis=1)
        ratio = day_means / day_means.mean(axis=1, keepdims=True)
        factors = np.where(np.isfinite(ratio) & (ratio > 0.0), ratio, 1.0)
        adjusted = (weekly / factors[:, None, :]).reshape(n, -1)
        mean = adjusted.mean(axis=1)
        sd = adjusted.std(axis=1, ddof=1)
        centred = adjusted - mean[:, None]
        lag1 = np.sum(centred[:, 1:] * centred[:, :-1], axis=1) / np.sum(centred**2, axis=1)
        lag1 = np.clip(lag1, 0.0, trend.MAX_AUTOCORRELATION)
        scale = np.maximum.reduce(
            [
                sd * np.sqrt((1.0 + lag1) / (1.0 - lag1)),
                1e-12 * np.maximum(1.0, np.abs(mean)),
            ]
        )
        baseline_value = base.mean(axis=1)
        absolute = sampling is not None and sampling.absolute
        floor = min_effect / np.abs(baseline_value) if absolute else min_effect
        scale = np.maximum(scale, trend.SD_FLOOR_FRACTION * floor * np.abs(mean))
        statistic, peak = np.zeros(n), np.zeros(n)
        for day in range(start, days[-1] + 1):
            z = (values[:, day] / factors[:, (day - start) % 7] - mean) / scale
            statistic = np.minimum(trend.CUSUM_CAP * h, np.maximum(0.0, statistic - z - k))
            peak = np.where(statistic == 0.0, 0.0, np.maximum(peak, statistic))
            if day >= days[0]:
                # the weeks ending in the last RECENT_DAYS days, inside the monitored window
                ends = slice(max(start + week, day + 1 - trend.RECENT_DAYS + week) - 1, day + 1)
                level = np.abs(baseline_value)[:, None]
                falls = (baseline_value[:, None] - week_means[:, ends]) / level
                threshold = np.broadcast_to(np.reshape(floor, (-1, 1)), falls.shape)
                if sampling is not None and smallest is not None:
                    low, high = sampling.observation_range
                    spread = np.maximum(0.0, (baseline_value - low) * (high - baseline_value))
                    error = np.sqrt(spread[:, None] / smallest[:, ends]) / level
                    threshold = np.maximum(threshold, trend.SAMPLING_Z * error)
                gate = threshold * np.where(alerting, trend.RELEASE_FRACTION, 1.0)[:, None]
                alerting = (peak > h) & (falls >= gate).any(axis=1)
                out[:, day - first] = alerting
    return out


def evaluate_day(
    values: np.ndarray,
    day: int,
    min_effect: float,
    alerting: bool,
    sampling: Sampling | None = None,
    row: int = 0,
) -> bool:
    """trend.evaluate() on one series (row ``row`` of ``sampling``) as it stood on ``day``: is it
    a decline?"""
    dates = [START + timedelta(days=i) for i in range(day + 1)]
    finding = trend.evaluate(
        dates,
        values[: day + 1],
        direction="higher_is_better",
        min_effect=min_effect,
        alerting=alerting,
        absolute=sampling is not None and sampling.absolute,
        sample_sizes=None if sampling is None else sampling.sizes[row, : day + 1],
        observation_range=None if sampling is None else sampling.observation_range,
    )
    return finding.status == "decline"


@dataclass
class Checks:
    """Agreement of the fast path with trend.evaluate() on chosen series-days.

    Each day is evaluated with ``alerting`` set to the fast path's own status the day before,
    so both judge the day from the same state.
    """

    calls: int = 0
    mismatches: list[str] = field(default_factory=list)

    def run(
        self,
        values: np.ndarray,
        status: np.ndarray,
        first: int,
        days: dict[int, set[int]],
        min_effect: float,
        sampling: Sampling | None = None,
    ) -> None:
        for row, chosen in days.items():
            for day in sorted(chosen):
                self.calls += 1
                alerting = bool(day > first and status[row, day - first - 1])
                expected = evaluate_day(values[row], day, min_effect, alerting, sampling, row)
                if expected != status[row, day - first]:
                    self.mismatches.append(
                        f"series {row}, day {day} (alerting {alerting}): evaluate() {expected}"
                    )


# --- the z-scores -------------------------------------------------------------------------


def rolling_z(series: Series, include_day: bool) -> np.ndarray:
    """z of each day against the 28 days ending on it, or just before it (0 before day 28)."""
    x = series.values / series.profile - LEVEL  # centred: running sums of squares stay exact
    zeros = np.zeros((x.shape[0], 1))
    s1 = np.concatenate([zeros, np.cumsum(x, axis=1)], axis=1)
    s2 = np.concatenate([zeros, np.cumsum(x**2, axis=1)], axis=1)
    end = np.arange(x.shape[1]) + (1 if include_day else 0)
    begin = np.clip(end - Z_WINDOW, 0, None)
    mean = (s1[:, end] - s1[:, begin]) / Z_WINDOW
    var = (s2[:, end] - s2[:, begin] - Z_WINDOW * mean**2) / (Z_WINDOW - 1)
    z = np.zeros_like(x)
    full = end >= Z_WINDOW
    z[:, full] = (x[:, full] - mean[:, full]) / np.sqrt(var[:, full])
    return z


# --- detectors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Detector:
    name: str
    detect: Callable[[Series, int, int], np.ndarray]  # statuses on days first..last
    min_effect: float | None = None  # the product's detector, checked against evaluate()


def _ours(min_effect: float) -> Callable[[Series, int, int], np.ndarray]:
    return lambda series, first, last: ours(series.values, first, last, min_effect)


def _z(include_day: bool, both_sides: bool = False) -> Callable[[Series, int, int], np.ndarray]:
    def detect(series: Series, first: int, last: int) -> np.ndarray:
        z = rolling_z(series, include_day)[:, first : last + 1]
        return (np.abs(z) if both_sides else -z) > Z_LIMIT

    return detect


DETECTORS = (
    Detector("CUSUM, min effect 0", _ours(0.0), 0.0),
    Detector("CUSUM, min effect 1 sd", _ours(SIGMA / LEVEL), SIGMA / LEVEL),
    Detector("z, day in window", _z(include_day=True)),
    Detector("z, day excluded", _z(include_day=False)),
)
TWO_SIDED = (
    Detector("z, day in window", _z(include_day=True, both_sides=True)),
    Detector("z, day excluded", _z(include_day=False, both_sides=True)),
)


# --- measurements -------------------------------------------------------------------------


@dataclass(frozen=True)
class Delays:
    median: float
    p90: float
    within: float  # share detected within WITHIN days
    left_out: int  # series already in decline the day before the change


@dataclass(frozen=True)
class Recovery:
    series: int  # in decline on the last day of the decline
    median: float  # normal days seen when the alarm ends
    p90: float
    realarms: float  # alarms per series in the HORIZON days after the recovery


@dataclass
class Condition:
    delays: dict[str, dict[str, Delays]] = field(default_factory=dict)  # scenario -> detector
    false_alarms: dict[str, float] = field(default_factory=dict)
    two_sided: dict[str, float] = field(default_factory=dict)
    recovery: dict[str, Recovery] = field(default_factory=dict)


def _quantile(values: np.ndarray, q: float) -> float:
    # an order statistic, not an interpolation: undetected series count as infinite delays
    return float(np.quantile(values, q, method="inverted_cdf")) if values.size else math.nan


def measure_delays(status: np.ndarray, onset: np.ndarray, first: int) -> tuple[Delays, np.ndarray]:
    """Delays from each series' onset (statuses from day ``first``) and each detection day."""
    rows = np.arange(status.shape[0])[:, None]
    window = status[rows, onset[:, None] - first + np.arange(-1, HORIZON)]
    eligible = ~window[:, 0]
    found = window[:, 1:].any(axis=1) & eligible
    seen = window[:, 1:].argmax(axis=1) + 1
    delay = np.where(found, seen, np.inf)[eligible]
    summary = Delays(
        _quantile(delay, 0.5),
        _quantile(delay, 0.9),
        float(np.mean(delay <= WITHIN)),
        int((~eligible).sum()),
    )
    return summary, np.where(found, onset + seen - 1, -1)


def alarms(status: np.ndarray) -> np.ndarray:
    """(series, column) of each alarm: a decline after a day without one."""
    return np.argwhere(status[:, 1:] & ~status[:, :-1]) + np.array([0, 1])


def run_condition(
    rng: np.random.Generator, n: int, phi: float, yearly: float, verify: int, checks: Checks
) -> Condition:
    """Every measurement for one kind of noise; ``verify`` series per case go to ``checks``."""
    result = Condition()
    _declines(rng, n, phi, yearly, verify, checks, result)
    _quiet(rng, n, phi, yearly, verify, checks, result)
    _recovery(rng, n, phi, yearly, verify, checks, result)
    return result


def _declines(
    rng: np.random.Generator,
    n: int,
    phi: float,
    yearly: float,
    verify: int,
    checks: Checks,
    result: Condition,
) -> None:
    length = FIRST_DAY + 1 + ONSET_SPAN + HORIZON
    for scenario in SCENARIOS:
        onset = FIRST_DAY + 1 + rng.integers(0, ONSET_SPAN, n)
        series = simulate(rng, n, length, phi, yearly, scenario, onset)
        sample = rng.choice(n, min(verify, n), replace=False)
        result.delays[scenario.name] = {}
        for detector in DETECTORS:
            status = detector.detect(series, FIRST_DAY, length - 1)
            summary, detected = measure_delays(status, onset, FIRST_DAY)
            result.delays[scenario.name][detector.name] = summary
            if detector.min_effect is not None:
                days = {int(i): {int(onset[i]) - 1} for i in sample}
                for i in sample:
                    if detected[i] >= 0:
                        days[int(i)] |= {int(detected[i]), int(detected[i]) - 1}
                checks.run(series.values, status, FIRST_DAY, days, detector.min_effect)


def _quiet(
    rng: np.random.Generator,
    n: int,
    phi: float,
    yearly: float,
    verify: int,
    checks: Checks,
    result: Condition,
) -> None:
    last = FIRST_DAY + QUIET_DAYS
    quiet = simulate(rng, n, last + 1, phi, yearly)
    sample = rng.choice(n, min(verify, n), replace=False)
    for detector in DETECTORS:
        status = detector.detect(quiet, FIRST_DAY, last)
        found = alarms(status)
        result.false_alarms[detector.name] = len(found) / n / (QUIET_DAYS / 365)
        if detector.min_effect is not None:
            days = {
                int(i): {int(d) for d in FIRST_DAY + rng.integers(0, QUIET_DAYS, 2)} for i in sample
            }
            for i, column in found:
                if int(i) in days:
                    days[int(i)] |= {FIRST_DAY + int(column), FIRST_DAY + int(column) - 1}
            checks.run(quiet.values, status, FIRST_DAY, days, detector.min_effect)
    for detector in TWO_SIDED:
        status = detector.detect(quiet, FIRST_DAY, last)
        result.two_sided[detector.name] = len(alarms(status)) / n / (QUIET_DAYS / 365)


def _recovery(
    rng: np.random.Generator,
    n: int,
    phi: float,
    yearly: float,
    verify: int,
    checks: Checks,
    result: Condition,
) -> None:
    onset = FIRST_DAY + 1 + rng.integers(0, ONSET_SPAN, n)
    recovery = onset + RECOVERY_AFTER
    length = FIRST_DAY + 1 + ONSET_SPAN + RECOVERY_AFTER + HORIZON
    series = simulate(rng, n, length, phi, yearly, RECOVERING, onset, recovery)
    sample = rng.choice(n, min(verify, n), replace=False)
    for detector in DETECTORS:
        if detector.min_effect is None:
            continue
        status = detector.detect(series, FIRST_DAY, length - 1)
        after = status[
            np.arange(n)[:, None], recovery[:, None] - FIRST_DAY + np.arange(-1, HORIZON)
        ]
        declining = after[:, 0]
        ended = (~after[:, 1:]).argmax(axis=1) + 1  # normal days seen when the alarm ends
        never = after[:, 1:].all(axis=1)
        normal_days = np.where(never, np.inf, ended)[declining]
        realarms = (after[:, 1:] & ~after[:, :-1])[declining].sum()
        result.recovery[detector.name] = Recovery(
            int(declining.sum()),
            _quantile(normal_days, 0.5),
            _quantile(normal_days, 0.9),
            float(realarms / max(1, declining.sum())),
        )
        days = {}
        for i in sample:
            day = int(recovery[i]) - 1
            days[int(i)] = {day} | (
                {day + int(ended[i]), day + int(ended[i]) - 1}
                if declining[i] and not never[i]
                else set()
            )
        checks.run(series.values, status, FIRST_DAY, days, detector.min_effect)


# --- sampled KPIs -------------------------------------------------------------------------


@dataclass(frozen=True)
class SampledKpi:
    """A share or score of a trailing window of responses, each one of ``scores``."""

    name: str
    per_day: float  # responses a day (Poisson)
    window: int  # days
    scores: tuple[float, ...]  # lowest first
    shares: tuple[float, ...]  # of the responses, one per score
    min_effect: float  # the catalogue's floor, in the KPI's units
    hand_set: float  # the relative minimum effect alone, as without sample sizes


SAMPLED_KPIS = (
    SampledKpi("CSAT, 20 ratings a month", 20 / 30, 30, (0.0, 100.0), (0.17, 0.83), 3.0, 0.25),
    SampledKpi("CSAT, 600 ratings a month", 20.0, 30, (0.0, 100.0), (0.17, 0.83), 3.0, 0.25),
    SampledKpi(
        "NPS, 400 responses in 90 days",
        400 / 90,
        90,
        (-100.0, 0.0, 100.0),
        (0.16, 0.37, 0.47),
        5.0,
        0.1,
    ),
)
# Falls, in the KPI's points: responses move from the highest score to the lowest.
SAMPLED_DROPS = (5.0, 10.0, 20.0)


def simulate_sampled(
    rng: np.random.Generator,
    kpi: SampledKpi,
    n: int,
    length: int,
    drop: float = 0.0,
    onset: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Values and sample sizes (series, days) of ``n`` series; a fall of ``drop`` points from
    day ``onset``. Every day's window is full: the responses start ``window`` days earlier."""
    full = length + kpi.window
    responses = rng.poisson(kpi.per_day, (n, full))
    shares = np.array(kpi.shares)
    counts = rng.multinomial(responses, shares)
    if drop and onset is not None:
        moved = shares.copy()
        moved[0] += drop / (kpi.scores[-1] - kpi.scores[0])
        moved[-1] -= drop / (kpi.scores[-1] - kpi.scores[0])
        after = np.arange(full)[None, :] >= onset[:, None] + kpi.window
        counts = np.where(after[..., None], rng.multinomial(responses, moved), counts)
    totals = counts @ np.array(kpi.scores)

    def trailing(x: np.ndarray) -> np.ndarray:
        running = np.cumsum(x, axis=1)
        return running[:, kpi.window :] - running[:, : -kpi.window]

    sizes = trailing(responses)
    return trailing(totals) / sizes, sizes


def sampled_detectors(kpi: SampledKpi) -> dict[str, tuple[float, bool]]:
    """Name -> (min effect, whether the sample size sets the threshold)."""
    return {
        f"min effect {kpi.hand_set:.0%} alone": (kpi.hand_set, False),
        f"sampling error, z {trend.SAMPLING_Z:g}": (kpi.min_effect, True),
    }


def run_sampled(
    rng: np.random.Generator, kpi: SampledKpi, n: int, verify: int, checks: Checks
) -> list[list[str]]:
    """Delays for each fall and false alarms per KPI-year, for each way of setting the gate."""
    detectors = sampled_detectors(kpi)
    rows = [[kpi.name, *detectors]]

    def detect(values, sizes, last, min_effect, sampled):
        sampling = Sampling(sizes, (kpi.scores[0], kpi.scores[-1])) if sampled else None
        return ours(values, FIRST_DAY, last, min_effect, sampling), sampling

    length = FIRST_DAY + 1 + ONSET_SPAN + HORIZON
    for drop in SAMPLED_DROPS:
        onset = FIRST_DAY + 1 + rng.integers(0, ONSET_SPAN, n)
        values, sizes = simulate_sampled(rng, kpi, n, length, drop, onset)
        sample = rng.choice(n, min(verify, n), replace=False)
        cells = []
        for min_effect, sampled in detectors.values():
            status, sampling = detect(values, sizes, length - 1, min_effect, sampled)
            delays, detected = measure_delays(status, onset, FIRST_DAY)
            cells.append(f"{_days(delays.median)} / {_days(delays.p90)} d, {delays.within:.0%}")
            days = {int(i): {int(onset[i]) - 1} for i in sample}
            for i in sample:
                if detected[i] >= 0:
                    days[int(i)] |= {int(detected[i]), int(detected[i]) - 1}
            checks.run(values, status, FIRST_DAY, days, min_effect, sampling)
        rows.append([f"fall of {drop:g} points", *cells])
    last = FIRST_DAY + QUIET_DAYS
    values, sizes = simulate_sampled(rng, kpi, n, last + 1)
    sample = rng.choice(n, min(verify, n), replace=False)
    cells = []
    for min_effect, sampled in detectors.values():
        status, sampling = detect(values, sizes, last, min_effect, sampled)
        found = alarms(status)
        cells.append(f"{len(found) / n / (QUIET_DAYS / 365):.2f}")
        days = {
            int(i): {int(d) for d in FIRST_DAY + rng.integers(0, QUIET_DAYS, 2)} for i in sample
        }
        for i, column in found:
            if int(i) in days:
                days[int(i)] |= {FIRST_DAY + int(column), FIRST_DAY + int(column) - 1}
        checks.run(values, status, FIRST_DAY, days, min_effect, sampling)
    rows.append(["false alarms / KPI-year", *cells])
    return rows


# --- report -------------------------------------------------------------------------------


def _days(value: float) -> str:
    return f">{HORIZON}" if math.isinf(value) else f"{value:.0f}"


def render(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines.insert(1, "|" + "|".join([" --- "] + [" ---: "] * (len(rows[0]) - 1)) + "|")
        return "\n".join(lines)
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(width) if c == 0 else cell.rjust(width)
            for c, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def report(result: Condition, markdown: bool) -> str:
    rows = [["scenario", *(d.name for d in DETECTORS)]]
    for scenario in SCENARIOS:
        delays = result.delays[scenario.name]
        rows.append(
            [scenario.name]
            + [
                f"{_days(delays[d.name].median)} / {_days(delays[d.name].p90)} d, "
                f"{delays[d.name].within:.0%}"
                for d in DETECTORS
            ]
        )
    rows.append(
        ["false alarms / KPI-year"] + [f"{result.false_alarms[d.name]:.2f}" for d in DETECTORS]
    )
    left_out = ", ".join(
        f"{d.name} {sum(result.delays[s.name][d.name].left_out for s in SCENARIOS)}"
        for d in DETECTORS
    )
    two_sided = ", ".join(f"{name} {rate:.2f}" for name, rate in result.two_sided.items())
    recovery = "; ".join(
        f"{name}: {r.series} series in decline at the recovery, alarm over after "
        f"{_days(r.median)} / {_days(r.p90)} normal days, {r.realarms:.2f} re-alarms each"
        for name, r in result.recovery.items()
    )
    notes = [
        f"Left out of the delays (already in decline the day before the change): {left_out}.",
        f"z-scores alarming on |z| > 3, as the tools do: {two_sided} false alarms / KPI-year.",
        f"After a 2 sd step lasting {RECOVERY_AFTER} days (median / p90, then new alarms in "
        f"the next {HORIZON} days): {recovery}.",
    ]
    return render(rows, markdown) + "\n\n" + "\n".join(notes)


# --- counts against their expectation (trend.evaluate_counts) -------------------------------

# Purchases expected a day (about a demo region's, and its total's) and how much more than
# Poisson the counts vary (variance / mean: customers who order together).
COUNT_LEVELS = (5.0, 20.0)
COUNT_DISPERSIONS = (1.0, 2.0)
# The churn planted: this share of the customers stops buying, evenly over this many days.
CHURN_SHARE = 0.5
CHURN_DAYS = 60
COUNT_MIN_EFFECT = 0.25
COUNT_WITHIN = 45


def simulate_counts(
    rng: np.random.Generator, level: float, dispersion: float, days: int, onset: int | None
) -> np.ndarray:
    """Daily counts of mean ``level`` times a weekly profile of random phase, Poisson or (with
    ``dispersion`` > 1) gamma-Poisson of that variance-to-mean ratio; from ``onset`` a share
    CHURN_SHARE of the customers stops buying, evenly over CHURN_DAYS days."""
    profile = np.roll(PROFILE, rng.integers(7))
    mean = level * profile[np.arange(days) % 7]
    if onset is not None:
        left = np.clip((np.arange(days) - onset + 1) / CHURN_DAYS, 0.0, 1.0) * CHURN_SHARE
        mean = mean * (1.0 - left)
    if dispersion > 1.0:
        mean = rng.gamma(mean / (dispersion - 1.0), dispersion - 1.0)
    return rng.poisson(mean).astype(float)


def count_statuses(counts: np.ndarray, level: float, first: int) -> list[bool]:
    """Whether the count test is in decline on each day from ``first``, evaluated as the
    monitor does: on the history up to the day, with its state of the day before."""
    dates = [START + timedelta(days=i) for i in range(counts.size)]
    expected = np.full(counts.size, level)
    declined, before = [], False
    for end in range(first, counts.size):
        finding = trend.evaluate_counts(
            dates[: end + 1],
            counts[: end + 1],
            expected[: end + 1],
            min_effect=COUNT_MIN_EFFECT,
            alerting=before,
        )
        before = finding.status == "decline"
        declined.append(before)
    return declined


def count_case(
    rng: np.random.Generator,
    level: float,
    dispersion: float,
    quiet_series: int,
    churn_series: int,
    horizon: int = HORIZON,
) -> tuple[float, np.ndarray]:
    """The count test on one case: its false alarms per KPI-year on ``quiet_series`` series
    without change, and the days from the day before a churn to its alarm (inf when none
    within ``horizon``) on ``churn_series`` series; a series already in alarm that day is left
    out, as a false alarm under way is not a detection."""
    false_alarms = 0
    for _ in range(quiet_series):
        quiet = simulate_counts(rng, level, dispersion, FIRST_DAY + QUIET_DAYS, None)
        declined = count_statuses(quiet, level, FIRST_DAY)
        false_alarms += len(alarms(np.array([declined]))) + int(declined[0])
    delays = []
    for _ in range(churn_series):
        onset = FIRST_DAY + int(rng.integers(ONSET_SPAN))
        churn = simulate_counts(rng, level, dispersion, onset + horizon, onset)
        declined = count_statuses(churn, level, onset - 1)
        if declined[0]:
            continue
        found = next((i for i, up in enumerate(declined) if up), None)
        delays.append(math.inf if found is None else found)
    return false_alarms / (quiet_series * QUIET_DAYS / 365), np.array(delays)


def run_counts(rng: np.random.Generator, series: int) -> list[list[str]]:
    rows = [
        [
            "expected a day",
            "variance / mean",
            "false alarms per KPI-year",
            "churn: median days",
            f"within {COUNT_WITHIN} days",
        ]
    ]
    for level in COUNT_LEVELS:
        for dispersion in COUNT_DISPERSIONS:
            per_year, delays = count_case(rng, level, dispersion, series, series)
            rows.append(
                [
                    f"{level:g}",
                    f"{dispersion:g}",
                    f"{per_year:.2f}",
                    _days(float(np.median(delays))),
                    f"{np.mean(delays <= COUNT_WITHIN):.0%}",
                ]
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000, help="series per scenario")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--yearly", type=float, default=0.5, help="yearly amplitude, in sd")
    parser.add_argument(
        "--verify", type=int, default=25, help="series per scenario checked with evaluate()"
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument(
        "--counts",
        action="store_true",
        help="measure only the count test (trend.evaluate_counts), --series series per case",
    )
    args = parser.parse_args(argv)
    if args.counts:
        began = time.perf_counter()
        print(
            f"Count test: Poisson CUSUM for a fall of {COUNT_MIN_EFFECT:.0%}, "
            f"h={trend.COUNT_H:g} times the baseline's overdispersion; churn: "
            f"{CHURN_SHARE:.0%} of the customers stop buying over {CHURN_DAYS} days; "
            f"{args.series} series per case, {args.series * QUIET_DAYS // 365} KPI-years "
            "without change.\n"
        )
        print(render(run_counts(np.random.default_rng(args.seed), args.series), args.markdown))
        print(f"\n{time.perf_counter() - began:.0f} s.")
        return 0

    began = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    checks = Checks()
    print(
        f"Detector: k={trend.DEFAULT_K:g}, h={trend.DEFAULT_H:g}, baseline {BASELINE_DAYS} days "
        f"moved every {trend.REANCHOR_DAYS}, monitored >= {MONITOR_DAYS} days. Cells: median / "
        f"90th percentile days of decline before the first alarm, share detected within "
        f"{WITHIN} days."
    )
    for yearly in dict.fromkeys((0.0, args.yearly)):
        for phi in (0.0, 0.5):
            result = run_condition(rng, args.series, phi, yearly, args.verify, checks)
            title = (
                f"AR(1) phi = {phi:g}, yearly seasonality {yearly:g} sd: {args.series} series "
                f"per scenario, {args.series * QUIET_DAYS // 365} KPI-years without change"
            )
            print(f"\n{'### ' if args.markdown else ''}{title}\n")
            print(report(result, args.markdown))
    print(
        f"\n{'### ' if args.markdown else ''}Sampled KPIs: a share or score of a trailing window "
        f"of responses, {args.series} series per case; the catalogue's floor is 3 points for "
        f"CSAT and 5 for NPS.\n"
    )
    for kpi in SAMPLED_KPIS:
        print(render(run_sampled(rng, kpi, args.series, args.verify, checks), args.markdown))
        print()
    for mismatch in checks.mismatches:
        print(f"fast path disagrees with evaluate(): {mismatch}", file=sys.stderr)
    print(
        f"\nFast path checked against trend.evaluate() on {checks.calls} series-days: "
        f"{len(checks.mismatches)} disagreements. {time.perf_counter() - began:.0f} s."
    )
    return 1 if checks.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
