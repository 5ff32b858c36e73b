"""Thresholds from sample sizes: a share or score moves by chance by its sampling error."""

from __future__ import annotations

import math
from datetime import date, timedelta

import duckdb
import numpy as np
import pytest

from orchestration.lib.monitor import evaluate_warehouse, read_catalogue
from orchestration.lib.trend import (
    RECENT_DAYS,
    SAMPLING_Z,
    Finding,
    evaluate,
    event_move,
    sampling_error,
)

START = date(2025, 1, 6)
N = 400
DROP_DAYS = 40


def share_falling_by(points: float, level: float = 80.0) -> tuple[list[date], np.ndarray]:
    """A share near ``level`` % with a little noise that falls by ``points`` for its last
    DROP_DAYS days."""
    dates = [START + timedelta(days=i) for i in range(N)]
    values = level + np.random.default_rng(3).normal(0.0, 0.5, N)
    values[-DROP_DAYS:] -= points
    return dates, values


def test_the_sampling_error_of_a_share_is_binomial():
    # sqrt(80 * 20 / 100) = 4 points; sqrt(0.5 * 0.5 / 400) = 0.025
    assert sampling_error(80.0, 100, (0.0, 100.0)) == pytest.approx(4.0)
    assert sampling_error(0.5, 400, (0.0, 1.0)) == pytest.approx(0.025)


def test_the_sampling_error_of_a_score_is_bounded_by_its_range():
    # NPS 20 from 96 responses: at most sqrt((20 + 100) * (100 - 20) / 96) = sqrt(100) = 10
    assert sampling_error(20.0, 96, (-100.0, 100.0)) == pytest.approx(10.0)
    # a mean rating of 4 on 1-5 from 12 ratings: sqrt(3 * 1 / 12) = 0.5
    assert sampling_error(4.0, 12, (1.0, 5.0)) == pytest.approx(0.5)


def test_no_sample_has_no_sampling_error():
    assert math.isnan(sampling_error(80.0, 0, (0.0, 100.0)))
    assert math.isnan(sampling_error(80.0, math.nan, (0.0, 100.0)))


def six_point_fall_of_a_share_rated(ratings: int) -> Finding:
    """A share falling 6 points, each day's value from ``ratings`` ratings, floor 3 points."""
    dates, values = share_falling_by(6.0)
    return evaluate(
        dates,
        values,
        direction="higher_is_better",
        min_effect=3.0,
        absolute=True,
        sample_sizes=np.full(N, float(ratings)),
        observation_range=(0.0, 100.0),
    )


def test_a_large_sample_holds_a_share_to_its_minimum_effect_in_points():
    finding = six_point_fall_of_a_share_rated(10_000)
    # 2.5 standard errors of 10,000 ratings are 2.5 * 0.4 = 1 point, below the 3-point floor
    assert finding.status == "decline"
    assert finding.min_effect == pytest.approx(3.0 / finding.baseline_value)


def test_a_thin_sample_holds_a_share_to_its_sampling_error():
    finding = six_point_fall_of_a_share_rated(25)
    # from 25 ratings a share near 80 % has a standard error of sqrt(80 * 20 / 25) = 8 points:
    # a 6-point fall is well within 2.5 of them (20 points, 25 % of the level)
    assert finding.status == "ok"
    assert SAMPLING_Z == 2.5
    level = finding.baseline_value
    assert finding.min_effect == pytest.approx(2.5 * math.sqrt(level * (100 - level) / 25) / level)
    assert finding.min_effect == pytest.approx(0.25, abs=0.005)
    assert "standard errors of a sample of 25" in finding.detail


