"""Predicted CLV: BG/NBD, Gamma-Gamma, their CDNOW reproduction and the RFM summary."""

from __future__ import annotations

import math
import time
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pytest
from scipy import special

from orchestration.defs.reporting_day import ReportingDay
from orchestration.defs.transform.python_models import int_customer_clv_predictions
from orchestration.lib import clv, clv_predictions
from orchestration.lib.clv import (
    DAYS_PER_MONTH,
    BgNbdParams,
    ClvFitError,
    GammaGammaParams,
    _bgnbd_objective,
    _gamma_gamma_objective,
    bgnbd_log_likelihood,
    discounted_expected_purchases,
    expected_average_value,
    expected_average_value_net_of_refunds,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
    has_positive_repeat_spend,
    predict_customer_value,
    predicted_clv,
    probability_alive,
    summarise_transactions,
)

DATA = Path(__file__).parent / "data"

# Fader, Hardie & Lee (2005), "Counting your customers the easy way", section 4: the BG/NBD on
# the CDNOW sample (2,357 customers, 39-week calibration), maximum log-likelihood -9582.4.
CDNOW_BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
CDNOW_BGNBD_LOG_LIKELIHOOD = -9582.4
# Fader, Hardie & Lee (2005), "RFM and CLV", and Fader & Hardie (2013), "The Gamma-Gamma model of
# monetary value": fitted on the 946 CDNOW customers with a repeat purchase in the calibration.
CDNOW_GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, v=15.44)


@pytest.fixture(scope="module")
def cdnow() -> dict[str, np.ndarray]:
    """Per-customer x, t_x and T in weeks and zbar, the mean repeat transaction value."""
    table = np.loadtxt(
        DATA / "cdnow_customers_summary_with_transactions.csv", delimiter=",", skiprows=1
    )
    return {
        "id": table[:, 0].astype(int),
        "x": table[:, 1],
        "t_x": table[:, 2],
        "T": table[:, 3],
        "zbar": table[:, 4],
    }


def relative_errors(fitted: object, published: object, names: str) -> dict[str, float]:
    return {n: getattr(fitted, n) / getattr(published, n) - 1.0 for n in names.split()}


