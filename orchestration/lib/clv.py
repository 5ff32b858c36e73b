"""Predicted customer lifetime value: BG/NBD purchases x Gamma-Gamma spend (numpy + scipy only).

* **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive, a
  customer buys as a Poisson process of rate λ ~ Gamma(r, alpha); after each *repeat* purchase they
  drop out with probability p ~ Beta(a, b). A customer is summarised by (x, t_x, T): x repeat
  purchases, the last one at t_x, observed for T since their first purchase.
* **Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013, "The
  Gamma-Gamma model of monetary value"): a customer's transaction values are Gamma(p, nu) with
  nu ~ Gamma(q, v) across customers. It is fitted on repeat customers only, on m_x, the mean of
  their repeat transactions, and assumes spend is independent of purchase frequency.

Time is in one unit throughout, the one the data were summarised in (CDNOW: weeks). Only
:func:`predicted_clv` turns calendar months into that unit, so it takes ``time_unit_days``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

FloatArray = NDArray[np.float64]

#: A calendar month in days (Gregorian average), to turn "12 months" into the fit's time unit.
DAYS_PER_MONTH = 365.25 / 12

#: Eq. 10 of the BG/NBD paper divides by a - 1 and is 0/0 at a = 1, where its limit is finite.
#: Within this distance of 1 it is evaluated at 1 ± the distance and averaged, which is exact to
#: O(distance²) because the value is smooth in a.
_A_SINGULARITY = 1e-7


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters: purchase rate λ ~ Gamma(shape r, rate alpha), dropout p ~ Beta(a, b).

    ``alpha`` is in the time unit of the data it was fitted on; r, a and b have no unit.
    """

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters: spend ~ Gamma(shape p, rate nu), nu ~ Gamma(shape q, rate v).

    ``v`` is in money units; the population mean spend per transaction is p·v/(q - 1).
    """

    p: float
    q: float
    v: float

    @property
    def population_mean(self) -> float:
        """Mean spend per transaction across customers; infinite unless q > 1."""
        return self.p * self.v / (self.q - 1.0) if self.q > 1.0 else float("inf")


@dataclass(frozen=True)
class RfmSummary:
    """One entry per customer, in order of customer id; times in the summary's time unit."""

    customer_id: NDArray[Any]
    frequency: NDArray[np.int64]
    recency: FloatArray
    T: FloatArray
    monetary_value: FloatArray


# --------------------------------------------------------------------------------------------
# BG/NBD


def _customers(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    x, t_x, age = np.broadcast_arrays(
        np.asarray(frequency, dtype=float),
        np.asarray(recency, dtype=float),
        np.asarray(T, dtype=float),
    )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(t_x)) and np.all(np.isfinite(age))):
        raise ValueError("frequency, recency and T must be finite")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a non-negative whole number of repeat purchases")
    if np.any(t_x < 0) or np.any(t_x > age):
        raise ValueError("recency must lie in [0, T]")
    return x, t_x, age


