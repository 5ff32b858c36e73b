"""Whether the monitor finds the demo company's planted stories, replayed day by day.

    python benchmarks/demo_stories.py [--warehouse FILE] [--stories FILE]
    python benchmarks/demo_stories.py --run WAREHOUSE STORIES [--run WAREHOUSE STORIES ...]

Reads a built warehouse (by default the serving copy, SERVING_PATH, opened read-only) and the
stories the demo simulator planted in it (by default ``stories.json`` in DEMO_PATH), replays the
monitor on every day of the history and prints:

(a) for each planted story and each of its KPIs, on the series the monitor watches for it (the
    story's dimension member when the KPI's ``alert_level`` watches that dimension, else the
    total): the first day a decline is raised on or after the story's start, the delay in days,
    and whether it is still raised on the last day;
(b) every decline alarm raised inside the quiet stretch (only noise and seasonality) on any
    watched series, and their number per KPI-year (one series for a year) of the stretch;
(c) the alarms over the whole history on the series of the KPIs no story names: false alarms,
    per series-year.

With ``--run`` (once per demo built, for instance under other seeds and as-of days) it prints
instead, per run and planted story, the days from the story's start to the first alert whose
reason's first sentence names its cause (customers leaving, existing customers buying less, the
satisfaction KPI that fell) on the story's series or its cause's (``CAUSES``), against its
target, with that sentence (and, for a CSAT drop, the fastest alarm any test could give on
the demo's ratings, ``fastest_alarm_days``); and the false alarms per KPI-year: in the quiet
stretch on every watched series, and over the whole replay on the series of the KPIs no story
names.

The replay is the monitor's (``monitor.evaluate_warehouse`` as of each day): every series of an
enabled KPI at the dimensions its alert level watches, scored by ``trend.evaluate`` on its
history up to the day with the catalogue's direction, minimum effect (scaled by
``monitor.member_min_effect`` with the member's active customers that day), sample sizes and
expected growth.
Each alert's state goes from day to day through ``alert_state.next_state``, and a decline that
is open (``alert_state.OPEN_STATES``) is evaluated with ``alerting=True``, the monitor's
hysteresis. An alarm is a day the alert goes ``new``: raised after a day it was not. A series
is replayed from its first scorable day (a full baseline and MIN_MONITOR_DAYS of history);
before it, evaluate() can only answer ``insufficient_history``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np

from orchestration.lib import monitor, trend
from orchestration.lib.alert_state import OPEN_STATES, next_state
from orchestration.lib.settings import load_settings

BASELINE_DAYS: int = inspect.signature(trend.evaluate).parameters["baseline_days"].default
# The history evaluate() needs before it can score: a full baseline and a week monitored.
SCORABLE_AFTER_DAYS = BASELINE_DAYS + trend.MIN_MONITOR_DAYS
# Statuses of a day the series was not scored on; they do not count in the series-years.
UNSCORED = ("insufficient_history", "no_data")
YEAR_DAYS = 365

SeriesKey = tuple[str, str, str]  # kpi_name, dimension, dimension_value


@dataclass(frozen=True)
class Story:
    name: str
    kind: str
    dimension: str
    member: str
    start: date
    end: date | None
    kpis: tuple[str, ...]
    effect: float = 0.0  # the planted change (a share of the satisfied for a CSAT drop)


def load_stories(path: Path) -> list[Story]:
    """The stories of the simulator's ``stories.json``, quiet stretch included."""
    return [
        Story(
            name=story["story"],
            kind=story["kind"],
            dimension=story["dimension"],
            member=story["member"],
            start=date.fromisoformat(story["start"]),
            end=date.fromisoformat(story["end"]) if story.get("end") else None,
            kpis=tuple(story["kpis"]),
            effect=story.get("effect") or 0.0,
        )
        for story in json.loads(path.read_text())
    ]


@dataclass(frozen=True)
class Replay:
    """One series as the monitor saw it on each replayed day."""

    key: SeriesKey
    days: list[date]
    findings: list[trend.Finding]
    raised: dict[str, list[bool]]  # per alert kind: raised after that day's evaluation

    def scored_days(self, first: date, last: date) -> int:
        return sum(
            first <= day <= last and finding.status not in UNSCORED
            for day, finding in zip(self.days, self.findings, strict=True)
        )


