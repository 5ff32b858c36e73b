"""The pure parts of benchmarks/demo_stories.py, the replay of the monitor on the demo."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta

import duckdb
import numpy as np
import pytest
from benchmark_scripts import benchmark
from test_monitor import LAST_DAY, ONSET, build_marts

from orchestration.lib import monitor
from orchestration.lib.alert_state import OPEN_STATES
from orchestration.lib.monitor import Kpi


@pytest.fixture(scope="module")
def demo_stories():
    with benchmark("demo_stories") as module:
        yield module


def test_each_run_of_raised_days_is_one_episode(demo_stories):
    assert demo_stories.episodes([True, True, False, False, True, False, True]) == [
        (0, 1),
        (4, 4),
        (6, 6),
    ]
    assert demo_stories.episodes([]) == []


def test_the_fastest_alarm_of_a_share_follows_its_observations_a_day(demo_stories):
    # KL(0.6 || 0.85) = 0.6 ln(0.6 / 0.85) + 0.4 ln(0.4 / 0.15) = 0.18335 nats an observation;
    # one false alarm a year at 2 a day: a false alarm every 730 observations, ln 730 = 6.593
    assert demo_stories.fastest_alarm_days(2.0, 0.85, 0.60) == pytest.approx(
        6.5930 / 0.18335 / 2, rel=1e-3
    )
    # at half a rating a day: a false alarm every 182.5 observations, ln 182.5 = 5.2067
    assert demo_stories.fastest_alarm_days(0.5, 0.85, 0.60) == pytest.approx(
        5.2067 / 0.18335 / 0.5, rel=1e-3
    )


def test_the_csat_bound_reads_the_ratings_of_the_90_days_before_the_story(demo_stories, tmp_path):
    start = date(2026, 9, 4)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute(
        "create schema marts; create table marts.fct_feedback_daily (feedback_date date, "
        "dimension varchar, csat_ratings_30d int, csat_satisfied_ratings_30d int)"
    )
    rows = [(start - timedelta(days=d), "total", 30, 27) for d in (1, 31, 61)]
    rows += [(start - timedelta(days=91), "total", 500, 0), (start, "total", 500, 0)]
    rows += [(start - timedelta(days=1), "segment", 500, 0)]
    con.executemany("insert into marts.fct_feedback_daily values (?, ?, ?, ?)", rows)
    story = demo_stories.Story(
        "csat_drop", "satisfaction_drop", "total", "all", start, None, ("csat",), effect=-0.25
    )
    # 90 ratings in 90 days, 90 % satisfied, 65 % after: ln(365) / KL(0.65 || 0.9) =
    # 5.8999 / (0.65 ln(0.65 / 0.9) + 0.35 ln(0.35 / 0.1)) = 5.8999 / 0.22694 = 26.0 days
    assert demo_stories.csat_bound(con, story) == "26 d (1.0 ratings a day, 90% to 65%)"
    assert demo_stories.csat_bound(con, dataclasses.replace(story, effect=-0.95)) == "-"


def test_a_decline_raised_before_the_start_counts_from_the_start(demo_stories):
    days = [date(2026, 5, d) for d in range(1, 6)]
    assert demo_stories.first_raised(days, [True, True, True, False, False], days[2]) == 2
    assert demo_stories.first_raised(days, [True, False, False, False, False], days[1]) is None


def test_a_story_in_an_unwatched_dimension_is_watched_on_the_total(demo_stories):
    watched = {("acv", "total", "all"), ("acv", "segment", "smb"), ("csat", "total", "all")}
    assert demo_stories.watched_key(watched, "acv", "segment", "smb") == ("acv", "segment", "smb")
    assert demo_stories.watched_key(watched, "acv", "region", "south") == ("acv", "total", "all")
    assert demo_stories.watched_key(watched, "nps", "total", "all") is None


def test_stories_are_read_with_their_days(demo_stories, tmp_path):
    path = tmp_path / "stories.json"
    path.write_text(
        json.dumps(
            [
                {
                    "story": "quiet",
                    "kind": "quiet",
                    "dimension": "total",
                    "member": "all",
                    "start": "2024-12-27",
                    "end": "2026-04-07",
                    "kpis": ["csat"],
                },
                {
                    "story": "csat_drop",
                    "kind": "satisfaction_drop",
                    "dimension": "total",
                    "member": "all",
                    "start": "2026-08-25",
                    "end": None,
                    "kpis": ["csat"],
                },
            ]
        )
    )
    quiet, drop = demo_stories.load_stories(path)
    assert (quiet.start, quiet.end) == (date(2024, 12, 27), date(2026, 4, 7))
    assert (drop.name, drop.end, drop.kpis) == ("csat_drop", None, ("csat",))


def test_a_step_down_is_one_alarm_that_stays_raised(demo_stories):
    start = date(2025, 1, 6)
    n = demo_stories.SCORABLE_AFTER_DAYS + 60
    dates = [start + timedelta(days=i) for i in range(n)]
    noise = np.random.default_rng(1).normal(0.0, 1.0, n)
    values = 100.0 + noise - 20.0 * (np.arange(n) >= n - 30)
    kpi = Kpi("acv", "ACV", "EUR", "higher_is_better", 0.03, 0.0, "segment")
    replay = demo_stories.replay_series(("acv", "total", "all"), kpi, dates, values, dates, {})

    assert replay.days[0] == start + timedelta(days=demo_stories.SCORABLE_AFTER_DAYS - 1)
    (alarm,) = demo_stories.alarms(replay)
    assert dates[n - 30] <= alarm.day <= dates[n - 25]
    assert alarm.until is None


def test_the_replay_raises_what_the_monitor_records_day_by_day(demo_stories):
    con = duckdb.connect()
    build_marts(con, smb_basket_after_onset=60.0)
    catalogue = monitor.read_catalogue(con)
    series = monitor.read_series(con, catalogue)
    population = demo_stories.load_population(con)
    days = [ONSET + timedelta(days=offset) for offset in range(-14, (LAST_DAY - ONSET).days + 1)]
    replayed = set()
    for key, (dates, values) in series.items():
        replay = demo_stories.replay_series(
            key, catalogue[key[0]], dates, values, dates, population
        )
        replayed |= {
            (day, *key)
            for day, raised in zip(replay.days, replay.raised["decline"], strict=True)
            if raised and day >= days[0]
        }
    for day in days:
        monitor.record_alerts(con, monitor.evaluate_warehouse(con, as_of=day))
    recorded = set(
        con.execute(
            "select evaluated_on, kpi_name, dimension, dimension_value "
            "from monitoring.kpi_alerts where kind = 'decline' and state in (select unnest(?))",
            [list(OPEN_STATES)],
        ).fetchall()
    )
    assert recorded and replayed == recorded


def test_the_first_sentence_of_a_reason_ends_at_its_first_full_stop(demo_stories):
    text = "Customers of the south region are leaving: 57 against 106. Then the rest."
    assert demo_stories.first_sentence(text) == (
        "Customers of the south region are leaving: 57 against 106."
    )
    assert demo_stories.first_sentence("One sentence.") == "One sentence."


def test_false_alarms_are_counted_in_the_quiet_stretch_and_on_kpis_no_story_names(demo_stories):
    from orchestration.lib.trend import Finding

    days = [date(2026, 1, 1) + timedelta(days=i) for i in range(10)]
    ok = [Finding("ok")] * 10

    def replay(key, raised):
        return demo_stories.Replay(key, days, ok, {"decline": raised, "flattening": [False] * 10})

    quiet = demo_stories.Story("quiet", "quiet", "total", "all", days[0], days[4], ("acv",))
    churn = demo_stories.Story("churn", "churn", "region", "south", days[5], None, ("acv",))
    replays = {
        # one alarm in the quiet stretch (day 2), one after it (day 7): a named KPI
        ("acv", "total", "all"): replay(
            ("acv", "total", "all"), [False, False, True] + [False] * 4 + [True] * 3
        ),
        # the cause of the churn story: named, its alarm after the stretch is not counted
        ("existing_customer_purchases", "region", "south"): replay(
            ("existing_customer_purchases", "region", "south"), [False] * 8 + [True] * 2
        ),
        # named by no story: both its alarms count over the whole replay
        ("nps", "total", "all"): replay(("nps", "total", "all"), [True, False] * 5),
    }
    counts = demo_stories.false_alarm_rates([quiet, churn], replays, days[-1])
    # quiet stretch, days 0 to 4, 3 series x 5 days: acv day 2, nps days 0, 2 and 4
    assert counts[:2] == (4, 15)
    # nps over the 10 days: days 0, 2, 4, 6, 8
    assert counts[2:] == (5, 10)