def test_each_week_is_held_to_the_smallest_sample_of_its_own_days():
    # A 6-point fall, beyond chance from 10,000 ratings, within it from 25 (20 points). The
    # gate reads each 7-day mean ending in the last RECENT_DAYS days (the 8 weeks ending 0 to
    # 7 days ago) against the smallest sample of its own days.
    dates, values = share_falling_by(6.0)

    def with_thin_days(*days_ago: int) -> Finding:
        sizes = np.full(N, 10_000.0)
        for day in days_ago:
            sizes[N - 1 - day] = 25.0
        return evaluate(
            dates,
            values,
            direction="higher_is_better",
            min_effect=3.0,
            absolute=True,
            sample_sizes=sizes,
            observation_range=(0.0, 100.0),
        )

    # thin 7 days ago and today: every one of the 8 weeks holds a thin day
    assert RECENT_DAYS == 14
    thin_every_week = with_thin_days(7, 0)
    assert thin_every_week.status == "ok"
    assert "a sample of 25" in thin_every_week.detail
    # thin today only, as when the latest answers are still to come: the weeks ending before
    # it are read on their full samples
    thin_today = with_thin_days(0)
    assert thin_today.status == "decline"
    assert "a sample of 10000" in thin_today.detail
    assert thin_today.min_effect == pytest.approx(3.0 / thin_today.baseline_value)


def test_an_absolute_minimum_effect_judges_a_score_near_zero_in_points():
    # an NPS around 1 point that falls by 6: relative moves mean nothing here, points do
    dates, values = share_falling_by(6.0, level=1.0)

    def held_to(points: float):
        return evaluate(
            dates, values, direction="higher_is_better", min_effect=points, absolute=True
        )

    assert held_to(5.0).status == "decline"
    assert held_to(8.0).status == "ok"
    finding = held_to(5.0)
    assert finding.min_effect == pytest.approx(5.0 / abs(finding.baseline_value))


def test_without_sample_sizes_a_relative_minimum_effect_is_unchanged():
    dates, values = share_falling_by(6.0)
    finding = evaluate(dates, values, direction="higher_is_better", min_effect=0.05)
    assert finding.status == "decline"
    assert finding.min_effect == 0.05
    assert evaluate(dates, values, direction="higher_is_better", min_effect=0.1).status == "ok"


# --- the monitor ---------------------------------------------------------------------------


def warehouse(sample_size: int) -> duckdb.DuckDBPyConnection:
    """A CSAT near 80 % that falls by 7 points, from ``sample_size`` ratings a day."""
    con = duckdb.connect()
    con.execute(
        """create schema reference; create schema marts;
        create table reference.kpi_catalogue as select * from (values
        ('csat', 'CSAT', '%', 'higher_is_better', 3.0, 'absolute', '0 100', 0.0, true,
         'total', '')) as t(kpi_name, label, unit, direction, min_effect, min_effect_scale,
         observation_range, expected_weekly_growth, enabled, alert_level, related_kpis);
        create table marts.fct_customer_value_daily (value_date date, dimension varchar,
            dimension_value varchar, active_customers bigint, orders_in_window bigint,
            net_revenue_in_window double);
        create table marts.fct_kpi_daily (kpi_date date, kpi_name varchar, dimension varchar,
            dimension_value varchar, value double, sample_size bigint)"""
    )
    dates, values = share_falling_by(7.0)
    con.executemany(
        "insert into marts.fct_kpi_daily values (?, 'csat', 'total', 'all', ?, ?)",
        [(day, float(value), sample_size) for day, value in zip(dates, values, strict=True)],
    )
    return con


def test_the_catalogue_gives_each_kpi_its_scale_and_observation_range():
    kpi = read_catalogue(warehouse(25))["csat"]
    assert (kpi.min_effect, kpi.min_effect_scale, kpi.observation_range) == (
        3.0,
        "absolute",
        (0.0, 100.0),
    )


def test_the_monitor_raises_a_fall_only_when_its_sample_tells_it_from_chance():
    def declines(sample_size: int) -> list[tuple[str, str | None]]:
        alerts = evaluate_warehouse(warehouse(sample_size)).alerts
        return [(alert.kind, alert.severity) for alert in alerts]

    # 7 points against 3 (the floor) from 10,000 ratings: critical from twice the minimum effect;
    # from 25 ratings the threshold is 20 points
    assert declines(10_000) == [("decline", "critical")]
    assert declines(25) == []