@dataclass(frozen=True)
class Alarm:
    kind: str
    key: SeriesKey
    day: date  # the day the alert went new
    until: date | None  # its last raised day; None when still raised on the last day
    since: date | None  # the onset its finding reported
    change: float | None  # the relative change of the latest week on the alarm day


def episodes(raised: Sequence[bool]) -> list[tuple[int, int]]:
    """First and last index of each run of raised days.

    >>> episodes([False, True, True, False, True])
    [(1, 2), (4, 4)]
    """
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, up in enumerate(raised):
        if up and start is None:
            start = i
        elif not up and start is not None:
            runs.append((start, i - 1))
            start = None
    if start is not None:
        runs.append((start, len(raised) - 1))
    return runs


def first_raised(days: Sequence[date], raised: Sequence[bool], start: date) -> int | None:
    """Index of the first day on or after ``start`` with the alert raised, or None.

    >>> first_raised([date(2026, 1, d) for d in (1, 2, 3)], [True, False, True], date(2026, 1, 2))
    2
    """
    return next(
        (i for i, (day, up) in enumerate(zip(days, raised, strict=True)) if up and day >= start),
        None,
    )


def watched_key(
    watched: Collection[SeriesKey], kpi_name: str, dimension: str, member: str
) -> SeriesKey | None:
    """The series the monitor watches for a move of ``kpi_name`` in ``member`` of ``dimension``.

    The member's own series when it is watched, else the KPI's total, else None.

    >>> watched_key({("acv", "total", "all")}, "acv", "region", "south")
    ('acv', 'total', 'all')
    >>> watched_key({("acv", "segment", "smb")}, "acv", "segment", "smb")
    ('acv', 'segment', 'smb')
    """
    if (kpi_name, dimension, member) in watched:
        return kpi_name, dimension, member
    totals = [key for key in watched if key[0] == kpi_name and key[1] == "total"]
    return totals[0] if totals else None


def alarms(replay: Replay, kind: str = "decline") -> list[Alarm]:
    raised = replay.raised[kind]
    found = []
    for first, last in episodes(raised):
        finding = replay.findings[first]
        found.append(
            Alarm(
                kind=kind,
                key=replay.key,
                day=replay.days[first],
                until=None if last == len(raised) - 1 else replay.days[last],
                since=finding.since,
                change=finding.relative_change,
            )
        )
    return found


# --- the replay ---------------------------------------------------------------------------


def load_population(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str, date], float]:
    """Active customers of every member on every day, as the monitor's population() reads them."""
    return {
        (dimension, member, day): float(n or 0)
        for dimension, member, day, n in con.execute(
            "select dimension, dimension_value, value_date, active_customers "
            "from marts.fct_customer_value_daily"
        ).fetchall()
    }


def replay_series(
    key: SeriesKey,
    kpi: monitor.Kpi,
    dates: list[date],
    values: np.ndarray,
    days: Sequence[date],
    population: dict[tuple[str, str, date], float],
    sample_sizes: np.ndarray | None = None,
    reference: np.ndarray | None = None,
) -> Replay:
    """The monitor's findings and alert states of one series on each of ``days``; a sampled
    KPI's ``sample_sizes`` and a counted KPI's ``reference`` are on the same ``dates`` as its
    values."""
    _, dimension, member = key
    finite = np.flatnonzero(np.isfinite(values))
    replayed: list[date] = []
    findings: list[trend.Finding] = []
    raised: dict[str, list[bool]] = {kind: [] for kind in monitor.ALERT_KINDS}
    if finite.size == 0:
        return Replay(key, replayed, findings, raised)
    scorable = dates[int(finite[0])] + timedelta(days=SCORABLE_AFTER_DAYS - 1)
    states: dict[str, tuple[str | None, str | None]] = dict.fromkeys(
        monitor.ALERT_KINDS, (None, None)
    )
    for day in days:
        if day < scorable:
            continue
        end = bisect_right(dates, day)
        min_effect = monitor.member_min_effect(
            kpi.min_effect, population.get((dimension, member, day))
        )
        finding = monitor.score(
            kpi,
            dates[:end],
            values[:end],
            min_effect,
            alerting=states["decline"][0] in OPEN_STATES,
            sample_sizes=None if sample_sizes is None else sample_sizes[:end],
            reference=None if reference is None else reference[:end],
        )
        replayed.append(day)
        findings.append(finding)
        for kind in monitor.ALERT_KINDS:
            firing = finding.status == kind
            level = trend.severity(finding, finding.min_effect or min_effect) if firing else None
            before = states[kind]
            state = next_state(*before, firing=firing, severity=level)
            if state is not None:
                states[kind] = (state, level or before[1])
            raised[kind].append(states[kind][0] in OPEN_STATES)
    return Replay(key, replayed, findings, raised)