def _bgnbd_terms(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The per-customer log-likelihood and the log weights of its two branches.

    The likelihood (FHL 2005, eq. 6) is A1·A2·(A3 + [x > 0]·A4): A3 is "still alive at T", A4
    is "dropped out right after the purchase at t_x". Both are kept in logs and added with
    log-sum-exp, because (alpha + T)^-(r+x) underflows for heavy buyers.
    """
    log_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    log_a2 = (
        special.gammaln(a + b)
        + special.gammaln(b + x)
        - special.gammaln(b)
        - special.gammaln(a + b + x)
    )
    log_alive = -(r + x) * np.log(alpha + age)
    repeat = x > 0
    # b + x - 1 > 0 whenever x ≥ 1; the max() only keeps x = 0 rows (masked out) free of warnings.
    log_dropped = np.where(
        repeat,
        np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    log_branches = np.logaddexp(log_alive, log_dropped)
    return log_a1 + log_a2 + log_branches, log_alive - log_branches, log_dropped - log_branches


def bgnbd_log_likelihood(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """Per-customer BG/NBD log-likelihood ln L(r, alpha, a, b | x, t_x, T)."""
    x, t_x, age = _customers(frequency, recency, T)
    ll, _, _ = _bgnbd_terms(params.r, params.alpha, params.a, params.b, x, t_x, age)
    return ll


def _bgnbd_objective(
    log_params: FloatArray, x: FloatArray, t_x: FloatArray, age: FloatArray, weight: FloatArray
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood and its gradient in log-parameter space.

    The analytic gradient lets L-BFGS-B converge tightly (finite differences stall on the flat
    ridge between a and b) in a few dozen evaluations.
    """
    r, alpha, a, b = np.exp(log_params)
    ll, log_w_alive, log_w_dropped = _bgnbd_terms(r, alpha, a, b, x, t_x, age)
    w_alive, w_dropped = np.exp(log_w_alive), np.exp(log_w_dropped)
    log_time = w_alive * np.log(alpha + age) + w_dropped * np.log(alpha + t_x)
    inv_time = w_alive / (alpha + age) + w_dropped / (alpha + t_x)
    d_r = special.digamma(r + x) - special.digamma(r) + np.log(alpha) - log_time
    d_alpha = r / alpha - (r + x) * inv_time
    d_ab = special.digamma(a + b) - special.digamma(a + b + x)
    d_a = d_ab + w_dropped / a
    d_b = (
        d_ab
        + special.digamma(b + x)
        - special.digamma(b)
        - np.where(x > 0, w_dropped / np.maximum(b + x - 1.0, 1e-300), 0.0)
    )
    total = weight.sum()
    grad = np.array([weight @ d for d in (d_r, d_alpha, d_a, d_b)]) * np.array([r, alpha, a, b])
    return -float(weight @ ll) / total, -grad / total


def _compress(*columns: FloatArray) -> tuple[list[FloatArray], FloatArray]:
    """Unique rows and their counts: many customers share a history (every one-time buyer of a
    cohort has the same (0, 0, T)), so the likelihood is evaluated once per distinct row."""
    unique, counts = np.unique(np.column_stack(columns), axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float)


def _minimise(objective: Any, start: FloatArray, args: tuple[Any, ...], what: str) -> FloatArray:
    result = optimize.minimize(
        objective,
        start,
        args=args,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-15.0, 15.0)] * len(start),
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
    )
    if np.any(np.abs(result.x) >= 15.0 - 1e-6):
        raise RuntimeError(f"{what} fit ran to a parameter bound; the data cannot identify it")
    # L-BFGS-B's flag says neither way whether it stopped at the optimum (it may report a
    # line-search failure there, or success short of it): the gradient tells.
    gradient = np.max(np.abs(result.jac))
    if not np.all(np.isfinite(result.x)) or not gradient <= 1e-4:
        raise RuntimeError(
            f"{what} fit did not converge: it stopped short of the likelihood's maximum "
            f"(largest gradient {gradient:.1e}, at most 1e-4 expected)"
        )
    return result.x