def simulate_bgnbd(
    rng: np.random.Generator, params: BgNbdParams, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Draw (x, t_x) for customers of ages T from the BG/NBD's own story.

    Repeat purchases arrive as a Poisson process until the customer drops out after the D-th,
    D ~ Geometric(p) on {1, 2, ...}, so x = min(N, D) with N ~ Poisson(λT). Given N arrivals in
    (0, T], the x-th is the x-th of N uniform order statistics: T · Beta(x, N - x + 1).
    """
    n = len(T)
    rate = rng.gamma(params.r, 1.0 / params.alpha, n)
    dropout = rng.beta(params.a, params.b, n)
    arrivals = rng.poisson(rate * T)
    x = np.minimum(arrivals, rng.geometric(dropout))
    t_x = np.zeros(n)
    buyers = x > 0
    t_x[buyers] = T[buyers] * rng.beta(x[buyers], arrivals[buyers] - x[buyers] + 1)
    return x, t_x


# --------------------------------------------------------------------------------------------
# The published CDNOW results


def test_the_bgnbd_fit_reproduces_the_published_cdnow_estimates(cdnow):
    fitted = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])

    errors = relative_errors(fitted, CDNOW_BGNBD, "r alpha a b")
    print(f"\nBG/NBD on CDNOW: {fitted}\nrelative errors: {errors}")
    assert all(abs(e) < 0.01 for e in errors.values()), errors


def test_the_bgnbd_log_likelihood_at_the_cdnow_fit_is_the_published_one(cdnow):
    fitted = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])

    total = bgnbd_log_likelihood(fitted, cdnow["x"], cdnow["t_x"], cdnow["T"]).sum()

    assert total == pytest.approx(CDNOW_BGNBD_LOG_LIKELIHOOD, abs=0.05)


def test_the_gamma_gamma_fit_reproduces_the_published_cdnow_estimates(cdnow):
    # The whole summary goes in; only the 946 repeat customers carry a mean repeat spend.
    assert np.count_nonzero(cdnow["x"]) == 946

    fitted = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])

    errors = relative_errors(fitted, CDNOW_GAMMA_GAMMA, "p q v")
    print(f"\nGamma-Gamma on CDNOW: {fitted}\nrelative errors: {errors}")
    assert all(abs(e) < 0.01 for e in errors.values()), errors


def test_cdnow_customer_1_is_expected_to_buy_the_published_1_226_times_in_39_weeks():
    # Fader, Hardie & Lee (2005), "Implementing the BG/NBD model for customer base analysis in
    # Excel": customer 1 (x = 2, t_x = 30.43, T = 38.86) at the published estimates.
    expected = expected_purchases(CDNOW_BGNBD, 39, 2, 30.43, 38.86)

    assert expected == pytest.approx(1.226, abs=5e-4)


def test_the_mean_expected_spend_of_cdnow_customers_matches_the_lifetimes_example(cdnow):
    # The Lifetimes documentation's Gamma-Gamma example prints 35.253 for the mean of the
    # conditional expected average profit over all 2,357 customers at its fit.
    fitted = fit_gamma_gamma(cdnow["x"], cdnow["zbar"])

    mean = expected_average_value(fitted, cdnow["x"], cdnow["zbar"]).mean()

    assert mean == pytest.approx(35.253, abs=5e-3)


def test_summarising_the_raw_cdnow_transactions_gives_the_published_summary(cdnow):
    # Columns: master id, sample id, yyyymmdd, CDs bought, dollar value. The calibration runs
    # from 1997-01-01 to 1997-09-30 (39 weeks); 112 customer-days in it hold several orders.
    raw = np.loadtxt(DATA / "CDNOW_sample.txt", dtype=str)
    dates = [f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in raw[:, 2]]

    summary = summarise_transactions(
        raw[:, 1].astype(int), dates, raw[:, 4].astype(float), "1997-09-30", time_unit_days=7
    )

    np.testing.assert_array_equal(summary.customer_id, cdnow["id"])
    np.testing.assert_array_equal(summary.frequency, cdnow["x"])
    # The published file rounds to two decimals.
    np.testing.assert_allclose(summary.recency, cdnow["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(summary.T, cdnow["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(summary.monetary_value, cdnow["zbar"], atol=0.005 + 1e-9)


# --------------------------------------------------------------------------------------------
# BG/NBD


def test_the_bgnbd_log_likelihood_of_a_tiny_case_matches_the_hand_computation():
    # r = 2, alpha = 3, a = 1, b = 2; one repeat purchase (x = 1) at t_x = 2, age T = 5.
    #   A1 = Γ(r+x) alpha^r / Γ(r)             = Γ(3) · 3² / Γ(2)   = 2 · 9 / 1 = 18
    #   A2 = Γ(a+b) Γ(b+x) / (Γ(b) Γ(a+b+x))   = Γ(3) Γ(3) / (Γ(2) Γ(4)) = 2 · 2 / 6 = 2/3
    #   A3 = (alpha + T)^-(r+x)                 = 8^-3 = 1/512
    #   A4 = a/(b+x-1) · (alpha + t_x)^-(r+x)   = 1/2 · 5^-3 = 1/250
    #   L  = A1 · A2 · (A3 + A4) = 12 · (1/512 + 1/250) = 12 · 0.005953125 = 0.0714375
    params = BgNbdParams(r=2.0, alpha=3.0, a=1.0, b=2.0)

    assert bgnbd_log_likelihood(params, 1, 2.0, 5.0) == pytest.approx(math.log(0.0714375))
    # With no repeat purchase only "alive at T" remains: A1 = Γ(2)·3²/Γ(2) = 9, A2 = 1,
    # A3 = (3 + 5)^-2 = 1/64, so L = 9/64.
    assert bgnbd_log_likelihood(params, 0, 0.0, 5.0) == pytest.approx(math.log(9 / 64))
    # P(alive) is the "alive" share of the same sum: (1/512) / (1/512 + 1/250) = 1/3.048.
    assert probability_alive(params, 1, 2.0, 5.0) == pytest.approx(1 / 3.048)


def test_the_analytic_gradients_match_finite_differences(cdnow):
    rng = np.random.default_rng(1)
    weight = rng.integers(1, 4, len(cdnow["x"])).astype(float)
    repeat = cdnow["x"] > 0
    cases = [
        (_bgnbd_objective, (cdnow["x"], cdnow["t_x"], cdnow["T"], weight), 4),
        (_gamma_gamma_objective, (cdnow["x"][repeat], cdnow["zbar"][repeat], weight[repeat]), 3),
    ]
    for objective, args, size in cases:
        point = rng.normal(0.0, 0.5, size)
        _, gradient = objective(point, *args)
        step = 1e-6
        numeric = [
            (objective(point + step * e, *args)[0] - objective(point - step * e, *args)[0])
            / (2 * step)
            for e in np.eye(size)
        ]
        np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-8)


def test_a_customer_without_repeat_purchases_is_alive_with_probability_one():
    # The model only lets a customer drop out right after a repeat purchase.
    alive = probability_alive(CDNOW_BGNBD, [0, 0, 0], [0.0, 0.0, 0.0], [1.0, 39.0, 500.0])

    np.testing.assert_array_equal(alive, 1.0)


def test_probability_alive_falls_as_the_last_purchase_recedes_behind_t():
    recency = np.linspace(38.0, 1.0, 20)

    alive = probability_alive(CDNOW_BGNBD, 3, recency, 38.86)

    assert np.all(np.diff(alive) < 0)
    assert 0.0 < alive[-1] < alive[0] < 1.0


def test_expected_purchases_increase_with_the_horizon():
    horizons = np.linspace(0.0, 520.0, 53)

    expected = expected_purchases(CDNOW_BGNBD, horizons, 4, 30.0, 38.86)

    assert expected[0] == 0.0
    assert np.all(np.diff(expected) > 0)


@pytest.mark.parametrize(
    ("x", "t_x", "T"),
    [
        (0, 0.0, 0.0),
        (0, 0.0, 38.86),
        (2, 30.43, 38.86),
        (25, 36.0, 38.86),
        (500, 38.8, 38.86),
    ],
)
def test_expected_purchases_match_a_simulation_of_the_model(x, t_x, T):
    # Given the history, the model says: alive with P(alive); if alive, λ ~ Gamma(r + x,
    # alpha + T) and p ~ Beta(a, b + x), and the future count is min(Poisson(λt), Geometric(p)).
    # This checks eq. 10's hypergeometric part against plain sampling.
    params, horizon, draws = CDNOW_BGNBD, 52.0, 400_000
    rng = np.random.default_rng(7)
    rate = rng.gamma(params.r + x, 1.0 / (params.alpha + T), draws)
    dropout = rng.beta(params.a, params.b + x, draws)
    count = np.minimum(rng.poisson(rate * horizon), rng.geometric(dropout))
    alive = probability_alive(params, x, t_x, T)
    simulated = alive * count.mean()
    standard_error = alive * count.std() / math.sqrt(draws)

    expected = expected_purchases(params, horizon, x, t_x, T)

    assert abs(expected - simulated) < 4 * standard_error


def test_expected_purchases_equal_the_literal_eq_10_where_it_does_not_overflow():
    params = CDNOW_BGNBD
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, T, t = np.array([0, 1, 2, 7, 30]), np.array([0, 5.0, 30.43, 20.0, 38.0]), 38.86, 39.0
    literal = (
        (a + b + x - 1)
        / (a - 1)
        * (
            1
            - ((alpha + T) / (alpha + T + t)) ** (r + x)
            * special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
        )
        / (1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    )

    np.testing.assert_allclose(expected_purchases(params, t, x, t_x, T), literal, rtol=1e-10)


def test_expected_purchases_stay_finite_where_the_literal_eq_10_overflows():
    # At x = 2,000 eq. 10's power underflows to 0 and its 2F1 overflows to inf.
    z = 52.0 / (CDNOW_BGNBD.alpha + 38.86 + 52.0)
    b = CDNOW_BGNBD.b
    assert special.hyp2f1(CDNOW_BGNBD.r + 2000, b + 2000, CDNOW_BGNBD.a + b + 1999, z) == np.inf

    expected = expected_purchases(CDNOW_BGNBD, 52.0, 2000, 38.8, 38.86)

    assert np.isfinite(expected)
    assert expected > 0


def test_expected_purchases_are_continuous_where_a_equals_one():
    # Eq. 10 divides by a - 1; at a = 1 the value is the limit from either side.
    def at(a: float) -> float:
        return float(expected_purchases(BgNbdParams(0.5, 4.0, a, 2.0), 26.0, 3, 20.0, 38.0))

    assert at(1.0) == pytest.approx(0.5 * (at(1.0 - 1e-4) + at(1.0 + 1e-4)), rel=1e-6)


def test_fitting_ten_thousand_simulated_customers_takes_seconds_and_recovers_the_parameters():
    rng = np.random.default_rng(0)
    T = rng.uniform(1.0, 78.0, 10_000)
    x, t_x = simulate_bgnbd(rng, CDNOW_BGNBD, T)

    start = time.perf_counter()
    fitted = fit_bgnbd(x, t_x, T)
    elapsed = time.perf_counter() - start

    print(f"\nBG/NBD fit of 10,000 simulated customers: {elapsed:.3f} s, {fitted}")
    # The maximum is at least as likely as the truth, whatever the sample.
    assert (
        bgnbd_log_likelihood(fitted, x, t_x, T).sum()
        >= bgnbd_log_likelihood(CDNOW_BGNBD, x, t_x, T).sum()
    )
    # a and b alone wander by 12-15 % (one standard deviation over seeds at this size) along
    # their ridge; the mean dropout probability a/(a+b) is pinned down to about 4 %.
    true_dropout = CDNOW_BGNBD.a / (CDNOW_BGNBD.a + CDNOW_BGNBD.b)
    assert fitted.r == pytest.approx(CDNOW_BGNBD.r, rel=0.1)
    assert fitted.alpha == pytest.approx(CDNOW_BGNBD.alpha, rel=0.15)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(true_dropout, rel=0.12)


def test_only_alpha_depends_on_the_time_unit(cdnow):
    weeks = fit_bgnbd(cdnow["x"], cdnow["t_x"], cdnow["T"])
    days = fit_bgnbd(cdnow["x"], 7 * cdnow["t_x"], 7 * cdnow["T"])

    assert days.alpha == pytest.approx(7 * weeks.alpha, rel=1e-5)
    for name in ("r", "a", "b"):
        assert getattr(days, name) == pytest.approx(getattr(weeks, name), rel=1e-5)


def test_a_customer_history_outside_the_observation_window_is_rejected():
    with pytest.raises(ValueError, match="recency"):
        fit_bgnbd([1, 2], [5.0, 40.0], [38.0, 38.0])
    with pytest.raises(ValueError, match="whole number"):
        probability_alive(CDNOW_BGNBD, 1.5, 3.0, 10.0)


# --------------------------------------------------------------------------------------------
# Gamma-Gamma


def test_the_gamma_gamma_log_likelihood_of_a_tiny_case_matches_the_hand_computation():
    # p = 1, q = 2, v = 1; x = 1 repeat purchase of m = 1:
    #   Γ(px+q)/(Γ(px)Γ(q)) · v^q · m^(px-1) · x^(px) / (v + x·m)^(px+q)
    #   = Γ(3)/(Γ(1)Γ(2)) · 1 · 1 · 1 / 2³ = 2/8 = 1/4
    params = GammaGammaParams(p=1.0, q=2.0, v=1.0)

    ll = gamma_gamma_log_likelihood(params, [1, 0], [1.0, 0.0])

    assert ll[0] == pytest.approx(math.log(0.25))
    assert np.isnan(ll[1])


def test_the_gamma_gamma_fit_recovers_simulated_parameters():
    rng = np.random.default_rng(3)
    truth = CDNOW_GAMMA_GAMMA
    x = rng.integers(1, 15, 5_000).astype(float)
    scale = rng.gamma(truth.q, 1.0 / truth.v, len(x))
    # The mean of x Gamma(p, nu) transactions is Gamma(px, x·nu).
    mean_spend = rng.gamma(truth.p * x, 1.0 / (x * scale))

    fitted = fit_gamma_gamma(x, mean_spend)

    assert (
        gamma_gamma_log_likelihood(fitted, x, mean_spend).sum()
        >= gamma_gamma_log_likelihood(truth, x, mean_spend).sum()
    )
    assert fitted.population_mean == pytest.approx(truth.population_mean, rel=0.05)


def test_expected_spend_moves_from_the_population_mean_towards_the_customers_own_mean():
    params = CDNOW_GAMMA_GAMMA
    frequency = np.array([0, 1, 5, 50, 5000])

    expected = expected_average_value(params, frequency, 100.0)

    assert expected[0] == pytest.approx(params.population_mean)
    assert np.all(np.diff(expected) > 0)
    assert expected[-1] == pytest.approx(100.0, rel=1e-3)


def test_a_repeat_customer_without_positive_spend_is_rejected():
    with pytest.raises(ValueError, match="positive mean spend"):
        fit_gamma_gamma([0, 2, 3], [0.0, 10.0, 0.0])


# --------------------------------------------------------------------------------------------
# Predicted CLV

HISTORIES = {
    "frequency": np.array([0, 1, 2, 6, 6]),
    "recency": np.array([0.0, 10.0, 30.43, 38.0, 5.0]),
    "T": np.array([20.0, 38.86, 38.86, 38.86, 38.86]),
    "monetary_value": np.array([0.0, 40.0, 22.35, 55.0, 55.0]),
}


def test_the_clv_without_discount_is_twelve_months_of_purchases_times_the_expected_spend():
    clv = predicted_clv(
        CDNOW_BGNBD, CDNOW_GAMMA_GAMMA, **HISTORIES, monthly_discount=0.0, time_unit_days=7
    )

    year_in_weeks = 12 * DAYS_PER_MONTH / 7
    purchases = expected_purchases(
        CDNOW_BGNBD, year_in_weeks, HISTORIES["frequency"], HISTORIES["recency"], HISTORIES["T"]
    )
    spend = expected_average_value(
        CDNOW_GAMMA_GAMMA, HISTORIES["frequency"], HISTORIES["monetary_value"]
    )
    np.testing.assert_allclose(clv, purchases * spend, rtol=1e-12)


def test_discounting_lowers_the_clv():
    by_rate = [
        predicted_clv(
            CDNOW_BGNBD, CDNOW_GAMMA_GAMMA, **HISTORIES, monthly_discount=d, time_unit_days=7
        )
        for d in (0.0, 0.01, 0.05)
    ]

    assert np.all(by_rate[1] < by_rate[0])
    assert np.all(by_rate[2] < by_rate[1])
    # At 1 % a month no month is discounted by more than 1.01^-12, 11.4 %.
    assert np.all(by_rate[1] > by_rate[0] / 1.01**12)


def test_the_clv_of_a_customer_without_repeat_purchases_uses_the_population_mean_spend():
    clv = predicted_clv(CDNOW_BGNBD, CDNOW_GAMMA_GAMMA, 0, 0.0, 20.0, 0.0, time_unit_days=7)

    months = np.arange(13) * DAYS_PER_MONTH / 7
    per_month = np.diff(expected_purchases(CDNOW_BGNBD, months, 0, 0.0, 20.0))
    by_hand = CDNOW_GAMMA_GAMMA.p * CDNOW_GAMMA_GAMMA.v / (CDNOW_GAMMA_GAMMA.q - 1)
    assert clv == pytest.approx(by_hand * np.sum(per_month / 1.01 ** np.arange(1, 13)))


def test_the_clv_is_the_same_whatever_time_unit_the_histories_are_in():
    days = BgNbdParams(CDNOW_BGNBD.r, 7 * CDNOW_BGNBD.alpha, CDNOW_BGNBD.a, CDNOW_BGNBD.b)
    in_days = {**HISTORIES, "recency": 7 * HISTORIES["recency"], "T": 7 * HISTORIES["T"]}

    weekly = predicted_clv(CDNOW_BGNBD, CDNOW_GAMMA_GAMMA, **HISTORIES, time_unit_days=7)
    daily = predicted_clv(days, CDNOW_GAMMA_GAMMA, **in_days, time_unit_days=1)

    np.testing.assert_allclose(daily, weekly, rtol=1e-10)


def test_the_clv_of_cdnow_customers_is_positive_and_largest_for_frequent_recent_buyers(cdnow):
    clv = predicted_clv(
        CDNOW_BGNBD,
        CDNOW_GAMMA_GAMMA,
        cdnow["x"],
        cdnow["t_x"],
        cdnow["T"],
        cdnow["zbar"],
        time_unit_days=7,
    )

    assert np.all(clv > 0)
    frequent_recent = (cdnow["x"] >= 5) & (cdnow["T"] - cdnow["t_x"] < 4)
    one_timers = cdnow["x"] == 0
    assert clv[frequent_recent].min() > clv[one_timers].max()


# --------------------------------------------------------------------------------------------
# RFM summary


def test_the_summary_counts_orders_of_one_day_as_one_purchase_and_ignores_later_orders():
    summary = summarise_transactions(
        ["a", "a", "a", "a", "b", "a"],
        ["2025-01-01", "2025-01-01", "2025-01-08", "2025-01-15", "2025-01-08", "2025-02-01"],
        [10.0, 5.0, 20.0, 30.0, 7.0, 99.0],
        observation_end="2025-01-22",
    )

    assert summary.customer_id.tolist() == ["a", "b"]
    # a: purchase days Jan 1 (15), Jan 8 (20), Jan 15 (30); the Feb 1 order is after the end.
    assert summary.frequency.tolist() == [2, 0]
    assert summary.recency.tolist() == [2.0, 0.0]
    assert summary.T.tolist() == [3.0, 2.0]
    assert summary.monetary_value.tolist() == [25.0, 0.0]


def test_the_summary_of_an_empty_log_is_empty():
    summary = summarise_transactions([], [], [], observation_end="2025-01-22")

    assert len(summary.frequency) == len(summary.T) == 0


# --------------------------------------------------------------------------------------------
# Refunds in the spend model


def test_only_repeat_customers_with_positive_mean_spend_enter_the_spend_fit():
    in_fit = has_positive_repeat_spend([0, 0, 1, 2, 3, 4], [0.0, 5.0, 10.0, 0.0, -4.0, np.nan])

    assert in_fit.tolist() == [False, False, True, False, False, False]


def test_expected_spend_net_of_refunds_is_the_posterior_mean_or_its_limit_at_zero_spend():
    params = CDNOW_GAMMA_GAMMA
    frequency = np.array([0, 2, 2, 2, 5])
    spend = np.array([0.0, 30.0, 0.0, -12.0, 0.0])

    expected = expected_average_value_net_of_refunds(params, frequency, spend)

    # Customers the model can describe get its posterior mean unchanged.
    assert expected[:2] == pytest.approx(expected_average_value(params, [0, 2], [0.0, 30.0]))
    # Spend netted to zero or below gets the limit of the posterior mean as m_x → 0⁺ ...
    assert expected[2] == pytest.approx(float(expected_average_value(params, 2, 1e-12)))
    assert expected[3] == expected[2]
    # ... p·v/(p·x + q - 1): below the population mean, the further below the more purchases.
    assert expected[2] == pytest.approx(params.p * params.v / (2 * params.p + params.q - 1))
    assert 0 < expected[4] < expected[2] < params.population_mean


def test_discounted_expected_purchases_without_discount_are_the_expected_purchases():
    discounted = discounted_expected_purchases(
        CDNOW_BGNBD, 2, 30.43, 38.86, 12, 0.0, time_unit_days=7
    )

    year = expected_purchases(CDNOW_BGNBD, 12 * DAYS_PER_MONTH / 7, 2, 30.43, 38.86)
    assert discounted == pytest.approx(year, rel=1e-12)


# --------------------------------------------------------------------------------------------
# Predictions for a customer base


@pytest.fixture(scope="module")
def cdnow_transactions() -> dict[str, np.ndarray]:
    """The raw CDNOW sample: one row per transaction (sample id, day, dollar value)."""
    raw = np.loadtxt(DATA / "CDNOW_sample.txt", dtype=str)
    return {
        "id": raw[:, 1].astype(int),
        "date": np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in raw[:, 2]], dtype="datetime64[D]"),
        "value": raw[:, 4].astype(float),
    }


def test_predicting_from_the_raw_cdnow_transactions_reproduces_the_published_fits(
    cdnow_transactions,
):
    t = cdnow_transactions
    start = time.perf_counter()
    predictions = predict_customer_value(
        t["id"], t["date"], t["value"], "1997-09-30", time_unit_days=7
    )
    elapsed = time.perf_counter() - start

    print(f"\nCDNOW from raw transactions to predictions: {elapsed:.3f} s")
    assert elapsed < 5
    bgnbd_errors = relative_errors(predictions.bgnbd, CDNOW_BGNBD, "r alpha a b")
    gg_errors = relative_errors(predictions.gamma_gamma, CDNOW_GAMMA_GAMMA, "p q v")
    assert all(abs(e) < 0.01 for e in (bgnbd_errors | gg_errors).values())
    summary = predictions.summary
    assert len(summary.customer_id) == 2357
    assert predictions.in_spend_fit.sum() == 946
    np.testing.assert_allclose(
        predictions.p_alive,
        probability_alive(predictions.bgnbd, summary.frequency, summary.recency, summary.T),
    )
    np.testing.assert_allclose(
        predictions.predicted_clv,
        predicted_clv(
            predictions.bgnbd,
            predictions.gamma_gamma,
            summary.frequency,
            summary.recency,
            summary.T,
            summary.monetary_value,
            time_unit_days=7,
        ),
    )


def test_repeat_customers_refunded_to_nothing_stay_out_of_the_spend_fit_and_are_predicted(
    cdnow_transactions,
):
    t = cdnow_transactions
    # Customer 9001 bought three times, the last two refunded in full; 9002's refunds exceed
    # what they paid for their repeat purchases.
    ids = np.r_[t["id"], [9001, 9001, 9001, 9002, 9002]]
    days = np.r_[
        t["date"],
        np.array(["1997-01-05", "1997-03-01", "1997-06-01"], "M8[D]"),
        np.array(["1997-02-01", "1997-05-01"], "M8[D]"),
    ]
    values = np.r_[t["value"], [40.0, 0.0, 0.0, 25.0, -10.0]]

    with_refunds = predict_customer_value(ids, days, values, "1997-09-30", time_unit_days=7)
    without = predict_customer_value(t["id"], t["date"], t["value"], "1997-09-30", time_unit_days=7)

    refunded = np.isin(with_refunds.summary.customer_id, [9001, 9002])
    assert with_refunds.summary.frequency[refunded].tolist() == [2, 1]
    assert not with_refunds.in_spend_fit[refunded].any()
    assert with_refunds.gamma_gamma == without.gamma_gamma
    gg = with_refunds.gamma_gamma
    expected_spend = gg.p * gg.v / (np.array([2, 1]) * gg.p + gg.q - 1)
    np.testing.assert_allclose(
        with_refunds.expected_average_value[refunded], expected_spend, rtol=1e-12
    )
    assert np.all(np.isfinite(with_refunds.predicted_clv))
    assert np.all(with_refunds.predicted_clv[refunded] > 0)


def test_a_customer_base_without_repeat_purchases_cannot_be_fitted_and_says_so():
    with pytest.raises(ClvFitError, match=r"BG/NBD as of 2025-03-31: none of the 3 customers"):
        predict_customer_value(
            [1, 2, 3],
            ["2025-01-01", "2025-02-01", "2025-03-01"],
            [10.0, 20.0, 30.0],
            "2025-03-31",
            time_unit_days=1,
        )


def test_a_base_whose_repeat_spend_is_all_refunded_cannot_fit_the_spend_model_and_says_so(
    cdnow_transactions,
):
    t = cdnow_transactions
    refunded = np.zeros_like(t["value"])

    with pytest.raises(ClvFitError, match=r"Gamma-Gamma .* none of the 946 repeat customers"):
        predict_customer_value(t["id"], t["date"], refunded, "1997-09-30", time_unit_days=7)


def test_a_fit_too_extreme_for_the_expectations_fails_instead_of_writing_nan(
    cdnow_transactions, monkeypatch
):
    # A fit seen on data where every customer drops out with nearly the same probability: the
    # hypergeometric term of the expected purchases overflows at such a and b.
    extreme = BgNbdParams(r=1.4, alpha=57.4, a=150_146.7, b=1_934_087.2)
    monkeypatch.setattr(clv, "fit_bgnbd", lambda *_: extreme)
    t = cdnow_transactions

    with pytest.raises(ClvFitError, match=r"not finite for .* customers at BgNbdParams"):
        predict_customer_value(t["id"], t["date"], t["value"], "1997-09-30", time_unit_days=7)


# --------------------------------------------------------------------------------------------
# The asset around predict_customer_value


@pytest.fixture
def run_asset(tmp_path, monkeypatch):
    """Runs the asset intermediate/int_customer_clv_predictions on a warehouse holding only
    ``orders`` as int_orders_enriched, reporting on ``as_of`` (default: the last order's day),
    and returns the table it wrote."""
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))

    def run(orders: list[tuple], as_of: date | None = None) -> duckdb.DuckDBPyRelation:
        with duckdb.connect(str(warehouse)) as con:
            con.execute(
                "create schema if not exists intermediate;"
                "create or replace table intermediate.int_orders_enriched (customer_id bigint,"
                " is_cancelled boolean, net_revenue decimal(18, 2), order_date date)"
            )
            if orders:
                con.executemany(
                    "insert into intermediate.int_orders_enriched values (?, ?, ?, ?)", orders
                )
        day = as_of or max((o[3] for o in orders), default=date(2026, 6, 30))
        dg.materialize(
            [int_customer_clv_predictions],
            resources={"reporting_day": ReportingDay(as_of=day.isoformat())},
        )
        with duckdb.connect(str(warehouse), read_only=True) as con:
            written = con.table("intermediate.int_customer_clv_predictions").to_arrow_table()
        return duckdb.from_arrow(written)

    return run


def simulated_orders(customers: int = 400, seed: int = 5) -> list[tuple]:
    """Two years of orders of customers who behave as BG/NBD and Gamma-Gamma say, at the CDNOW
    estimates in days: each buys at their own Poisson rate, may drop out after each repeat
    purchase, and spends around their own mean."""
    rng = np.random.default_rng(seed)
    weeks, spend = CDNOW_BGNBD, CDNOW_GAMMA_GAMMA
    orders = []
    for customer in range(1, customers + 1):
        rate = rng.gamma(weeks.r, 1 / (7 * weeks.alpha))
        dropout = rng.beta(weeks.a, weeks.b)
        scale = rng.gamma(spend.q, 1 / spend.v)
        day = int(rng.integers(0, 365))
        while day < 730:
            orders.append(
                (
                    customer,
                    False,
                    round(rng.gamma(spend.p, 1 / scale), 2),
                    date(2024, 1, 1) + np.timedelta64(day, "D").item(),
                )
            )
            if len(orders) > 1 and orders[-2][0] == customer and rng.random() < dropout:
                break
            day += 1 + int(rng.exponential(1 / rate))
    return orders


def test_the_asset_writes_one_row_per_buyer_with_its_fit_and_ignores_cancelled_orders(run_asset):
    orders = simulated_orders()
    # Customer 999 has only a cancelled order, on the as-of day.
    orders.append((999, True, 50.00, date(2026, 1, 15)))

    rows = run_asset(orders)

    buyers = {o[0] for o in orders if not o[1]}
    assert rows.aggregate("count(*), count(distinct customer_id)").fetchall() == [
        (len(buyers), len(buyers))
    ]
    distinct = rows.aggregate(
        "count(distinct (r, alpha, a, b, p, q, v, observation_end, model_fitted_at))"
    )
    assert distinct.fetchall() == [(1,)]
    assert rows.aggregate("min(observation_end)").fetchall() == [(date(2026, 1, 15),)]
    assert rows.filter("frequency = 0 and p_alive != 1").aggregate("count(*)").fetchall() == [(0,)]


def test_the_asset_measures_as_of_and_ignores_later_orders(run_asset):
    orders = simulated_orders()

    rows = run_asset(orders, as_of=date(2025, 6, 30))

    first_by_customer = {}
    for customer, _, _, day in orders:
        first_by_customer[customer] = min(day, first_by_customer.get(customer, day))
    seen = sum(day <= date(2025, 6, 30) for day in first_by_customer.values())
    assert rows.aggregate("count(*), max(t), min(observation_end)").fetchall() == [
        (seen, float((date(2025, 6, 30) - min(first_by_customer.values())).days), date(2025, 6, 30))
    ]


def test_the_asset_without_any_order_writes_an_empty_table_with_its_columns(run_asset):
    rows = run_asset([])

    assert rows.aggregate("count(*)").fetchall() == [(0,)]
    assert "predicted_clv_12m" in rows.columns and "model_fitted_at" in rows.columns


def test_the_asset_without_a_repeat_customer_keeps_every_buyer_with_null_predictions(
    run_asset,
):
    orders = [
        (1, False, 10.00, date(2025, 1, 1)),
        (2, False, 20.00, date(2025, 2, 1)),
        (2, True, 99.00, date(2025, 3, 1)),
        (3, False, 30.00, date(2025, 3, 1)),
    ]

    rows = run_asset(orders)

    assert rows.order("customer_id").project(
        "customer_id, frequency, t, monetary_value, is_in_spend_fit, observation_end"
    ).fetchall() == [
        (1, 0, 59.0, 0.0, False, date(2025, 3, 1)),
        (2, 0, 28.0, 0.0, False, date(2025, 3, 1)),
        (3, 0, 0.0, 0.0, False, date(2025, 3, 1)),
    ]
    predictions = "p_alive, expected_purchases_12m, expected_average_order_value, predicted_clv_12m"
    parameters = "r, alpha, a, b, p, q, v"
    assert rows.aggregate(f"count(coalesce({predictions}, {parameters}))").fetchall() == [(0,)]
    assert rows.aggregate("count(model_fitted_at)").fetchall() == [(3,)]
    assert rows.project("clv_fit_status, clv_fit_error").distinct().fetchall() == [
        (
            "failed",
            "cannot fit BG/NBD as of 2025-03-01: none of the 3 customers has a repeat purchase, "
            "so nothing tells how often customers buy or when they leave",
        )
    ]


def test_the_asset_records_a_fit_run_to_a_parameter_bound_and_writes_no_prediction(
    run_asset, monkeypatch
):
    def unidentifiable(*_):
        raise RuntimeError("BG/NBD fit ran to a parameter bound; the data cannot identify it")

    monkeypatch.setattr(clv, "fit_bgnbd", unidentifiable)

    rows = run_asset(simulated_orders())

    assert rows.aggregate("count(*) > 0, count(p_alive), count(predicted_clv_12m)").fetchall() == [
        (True, 0, 0)
    ]
    ((status, error),) = rows.project("clv_fit_status, clv_fit_error").distinct().fetchall()
    assert status == "failed"
    assert error.startswith("BG/NBD fit failed as of 2025-12-28 on 400 customers")
    assert "ran to a parameter bound; the data cannot identify it. Predicted CLV needs" in error
    assert error.endswith("every other figure stands")


def test_the_asset_of_a_fitted_base_says_fitted_and_no_error(run_asset):
    rows = run_asset(simulated_orders())

    assert rows.project("clv_fit_status, clv_fit_error").distinct().fetchall() == [("fitted", None)]
    assert rows.aggregate("count(*) = count(predicted_clv_12m)").fetchall() == [(True,)]


def test_only_an_explained_fit_failure_degrades_the_asset_and_any_other_error_fails_it(
    run_asset, monkeypatch
):
    orders = simulated_orders()

    def failing_with(error):
        def fit(*_, **__):
            raise error

        return fit

    # The dbt model imports predict_customer_value each time run_dbt_model loads it.
    monkeypatch.setattr(
        clv_predictions, "predict_customer_value", failing_with(ClvFitError("no fit"))
    )
    degraded = run_asset(orders)
    assert degraded.project("clv_fit_status, clv_fit_error").distinct().fetchall() == [
        ("failed", "no fit")
    ]

    monkeypatch.setattr(clv_predictions, "predict_customer_value", failing_with(TypeError("a bug")))
    with pytest.raises(TypeError, match="a bug"):
        run_asset(orders)


def test_a_fit_stopping_short_of_the_maximum_says_so_whatever_the_optimiser_reports():
    from orchestration.lib.clv import _minimise

    def flat_but_sloped(x):  # no step lowers it: the optimiser stops where it started
        return 0.0, np.ones_like(x)

    with pytest.raises(RuntimeError) as error:
        _minimise(flat_but_sloped, np.zeros(2), (), "BG/NBD")
    assert str(error.value) == (
        "BG/NBD fit did not converge: it stopped short of the likelihood's maximum "
        "(largest gradient 1.0e+00, at most 1e-4 expected)"
    )