# --- report -------------------------------------------------------------------------------


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def series_name(key: SeriesKey) -> str:
    _, dimension, member = key
    return "total" if dimension == "total" else f"{dimension} {member}"


def _change(value: float | None) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:+.1%}"


def _day(value: date | None, missing: str = "") -> str:
    return value.isoformat() if value else missing


def _rate(count: int, series_days: int) -> str:
    return f"{count / (series_days / YEAR_DAYS):.2f}" if series_days else "n/a"


def story_rows(
    stories: list[Story], replays: dict[SeriesKey, Replay], levels: dict[str, str]
) -> list[list[str]]:
    rows = [
        [
            "story",
            "KPI",
            "series",
            "start",
            "first raised",
            "delay",
            "onset",
            "last day",
            "alarms",
            "note",
        ]
    ]
    for story in stories:
        for kpi_name in story.kpis:
            key = watched_key(replays, kpi_name, story.dimension, story.member)
            if key is None:
                why = f"alert_level {levels[kpi_name]}" if kpi_name in levels else "not catalogued"
                rows.append(
                    [story.name, kpi_name, "not watched", _day(story.start)] + [""] * 5 + [why]
                )
                continue
            replay = replays[key]
            raised = replay.raised["decline"]
            found = first_raised(replay.days, raised, story.start)
            episodes_found = alarms(replay)
            started = [a for a in episodes_found if a.day >= story.start]
            last = replay.findings[-1] if replay.findings else None
            on_last = "raised" if raised and raised[-1] else "not raised"
            before = bisect_left(replay.days, story.start) - 1
            note = ""
            if before >= 0 and raised[before]:
                since = max(a.day for a in episodes_found if a.day <= replay.days[before])
                note = f"already raised since {since.isoformat()}"
            elif not replay.days or replay.days[0] > story.start:
                note = f"scored from {_day(replay.days[0] if replay.days else None, 'never')}"
            rows.append(
                [
                    story.name,
                    kpi_name,
                    series_name(key),
                    _day(story.start),
                    _day(replay.days[found]) if found is not None else "not raised",
                    str((replay.days[found] - story.start).days) if found is not None else "",
                    _day(replay.findings[found].since) if found is not None else "",
                    f"{on_last} {_change(last.relative_change if last else None)}".strip(),
                    str(len(started)),
                    note,
                ]
            )
    return rows


def alarm_rows(found: list[Alarm], last_day: date) -> list[list[str]]:
    rows = [["KPI", "series", "alarm", "onset", "until", "days raised", "change at alarm"]]
    for alarm in sorted(found, key=lambda a: (a.day, a.key)):
        until = alarm.until or last_day
        rows.append(
            [
                alarm.key[0],
                series_name(alarm.key),
                _day(alarm.day),
                _day(alarm.since),
                _day(alarm.until, "still raised"),
                str((until - alarm.day).days + 1),
                _change(alarm.change),
            ]
        )
    return rows


def window_report(
    replays: dict[SeriesKey, Replay], first: date, last: date
) -> tuple[dict[str, list[Alarm]], dict[str, int], dict[str, int]]:
    """Decline alarms raised from ``first`` to ``last``, and flattening and scored days, by KPI."""
    declines: dict[str, list[Alarm]] = defaultdict(list)
    flattenings: dict[str, int] = defaultdict(int)
    exposure: dict[str, int] = defaultdict(int)
    for key, replay in replays.items():
        exposure[key[0]] += replay.scored_days(first, last)
        declines[key[0]] += [a for a in alarms(replay) if first <= a.day <= last]
        flattenings[key[0]] += sum(first <= a.day <= last for a in alarms(replay, "flattening"))
    return declines, flattenings, exposure