def fit_bgnbd(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BgNbdParams:
    """Maximum-likelihood BG/NBD fit on per-customer (x repeat purchases, recency t_x, age T).

    Times are rescaled so the oldest customer has age 10 during the fit, which keeps alpha near 1
    whatever the time unit; only alpha depends on the unit, so it is scaled back afterwards.
    """
    x, t_x, age = _customers(frequency, recency, T)
    if x.size == 0 or not np.any(x > 0):
        raise ValueError("fitting BG/NBD needs at least one customer with a repeat purchase")
    scale = float(np.max(age)) / 10.0
    (x, t_x, age), weight = _compress(x.ravel(), t_x.ravel() / scale, age.ravel() / scale)
    log_params = _minimise(_bgnbd_objective, np.zeros(4), (x, t_x, age, weight), "BG/NBD")
    r, alpha, a, b = np.exp(log_params)
    return BgNbdParams(r=float(r), alpha=float(alpha * scale), a=float(a), b=float(b))


def _log_odds_dropped(
    params: BgNbdParams, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """Log odds of "dropped out at t_x" against "alive at T":
    ln[a/(b+x-1) · ((alpha+T)/(alpha+t_x))^(r+x)], or -inf for x = 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    return np.where(
        x > 0,
        np.log(a)
        - np.log(np.maximum(b + x - 1.0, 1e-300))
        + (r + x) * (np.log(alpha + age) - np.log(alpha + t_x)),
        -np.inf,
    )


def probability_alive(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """P(alive at T | x, t_x, T) (Fader, Hardie & Lee 2008, "Computing P(alive) using the BG/NBD
    model"). It is 1 for x = 0: the model only lets a customer drop out after a repeat purchase."""
    x, t_x, age = _customers(frequency, recency, T)
    return special.expit(-_log_odds_dropped(params, x, t_x, age))


def _expected_purchases_if_alive(
    r: float, alpha: float, a: float, b: float, t: FloatArray, x: FloatArray, age: FloatArray
) -> FloatArray:
    """Numerator of FHL 2005 eq. 10, with its 2F1 put through Euler's transformation.

    Eq. 10 multiplies ((alpha+T)/(alpha+T+t))^(r+x), which underflows for heavy buyers, by
    2F1(r+x, b+x; a+b+x-1; z), which overflows. With z = t/(alpha+T+t) and Euler's
    2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z) the product is exactly
    (1-z)^(a-1) · 2F1(a+b-1-r, a-1; a+b+x-1; z), whose arguments stay small and whose value
    stays near 1, so nothing overflows for any x.
    """
    z = t / (alpha + age + t)
    c = a + b + x - 1.0
    hyp = special.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
    # 1 - (1-z)^(a-1)·hyp through expm1 keeps precision when a is close to 1.
    return -np.expm1((a - 1.0) * np.log1p(-z) + np.log(hyp)) * c / (a - 1.0)


def expected_purchases(
    params: BgNbdParams, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> FloatArray:
    """E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T + t] (FHL 2005, eq. 10).

    ``t`` broadcasts against the customers, so a column of horizons gives a whole schedule.
    A new customer (x = 0, t_x = 0, T = 0) gets the unconditional E[X(t)] (eq. 9).
    """
    x, t_x, age = _customers(frequency, recency, T)
    horizon = np.asarray(t, dtype=float)
    if np.any(horizon < 0) or not np.all(np.isfinite(horizon)):
        raise ValueError("t must be finite and non-negative")
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1.0) < _A_SINGULARITY:
        if_alive = 0.5 * (
            _expected_purchases_if_alive(r, alpha, 1.0 - _A_SINGULARITY, b, horizon, x, age)
            + _expected_purchases_if_alive(r, alpha, 1.0 + _A_SINGULARITY, b, horizon, x, age)
        )
    else:
        if_alive = _expected_purchases_if_alive(r, alpha, a, b, horizon, x, age)
    return if_alive * special.expit(-_log_odds_dropped(params, x, t_x, age))


# --------------------------------------------------------------------------------------------
# Gamma-Gamma


def _spenders(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[FloatArray, FloatArray]:
    x, m = np.broadcast_arrays(
        np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
    )
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a non-negative whole number of repeat purchases")
    repeat = x > 0
    if np.any(~np.isfinite(m[repeat])) or np.any(m[repeat] <= 0):
        raise ValueError(
            "repeat customers need a positive mean spend: the Gamma-Gamma model has no density "
            "at or below zero (net refunds out before summarising)"
        )
    return x, m


def _gamma_gamma_terms(p: float, q: float, v: float, x: FloatArray, m: FloatArray) -> FloatArray:
    """Per-customer log-density of m_x given x > 0 (Fader & Hardie 2013, eq. 3)."""
    px = p * x
    return (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(v + x * m)
    )


def _gamma_gamma_objective(
    log_params: FloatArray, x: FloatArray, m: FloatArray, weight: FloatArray
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood and its gradient in log-parameter space."""
    p, q, v = np.exp(log_params)
    px = p * x
    log_total = np.log(v + x * m)
    psi_total = special.digamma(px + q)
    d_p = x * (psi_total - special.digamma(px) + np.log(m) + np.log(x) - log_total)
    d_q = psi_total - special.digamma(q) + np.log(v) - log_total
    d_v = q / v - (px + q) / (v + x * m)
    total = weight.sum()
    grad = np.array([weight @ d for d in (d_p, d_q, d_v)]) * np.array([p, q, v])
    return -float(weight @ _gamma_gamma_terms(p, q, v, x, m)) / total, -grad / total


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """Per-customer Gamma-Gamma log-density of the mean repeat spend; NaN where frequency is 0."""
    x, m = _spenders(frequency, monetary_value)
    repeat = x > 0
    out = np.full(x.shape, np.nan)
    out[repeat] = _gamma_gamma_terms(params.p, params.q, params.v, x[repeat], m[repeat])
    return out


def fit_gamma_gamma(frequency: ArrayLike, monetary_value: ArrayLike) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma fit on the customers with frequency > 0.

    ``monetary_value`` is the mean of a customer's repeat transactions; customers with frequency
    0 are ignored (they have no repeat transaction), so the full RFM summary can be passed.
    Spend is rescaled to mean 1 during the fit; only v carries the money unit.
    """
    x, m = _spenders(frequency, monetary_value)
    repeat = x > 0
    if not np.any(repeat):
        raise ValueError("fitting Gamma-Gamma needs at least one customer with a repeat purchase")
    scale = float(np.mean(m[repeat]))
    (x, m), weight = _compress(x[repeat], m[repeat] / scale)
    log_params = _minimise(_gamma_gamma_objective, np.zeros(3), (x, m, weight), "Gamma-Gamma")
    p, q, v = np.exp(log_params)
    return GammaGammaParams(p=float(p), q=float(q), v=float(v * scale))


def expected_average_value(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """E[M | x, m_x] = p(v + x·m_x)/(p·x + q - 1): the posterior mean spend per transaction.

    It weighs the population mean p·v/(q-1) against the customer's own m_x by how many repeat
    transactions they have; with x = 0 it is the population mean, whatever m_x holds.
    """
    x, m = _spenders(frequency, monetary_value)
    return _posterior_mean_spend(params, x, np.where(x > 0, x * m, 0.0))


def _posterior_mean_spend(params: GammaGammaParams, x: FloatArray, own: FloatArray) -> FloatArray:
    """p(v + own)/(p·x + q - 1), with ``own`` the customer's total repeat spend x·m_x."""
    if params.q <= 1.0:
        raise ValueError("q ≤ 1: the fitted spend distribution has no finite mean")
    return params.p * (params.v + own) / (params.p * x + params.q - 1.0)


def has_positive_repeat_spend(frequency: ArrayLike, monetary_value: ArrayLike) -> NDArray[np.bool_]:
    """The customers the Gamma-Gamma can be fitted on: a repeat purchase and a positive mean
    repeat spend.

    Refunds netted into order values can bring a repeat customer's mean spend to zero or below,
    where the model has no density; leaving them out of the fit keeps it defined, and
    :func:`expected_average_value_net_of_refunds` still predicts their spend.
    """
    x, m = np.broadcast_arrays(
        np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
    )
    return (x > 0) & np.isfinite(m) & (m > 0)


def expected_average_value_net_of_refunds(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> FloatArray:
    """:func:`expected_average_value` for spend that refunds may have netted to zero or below.

    A repeat customer whose mean repeat spend m_x is ≤ 0 gets the limit of E[M | x, m_x] as
    m_x → 0⁺, p·v/(p·x + q - 1): the population mean shrunk by x repeat purchases worth nothing.
    It lies below the population mean, so the refunds count against them, and above zero, since
    the model knows no purchase without spend. Everyone else gets :func:`expected_average_value`.
    """
    x, m = np.broadcast_arrays(
        np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
    )
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a non-negative whole number of repeat purchases")
    if np.any(np.isnan(m[x > 0])):
        raise ValueError("repeat customers need a mean spend (NaN given)")
    positive = has_positive_repeat_spend(x, m)
    return _posterior_mean_spend(params, x, x * np.where(positive, m, 0.0))


# --------------------------------------------------------------------------------------------
# CLV


def predicted_clv(
    bgnbd: BgNbdParams,
    gg: GammaGammaParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    monetary_value: ArrayLike,
    months: int = 12,
    monthly_discount: float = 0.01,
    *,
    time_unit_days: float,
) -> FloatArray:
    """Expected discounted spend over the next ``months`` calendar months.

    Σ_{i=1..months} (E[Y(i)] - E[Y(i-1)]) · E[M] / (1 + d)^i, with E[Y(i)] the expected repeat
    purchases by the end of month i (:func:`expected_purchases`) and E[M] the expected spend per
    transaction (:func:`expected_average_value`): each month's purchases are discounted at the
    month's end, the usual discrete approximation of continuous discounting.

    ``time_unit_days`` is the length in days of the unit that ``recency``, ``T`` and the BG/NBD
    ``alpha`` are in (7 for weekly data such as CDNOW, 1 for daily). A month is 365.25/12 days.
    It has no default on purpose: a wrong unit silently scales every prediction.
    """
    value = expected_average_value(gg, frequency, monetary_value)
    purchases = discounted_expected_purchases(
        bgnbd, frequency, recency, T, months, monthly_discount, time_unit_days=time_unit_days
    )
    return purchases * value


def discounted_expected_purchases(
    bgnbd: BgNbdParams,
    frequency: ArrayLike,
    recency: ArrayLike,
    T: ArrayLike,
    months: int = 12,
    monthly_discount: float = 0.01,
    *,
    time_unit_days: float,
) -> FloatArray:
    """Σ_{i=1..months} (E[Y(i)] - E[Y(i-1)]) / (1 + d)^i: the purchases of each coming month,
    discounted at the month's end. Times a spend per purchase, it is :func:`predicted_clv`."""
    if months < 1:
        raise ValueError("months must be at least 1")
    if monthly_discount <= -1.0:
        raise ValueError("monthly_discount must be above -1")
    if time_unit_days <= 0:
        raise ValueError("time_unit_days must be positive")
    month_ends = np.arange(months + 1, dtype=float) * (DAYS_PER_MONTH / time_unit_days)
    x, t_x, age = _customers(frequency, recency, T)
    cumulative = expected_purchases(bgnbd, month_ends.reshape((-1,) + (1,) * x.ndim), x, t_x, age)
    per_month = np.diff(cumulative, axis=0)
    discount = (1.0 + monthly_discount) ** -np.arange(1, months + 1, dtype=float)
    return np.tensordot(discount, per_month, axes=1)


# --------------------------------------------------------------------------------------------
# RFM summary


def summarise_transactions(
    customer_ids: Sequence[Any] | ArrayLike,
    order_dates: Sequence[date | datetime | str] | ArrayLike,
    amounts: ArrayLike,
    observation_end: date | datetime | str,
    time_unit_days: float = 7,
) -> RfmSummary:
    """Per-customer (frequency, recency, T, monetary_value) from a transaction log.

    A purchase is a customer-day: orders on the same calendar day are one purchase with their
    amounts added, since the BG/NBD counts purchase occasions and same-day orders are usually
    one basket split up. Orders after ``observation_end`` are left out; the end day counts.

    * frequency: purchase days after the first (repeat purchases);
    * recency: first to last purchase day, T: first purchase day to ``observation_end``,
      both in units of ``time_unit_days``;
    * monetary_value: mean amount of the repeat purchase days, excluding the first purchase
      (whose value differs systematically and which the Gamma-Gamma model leaves out); 0 for
      customers without a repeat purchase, who are ignored by :func:`fit_gamma_gamma`.
    """
    if time_unit_days <= 0:
        raise ValueError("time_unit_days must be positive")
    ids = np.asarray(customer_ids)
    days = np.asarray(order_dates, dtype="datetime64[D]")
    value = np.asarray(amounts, dtype=float)
    if not (ids.shape == days.shape == value.shape) or ids.ndim != 1:
        raise ValueError("customer_ids, order_dates and amounts must be 1-d and of equal length")
    end = np.datetime64(observation_end, "D")
    kept = days <= end
    ids, days, value = ids[kept], days[kept], value[kept]
    if ids.size == 0:
        empty = np.zeros(0)
        return RfmSummary(ids, np.zeros(0, dtype=np.int64), empty, empty, empty)

    customer, customer_index = np.unique(ids, return_inverse=True)
    day_number = (days - end).astype(np.int64)
    # One row per customer-day, sorted by customer then day: each pair as one integer that
    # sorts the same way (a sort of integers, many times faster than one of pairs).
    first = day_number.min()
    span = day_number.max() - first + 1
    pairs, pair_index = np.unique(customer_index * span + (day_number - first), return_inverse=True)
    day_value = np.bincount(pair_index.ravel(), weights=value, minlength=len(pairs))
    pair_customer, pair_day = np.divmod(pairs, span)
    pair_day += first

    starts = np.flatnonzero(np.r_[True, pair_customer[1:] != pair_customer[:-1]])
    purchase_days = np.diff(np.r_[starts, len(pairs)])
    first_day = pair_day[starts]
    last_day = pair_day[starts + purchase_days - 1]
    total = np.add.reduceat(day_value, starts)
    frequency = purchase_days - 1
    repeat_total = total - day_value[starts]
    monetary = np.divide(repeat_total, frequency, out=np.zeros(len(starts)), where=frequency > 0)
    return RfmSummary(
        customer_id=customer,
        frequency=frequency.astype(np.int64),
        recency=(last_day - first_day) / time_unit_days,
        T=-first_day / time_unit_days,
        monetary_value=monetary,
    )


# --------------------------------------------------------------------------------------------
# Predictions for a customer base


# What a history the models cannot fit lacks, said after why the fit failed.
NEEDS = (
    "Predicted CLV needs a history that shows how often customers buy and when they stop (some "
    "hundreds of customers, some of whom stopped); every other figure stands"
)


class ClvFitError(RuntimeError):
    """The BG/NBD or the Gamma-Gamma model cannot be fitted on the transactions given.

    Raised only for what the data cannot support, never for a bug: the dbt model
    int_customer_clv_predictions then writes the customers without predictions, with this
    message as the reason, and lets every other error fail the build.
    """


@dataclass(frozen=True)
class CustomerValuePredictions:
    """The fits on a transaction log and what they predict, one entry per customer in the order
    of ``summary.customer_id``; times in the summary's time unit, horizons in calendar months."""

    summary: RfmSummary
    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams
    in_spend_fit: NDArray[np.bool_]
    p_alive: FloatArray
    expected_purchases: FloatArray
    expected_average_value: FloatArray
    predicted_clv: FloatArray


def predict_customer_value(
    customer_ids: Sequence[Any] | ArrayLike,
    order_dates: Sequence[date | datetime | str] | ArrayLike,
    amounts: ArrayLike,
    observation_end: date | datetime | str,
    months: int = 12,
    monthly_discount: float = 0.01,
    *,
    time_unit_days: float,
) -> CustomerValuePredictions:
    """Fit BG/NBD and Gamma-Gamma on the purchases up to ``observation_end`` and predict, for
    every customer who bought by then, P(alive), the purchases and the discounted spend of the
    next ``months`` months.

    Repeat customers whose refunds net their mean repeat spend to zero or below are left out of
    the Gamma-Gamma fit (:func:`has_positive_repeat_spend`) and still get a prediction
    (:func:`expected_average_value_net_of_refunds`). A model that cannot be fitted raises
    :class:`ClvFitError` saying which one and why, instead of writing numbers nobody can trust.
    """
    summary = summarise_transactions(
        customer_ids, order_dates, amounts, observation_end, time_unit_days
    )
    x, t_x, age, m = summary.frequency, summary.recency, summary.T, summary.monetary_value
    customers, repeaters = len(x), int(np.count_nonzero(x))
    as_of = f"as of {np.datetime64(observation_end, 'D')}"
    if repeaters == 0:
        raise ClvFitError(
            f"cannot fit BG/NBD {as_of}: none of the {customers} customers has a repeat "
            "purchase, so nothing tells how often customers buy or when they leave"
        )
    try:
        bgnbd = fit_bgnbd(x, t_x, age)
    except (ValueError, RuntimeError) as error:
        raise ClvFitError(
            f"BG/NBD fit failed {as_of} on {customers} customers "
            f"({repeaters} with a repeat purchase): {error}. {NEEDS}"
        ) from error

    in_spend_fit = has_positive_repeat_spend(x, m)
    spenders = int(np.count_nonzero(in_spend_fit))
    if spenders == 0:
        raise ClvFitError(
            f"cannot fit Gamma-Gamma {as_of}: none of the {repeaters} repeat customers has a "
            "positive mean repeat spend net of refunds"
        )
    try:
        gamma_gamma = fit_gamma_gamma(x[in_spend_fit], m[in_spend_fit])
        if gamma_gamma.q <= 1.0:
            raise ValueError(f"q = {gamma_gamma.q:.4g} ≤ 1: the spend per purchase has no mean")
    except (ValueError, RuntimeError) as error:
        raise ClvFitError(
            f"Gamma-Gamma fit failed {as_of} on {spenders} repeat customers with positive "
            f"spend: {error}"
        ) from error

    spend = expected_average_value_net_of_refunds(gamma_gamma, x, m)
    horizon = months * DAYS_PER_MONTH / time_unit_days
    with np.errstate(invalid="ignore", over="ignore"):
        discounted = discounted_expected_purchases(
            bgnbd, x, t_x, age, months, monthly_discount, time_unit_days=time_unit_days
        )
        predictions = CustomerValuePredictions(
            summary=summary,
            bgnbd=bgnbd,
            gamma_gamma=gamma_gamma,
            in_spend_fit=in_spend_fit,
            p_alive=probability_alive(bgnbd, x, t_x, age),
            expected_purchases=expected_purchases(bgnbd, horizon, x, t_x, age),
            expected_average_value=spend,
            predicted_clv=discounted * spend,
        )
    # The closed forms overflow at extreme fits (a and b in the hundreds of thousands: every
    # customer drops out with nearly the same probability); fail rather than write NaN.
    finite = np.isfinite(
        np.column_stack(
            [
                predictions.p_alive,
                predictions.expected_purchases,
                predictions.expected_average_value,
                predictions.predicted_clv,
            ]
        )
    ).all(axis=1)
    if not finite.all():
        raise ClvFitError(
            f"predictions {as_of} are not finite for {int(np.count_nonzero(~finite))} of "
            f"{customers} customers at {bgnbd} and {gamma_gamma}: the fit is too extreme for "
            f"the closed-form expectations. {NEEDS}"
        )
    return predictions