# --- counts of events -----------------------------------------------------------------------


def test_a_count_of_events_moves_by_chance_as_a_poisson_count():
    # 0.08 lapses expected in 30 days: P(X >= 1) = 0.077, P(X >= 2) = 0.0030 <= 0.0062
    assert event_move(0.08, -1) == pytest.approx(2 - 0.08)
    # 20 leads a month: 2.5 * sqrt(20)
    assert event_move(20.0, 1) == pytest.approx(2.5 * math.sqrt(20.0))
    # 3 leads a month: none at all has P = e^-3 = 0.05, so no fall is beyond chance;
    # at 5.5 a month P(none) = 0.0041 is
    assert event_move(3.0, 1) == math.inf
    assert event_move(5.5, 1) == pytest.approx(5.5)


def lapses(recent: int) -> tuple[list[date], np.ndarray]:
    """A small company's customers lapsed in 30 days: one lapse in its year before (a count of
    1 for 30 days), then ``recent`` customers lapsing at once 20 days before the last day."""
    dates = [START + timedelta(days=i) for i in range(N)]
    values = np.zeros(N)
    values[100:130] = 1.0
    values[-20:] = float(recent)
    return dates, values


def lapsed(recent: int, *, events: bool = True, per: float | None = None) -> Finding:
    dates, values = lapses(recent)
    return evaluate(
        dates,
        values if per is None else values / per,
        direction="lower_is_better",
        min_effect=0.8,
        events=events,
        sample_sizes=None if per is None else np.full(N, per),
    )


def test_one_customer_lapsing_in_a_small_company_is_within_chance():
    # baseline 30 / 182 = 0.165 lapses in 30 days: 1 is +500 %, yet with 0.165 expected one
    # happens one month in seven (P(X >= 1) = 0.15); 3 at once do not (P(X >= 3) = 0.0007)
    assert lapsed(1, events=False).status == "decline"
    finding = lapsed(1)
    assert finding.status == "ok"
    assert "beyond chance for a count of 0.165" in finding.detail
    assert finding.min_effect == pytest.approx((3 - 30 / 182) / (30 / 182))
    assert lapsed(3).status == "decline"


def test_a_rate_of_events_is_held_to_the_count_of_its_sample():
    # the same lapses as a churn rate of 40 customers: the count is the rate times 40
    assert lapsed(1, events=False, per=40.0).status == "decline"
    assert lapsed(1, per=40.0).status == "ok"
    assert lapsed(3, per=40.0).status == "decline"


def test_the_catalogue_marks_a_count_of_events():
    con = warehouse(25)
    con.execute(
        "insert into reference.kpi_catalogue values ('lapsed_customers_30d', 'Lapsed', "
        "'customers', 'lower_is_better', 0.8, 'relative', 'count', 0.0, true, 'total', '')"
    )
    kpi = read_catalogue(con)["lapsed_customers_30d"]
    assert (kpi.events, kpi.observation_range) == (True, None)
    assert read_catalogue(con)["csat"].events is False


def test_a_share_at_the_end_of_its_range_still_moves_by_chance():
    # every one of 45 customers a repeat customer, then one new customer: 44 of 45 (97.8 %).
    # At 100 % the binomial error is 0 and the 0.5-point floor alone would raise it; read as
    # 45 of 46, 2.5 standard errors are 5.4 points.
    dates = [START + timedelta(days=i) for i in range(N)]
    values = np.ones(N)
    values[-DROP_DAYS:] = 44 / 45

    def held(sample_sizes):
        return evaluate(
            dates,
            values,
            direction="higher_is_better",
            min_effect=0.005,
            absolute=True,
            sample_sizes=sample_sizes,
            observation_range=(0.0, 1.0),
        )

    assert held(None).status == "decline"
    finding = held(np.full(N, 45.0))
    assert finding.status == "ok"
    assert finding.min_effect == pytest.approx(2.5 * math.sqrt(45 / 46 / 46 / 45))