def replay_warehouse(
    con: duckdb.DuckDBPyConnection,
) -> tuple[dict[str, monitor.Kpi], dict[SeriesKey, Replay], list[date]]:
    """Every watched series of the warehouse replayed on every day of its history."""
    catalogue = monitor.read_catalogue(con)
    series = monitor.read_series(con, catalogue)
    sizes = monitor.read_series(con, catalogue, column="sample_size")
    references = monitor.count_references(series, sizes)
    population = load_population(con)
    days = sorted({day for dates, _ in series.values() for day in dates})
    replays = {
        key: replay_series(
            key,
            catalogue[key[0]],
            dates,
            values,
            days,
            population,
            sizes.get(key, (None, None))[1],
            references.get(key),
        )
        for key, (dates, values) in sorted(series.items())
    }
    return catalogue, replays, days


# --- causes -------------------------------------------------------------------------------

# Per kind of planted story: the KPIs whose alert tells its cause (beside the story's own), the
# words its first sentence must hold (None: the label of the story's first KPI) and the
# days within which it must be raised.
CAUSES: dict[str, tuple[tuple[str, ...], str | None, int]] = {
    "churn": (("existing_customer_purchases",), "are leaving", 45),
    "contraction": (("existing_customer_basket",), "buy less", 30),
    "satisfaction_drop": ((), None, 21),
}


def fastest_alarm_days(
    per_day: float, before: float, after: float, false_alarms_per_year: float = 1.0
) -> float:
    """About the fewest days, on average, in which any test of a share's daily observations
    raises its fall from ``before`` to ``after`` while it raises ``false_alarms_per_year`` or
    fewer when nothing falls: log(observations between false alarms) / KL(after || before)
    observations (Lorden 1971), at ``per_day`` observations a day.

    >>> round(fastest_alarm_days(1.0, 0.85, 0.60), 1)  # log(365) / 0.1834
    32.2
    """
    kl = after * math.log(after / before) + (1 - after) * math.log((1 - after) / (1 - before))
    observations = YEAR_DAYS * per_day / false_alarms_per_year
    return math.log(observations) / kl / per_day


def csat_bound(con: duckdb.DuckDBPyConnection, story: Story, windows: int = 3) -> str:
    """The fastest alarm of a CSAT drop any test could give on the demo's ratings: their number
    a day and satisfied share over the ``windows`` 30-day windows before the story (the mart's
    trailing sums, on every 30th day back), the share after it moved by the story's effect."""
    ratings = satisfied = 0
    days = 30 * windows
    for ending in range(1, days, 30):
        row = con.execute(
            "select csat_ratings_30d, csat_satisfied_ratings_30d from marts.fct_feedback_daily "
            "where dimension = 'total' and feedback_date = ?",
            [story.start - timedelta(days=ending)],
        ).fetchone()
        if row:
            ratings, satisfied = ratings + row[0], satisfied + row[1]
    if not ratings or not 0 < satisfied / ratings + story.effect < 1:
        return "-"
    per_day, before = ratings / days, satisfied / ratings
    after = before + story.effect
    fastest = fastest_alarm_days(per_day, before, after)
    return f"{fastest:.0f} d ({per_day:.1f} ratings a day, {before:.0%} to {after:.0%})"


@dataclass(frozen=True)
class Told:
    """The first alert of a story that names its cause, and the first of any of its series."""

    story: Story
    target_days: int
    first_day: date | None  # the first alarm on any of the story's series
    named_day: date | None  # the first alarm whose first sentence names the cause
    sentence: str  # the first sentence of the first alarm naming the cause, else of the first

    @property
    def delay(self) -> int | None:
        return None if self.named_day is None else (self.named_day - self.story.start).days

    @property
    def met(self) -> bool:
        return self.delay is not None and self.delay <= self.target_days


def first_sentence(text: str) -> str:
    """
    >>> first_sentence("Customers are leaving: 3 against 5. Then more.")
    'Customers are leaving: 3 against 5.'
    """
    head, _, _ = text.partition(". ")
    return head if head.endswith(".") else f"{head}."


def told(
    story: Story,
    replays: dict[SeriesKey, Replay],
    catalogue: dict[str, monitor.Kpi],
    con: duckdb.DuckDBPyConnection,
) -> Told:
    """When the monitor raised ``story`` and whether the first sentence named its cause."""
    kpis, words, target = CAUSES[story.kind]
    words = words or (catalogue[story.kpis[0]].label if story.kpis[0] in catalogue else "")
    found: list[tuple[date, str]] = []
    for kpi_name in (*kpis, *story.kpis):
        key = watched_key(replays, kpi_name, story.dimension, story.member)
        if key is None:
            continue
        replay = replays[key]
        for alarm in alarms(replay):
            if alarm.day >= story.start:
                finding = replay.findings[replay.days.index(alarm.day)]
                text = monitor.reason(
                    con, catalogue[kpi_name], key[1], key[2], finding, alarm.day, catalogue
                )
                found.append((alarm.day, first_sentence(text)))
    found.sort()
    named = [(day, text) for day, text in found if words.lower() in text.lower()]
    first = found[0] if found else (None, "")
    return Told(story, target, first[0], named[0][0] if named else None, (named or [first])[0][1])


def false_alarm_rates(
    stories: list[Story], replays: dict[SeriesKey, Replay], last_day: date
) -> tuple[int, int, int, int]:
    """Decline alarms and scored days on every series in the quiet stretches, and on the series
    of the KPIs no story names (their own KPIs or their causes') over the whole replay."""
    quiet_alarms = quiet_days = 0
    for stretch in (story for story in stories if story.kind == "quiet"):
        declines, _, exposure = window_report(replays, stretch.start, stretch.end or last_day)
        quiet_alarms += sum(len(found) for found in declines.values())
        quiet_days += sum(exposure.values())
    named = {
        kpi_name
        for story in stories
        if story.kind != "quiet"
        for kpi_name in (*story.kpis, *CAUSES[story.kind][0])
    }
    untouched = {key: replay for key, replay in replays.items() if key[0] not in named}
    first = min(replay.days[0] for replay in replays.values() if replay.days)
    declines, _, exposure = window_report(untouched, first, last_day)
    return (
        quiet_alarms,
        quiet_days,
        sum(len(found) for found in declines.values()),
        sum(exposure.values()),
    )


def rate_row(run: str, counts: Sequence[int]) -> list[str]:
    quiet_alarms, quiet_days, other_alarms, other_days = counts
    return [
        run,
        str(quiet_alarms),
        f"{quiet_days / YEAR_DAYS:.1f}",
        str(other_alarms),
        f"{other_days / YEAR_DAYS:.1f}",
    ]


def runs_report(runs: list[tuple[Path, Path]]) -> int:
    """Per run (a warehouse and its stories), per story: days from onset to the first alert
    that names the cause, against the target, and that alert's first sentence; and the false
    alarms per KPI-year."""
    rows = [
        ["run", "story", "series", "target", "delay", "met", "fastest possible", "first sentence"]
    ]
    rates = [["run", "quiet alarms", "quiet KPI-years", "other alarms", "other KPI-years"]]
    totals = [0, 0, 0, 0]
    quiet_by_kpi: dict[str, int] = defaultdict(int)
    for warehouse, stories_path in runs:
        stories = load_stories(stories_path)
        demo = stories_path.with_name("demo.json")
        about = json.loads(demo.read_text()) if demo.exists() else {}
        run = f"seed {about.get('seed', '?')} as of {about.get('as_of', '?')}"
        with duckdb.connect(str(warehouse), read_only=True) as con:
            catalogue, replays, days = replay_warehouse(con)
            for story in stories:
                if story.kind not in CAUSES:
                    continue
                result = told(story, replays, catalogue, con)
                rows.append(
                    [
                        run,
                        f"{story.name} ({story.kpis[0]})"
                        if story.kind == "satisfaction_drop"
                        else story.name,
                        f"{story.dimension} {story.member}",
                        f"{result.target_days} d",
                        "not raised" if result.delay is None else f"{result.delay} d",
                        "yes" if result.met else "no",
                        csat_bound(con, story) if story.kpis[0] == "csat" else "-",
                        result.sentence[:140],
                    ]
                )
        counts = false_alarm_rates(stories, replays, days[-1])
        for stretch in (story for story in stories if story.kind == "quiet"):
            declines, _, _ = window_report(replays, stretch.start, stretch.end or days[-1])
            for kpi_name, found in declines.items():
                quiet_by_kpi[kpi_name] += len(found)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        rates.append(rate_row(run, counts))
    print(table(rows))
    print()
    rates.append(rate_row("all runs", totals))
    print(table(rates))
    shown = ", ".join(
        f"{kpi_name} {count}"
        for kpi_name, count in sorted(quiet_by_kpi.items(), key=lambda item: -item[1])
        if count
    )
    print(f"\nQuiet-stretch alarms by KPI, all runs: {shown or 'none'}.")
    print(
        f"\nFalse alarms per KPI-year: {_rate(totals[0], totals[1])} in the quiet stretches "
        f"(every watched series), {_rate(totals[2], totals[3])} on the series of the KPIs no "
        f"story names (whole replay), {_rate(totals[0] + totals[2], totals[1] + totals[3])} "
        "in all."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, help="DuckDB file (default: SERVING_PATH)")
    parser.add_argument(
        "--stories", type=Path, help="stories.json of the demo (default: in DEMO_PATH)"
    )
    parser.add_argument(
        "--run",
        nargs=2,
        action="append",
        type=Path,
        metavar=("WAREHOUSE", "STORIES"),
        help="report each story's first alert naming its cause, per run (repeat for seeds)",
    )
    args = parser.parse_args(argv)
    if args.run:
        return runs_report([(warehouse, stories) for warehouse, stories in args.run])
    settings = load_settings()
    warehouse = args.warehouse or settings.serving_path
    stories = load_stories(args.stories or settings.demo_dir / "stories.json")

    began = time.perf_counter()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        catalogue, replays, days = replay_warehouse(con)
    series = replays
    evaluations = sum(len(replay.days) for replay in replays.values())
    elapsed = time.perf_counter() - began
    first_day, last_day = days[0], days[-1]

    planted = [story for story in stories if story.kind != "quiet"]
    quiet = [story for story in stories if story.kind == "quiet"]
    print(
        f"Warehouse {warehouse}: history {first_day} to {last_day}; {len(replays)} watched "
        f"series of {len({key[0] for key in series})} KPIs, each replayed daily from its first "
        "scorable day "
        f"({SCORABLE_AFTER_DAYS} days of history): {evaluations} evaluations in {elapsed:.0f} s."
    )
    print(f"Stories: {args.stories or settings.demo_dir / 'stories.json'}.")

    print("\n(a) Planted stories: the first day a decline is raised on or after the start\n")
    levels = {name: kpi.alert_level for name, kpi in catalogue.items()}
    print(table(story_rows(planted, replays, levels)))
    print(
        "\ndelay: days from the start; onset: the start of the decline the finding reports; "
        "last day: the alert on the last day and the KPI's latest week against its baseline; "
        "alarms: alarms raised on or after the start."
    )

    for stretch in quiet:
        end = stretch.end or last_day
        declines, flattenings, exposure = window_report(replays, stretch.start, end)
        found = [a for kpi_alarms in declines.values() for a in kpi_alarms]
        total_days = sum(exposure.values())
        print(
            f"\n(b) Quiet stretch {stretch.start} to {end} ({(end - stretch.start).days + 1} "
            f"days), all {len(replays)} watched series: {len(found)} decline alarms in "
            f"{total_days / YEAR_DAYS:.1f} KPI-years = {_rate(len(found), total_days)} per "
            f"KPI-year; {sum(flattenings.values())} flattening alarms.\n"
        )
        if found:
            print(table(alarm_rows(found, last_day)) + "\n")
        rows = [["KPI", "series", "KPI-years", "alarms", "per KPI-year"]]
        for kpi_name in sorted(exposure):
            count = len(declines[kpi_name])
            rows.append(
                [
                    kpi_name,
                    str(sum(key[0] == kpi_name for key in replays)),
                    f"{exposure[kpi_name] / YEAR_DAYS:.2f}",
                    str(count),
                    _rate(count, exposure[kpi_name]),
                ]
            )
        print(table(rows))

    named = {kpi_name for story in planted for kpi_name in story.kpis}
    untouched = {key: replay for key, replay in replays.items() if key[0] not in named}
    declines, flattenings, exposure = window_report(untouched, first_day, last_day)
    found = [a for kpi_alarms in declines.values() for a in kpi_alarms]
    total_days = sum(exposure.values())
    onset = min((story.start for story in planted), default=None)
    before = sum(onset is None or a.day < onset for a in found)
    print(
        f"\n(c) Series of the KPIs no story names ({len({key[0] for key in untouched})} KPIs, "
        f"{len(untouched)} series), whole replay: {len(found)} decline alarms in "
        f"{total_days / YEAR_DAYS:.1f} series-years = {_rate(len(found), total_days)} per "
        f"series-year; {before} of them raised before the first story starts"
        f"{f' ({onset})' if onset else ''}; {sum(flattenings.values())} flattening alarms.\n"
    )
    if found:
        print(table(alarm_rows(found, last_day)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
