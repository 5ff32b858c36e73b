"""Evaluates every enabled KPI series of the warehouse and records the alert states.

Reads the KPI catalogue and `marts.fct_kpi_daily`, runs the trend statistics on each series,
explains ACV moves from `marts.fct_customer_value_daily` and revenue moves from
`marts.fct_orders` (a revenue bridge against a year earlier), quotes every alert's related
KPIs, and writes `monitoring.kpi_alerts` with the notifications due into the alert outbox.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

import duckdb
import numpy as np

from orchestration.lib.alert_state import OPEN_STATES, next_state, notifications
from orchestration.lib.explain import (
    WEEK_DAYS,
    Contribution,
    RelatedSignal,
    RevenueBridge,
    Snapshot,
    decompose_acv,
    existing_customers_sentence,
    render_reason,
    segment_contributions,
    unit_shown,
)
from orchestration.lib.outbox import OUTBOX_DDL, enqueue, previous_suppression
from orchestration.lib.radar import (
    COUNTED,
    EXISTING_CUSTOMERS,
    SHOWN_SQL,
    reporting_currency,
    table_columns,
)
from orchestration.lib.serving import sql_literal
from orchestration.lib.trend import (
    Finding,
    evaluate,
    evaluate_counts,
    reference_from_last_year,
    reference_from_rest,
    severity,
    without_closed_days,
)

ACV = "average_customer_value"
# The catalogue's observation range of a KPI that counts events (trend.chance_move).
EVENTS = "count"
# KPIs whose move the revenue bridge explains: lost customers against contraction.
BRIDGED = (ACV, "window_revenue")
# The shortest period the bridge compares with a year earlier: shorter ones count a customer
# between two orders as lost.
BRIDGE_DAYS = 90
# A customer who bought in both periods of the bridge but not for this many of their own
# intervals of a year earlier (the period's days over their orders then), and at least
# STOPPED_MIN_DAYS, stopped buying within the period: their fall is customers leaving, not
# those who stay buying less. A customer still buying at random (a Poisson process) goes 4
# intervals without an order 1.8 % of the time (e^-4), 2 intervals 13.5 %: on the demo's smb
# segment as of 7 December 2026, 4 counts 77 customers as stopped, 2 counts 89, none 65.
STOPPED_INTERVALS = 4
STOPPED_MIN_DAYS = 30
ALERT_KINDS = ("decline", "flattening")
FLAT_WEEKS = 12
# Alerts on data older than this are not trusted (the sources' freshness warns at 2 days too).
STALE_AFTER_DAYS = 2
# Series that alert. Regions mix a few very large accounts with many small ones, so their
# ACV wanders more than a minimum effect by chance (the demo's quiet years show it): a KPI
# alerts on regions only at alert level region, where its test weighs the counts behind it.
DIMENSIONS = ("total", "segment", "region")
# The series each alert level of the catalogue watches.
WATCHED = {
    "none": (),
    "total": ("total",),
    "segment": ("total", "segment"),
    "total_and_region": ("total", "region"),
    "region": ("total", "segment", "region"),
}
# radar.COUNTED: KPIs that are a count against its expectation, tested on the counts
# (trend.evaluate_counts): value * sample_size is what was made and sample_size what was
# expected. The purchases: made over expected, sample the expected purchases. The basket:
# revenue over the revenue of the same orders at each customer's own average order, sample the
# orders, so it is tested in orders of the usual value (a compound count, whose spread the
# overdispersion takes in).
# Segments buy in seasons of their own (businesses close for the holidays while shops sell
# most): a segment, like the total, is compared with itself a year earlier; a region, which
# mixes the segments as the others do, with the other regions the same week.
SEASONAL_DIMENSIONS = ("total", "segment")
# Counted KPIs whose counts move with the season and the holidays, and so are referred to
# the rest of the company or to a year earlier (count_references); a basket is held to each
# customer's own average order, which has no season of its own.
REFERRED = ("existing_customer_purchases",)
# How a move of the total ACV is broken down to say where it comes from.
BREAKDOWNS = ("segment", "region")
# A member's KPI wanders by chance more the fewer customers it has (by about 1/sqrt(N)): below
# this many active customers its minimum effect grows so that a small segment's noise does not
# page while a large one's real move does.
REFERENCE_CUSTOMERS = 400


def member_min_effect(min_effect: float, active_customers: float | None) -> float:
    """The minimum effect worth an alert for a population of ``active_customers``.

    >>> member_min_effect(0.03, 100)
    0.06
    >>> member_min_effect(0.03, 1600)
    0.03
    """
    if not active_customers or active_customers <= 0:
        return min_effect
    return round(min_effect * max(1.0, math.sqrt(REFERENCE_CUSTOMERS / active_customers)), 6)


ALERTS_DDL = """
create schema if not exists monitoring;
-- what the monitor concluded on each KPI's total, alert or not: why one is not scored
create table if not exists monitoring.kpi_status (
    evaluated_on date not null,
    kpi_name varchar not null,
    status varchar not null,
    detail varchar,
    primary key (evaluated_on, kpi_name)
);
create table if not exists monitoring.kpi_alerts (
    alert_id varchar not null,
    evaluated_on date not null,
    kpi_name varchar not null,
    label varchar not null,
    unit varchar,
    dimension varchar not null,
    dimension_value varchar not null,
    kind varchar not null,
    state varchar not null,
    severity varchar,
    since date,
    baseline_value double,
    current_value double,
    relative_change double,
    reason varchar not null,
    recorded_at timestamp not null default current_timestamp,
    primary key (evaluated_on, alert_id)
);
"""

# What BI tools show of the monitor's tables (the serving copy keeps the comments).
EVALUATED_ON = "The day the KPIs were evaluated on (the run's as-of day)"
COMMENTS = {
    "kpi_status": (
        "One row per evaluation day and KPI whose total is watched: what the monitor concluded",
        {
            "evaluated_on": EVALUATED_ON,
            "status": "ok, decline, flattening, constant, or why it was not scored: "
            "insufficient_history, no_data",
            "detail": "The test's numbers, or why the KPI could not be scored",
        },
    ),
    "kpi_alerts": (
        "One row per evaluation day and KPI series in alert, suppressed or just recovered, "
        "with its reason",
        {
            "alert_id": "The series and kind: kpi_name|dimension|dimension_value|kind",
            "evaluated_on": EVALUATED_ON,
            "dimension": "total, segment or region",
            "dimension_value": "The segment or region; 'all' for the total",
            "kind": "decline or flattening",
            "state": "new, ongoing, escalated, recovered or suppressed",
            "severity": "warning or critical",
            "since": "The first day of the decline or flattening",
            "baseline_value": "The KPI's mean over its baseline, in its unit",
            "current_value": "The KPI's mean over the last 7 days, in its unit",
            "relative_change": "current_value against baseline_value, as a fraction",
            "reason": "Why, as the alert says it: its cause first, then its numbers",
        },
    ),
}


def comment_statements(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The COMMENT statements of the monitor's tables and of their columns in ``con``."""
    statements = []
    for table, (about, columns) in COMMENTS.items():
        statements.append(f"comment on table monitoring.{table} is {sql_literal(about)}")
        present = table_columns(con, "monitoring", table)
        statements += [
            f"comment on column monitoring.{table}.{column} is {sql_literal(text)}"
            for column, text in columns.items()
            if column in present
        ]
    return statements


@dataclass(frozen=True)
class Kpi:
    kpi_name: str
    label: str
    unit: str
    direction: str
    min_effect: float
    expected_weekly_growth: float
    alert_level: str  # which series the alerts watch: a key of WATCHED
    related_kpis: tuple[str, ...] = ()
    # relative: min_effect is a fraction of the baseline; absolute: in the KPI's unit
    min_effect_scale: str = "relative"
    # the lowest and highest value of one observation of a KPI that is a share or mean of a
    # sample (fct_kpi_daily.sample_size); None for the others
    observation_range: tuple[float, float] | None = None
    # a count of events in a window (leads, reviews, customers lapsing): its own sample
    events: bool = False

    def watches(self, dimension: str) -> bool:
        return dimension in WATCHED.get(self.alert_level, ())


@dataclass(frozen=True)
class Alert:
    alert_id: str
    evaluated_on: date
    kpi_name: str
    label: str
    unit: str
    dimension: str
    dimension_value: str
    kind: str
    state: str
    severity: str | None
    since: date | None
    baseline_value: float | None
    current_value: float | None
    relative_change: float | None
    reason: str

    def as_record(self) -> dict[str, Any]:
        """JSON-ready, for run metadata and notification channels."""
        return {
            key: value.isoformat() if isinstance(value, date) else value
            for key, value in asdict(self).items()
        }


@dataclass(frozen=True)
class Evaluation:
    evaluated_on: date | None
    series_evaluated: int
    alerts: list[Alert] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    # the total's finding and latest value per KPI, for asset checks and plots
    totals: dict[str, Finding] = field(default_factory=dict)
    suppressed_because: str | None = None


def suppression_reason(
    evaluated_on: date, today: date | None, failed_checks: Sequence[str]
) -> str | None:
    """Why alerts must not be trusted today, or None.

    >>> suppression_reason(date(2026, 6, 20), date(2026, 6, 30), [])
    'the data is stale: its latest day is 2026-06-20, 10 days before 2026-06-30'
    >>> suppression_reason(date(2026, 6, 30), date(2026, 6, 30), ["row_rules_fct_orders"])
    'upstream checks failed: row_rules_fct_orders'
    """
    if failed_checks:
        shown = ", ".join(sorted(failed_checks)[:3])
        more = f" and {len(failed_checks) - 3} more" if len(failed_checks) > 3 else ""
        return f"upstream checks failed: {shown}{more}"
    if today is not None and (today - evaluated_on).days > STALE_AFTER_DAYS:
        days = (today - evaluated_on).days
        return f"the data is stale: its latest day is {evaluated_on}, {days} days before {today}"
    return None


def read_catalogue(con: duckdb.DuckDBPyConnection) -> dict[str, Kpi]:
    """Every enabled KPI; those at alert level none only explain the others.

    Money KPIs carry the warehouse's reporting currency as their unit, so their reasons and
    the alert states recorded say which currency the amounts are in. A catalogue without
    min_effect_scale or observation_range has relative minimum effects and no sampled KPI.
    """
    currency = reporting_currency(con)
    columns = table_columns(con, "reference", "kpi_catalogue")
    scale = "min_effect_scale" if "min_effect_scale" in columns else "'relative'"
    observations = "observation_range" if "observation_range" in columns else "null"
    return {
        name: Kpi(
            name,
            label,
            unit_shown(unit, currency),
            *rest,
            related_kpis=tuple((related or "").split()),
            min_effect_scale=effect_scale,
            observation_range=_range(observation_range),
            events=observation_range == EVENTS,
        )
        for name, label, unit, *rest, related, effect_scale, observation_range in con.execute(
            "select kpi_name, label, unit, direction, min_effect::double, "
            f"expected_weekly_growth::double, alert_level, related_kpis, {scale}, "
            f"{observations} from reference.kpi_catalogue where enabled"
        ).fetchall()
    }


def _range(text: str | None) -> tuple[float, float] | None:
    """An observation range as the catalogue writes it ("0 100"); None when empty or EVENTS."""
    if not text or not text.strip() or text == EVENTS:
        return None
    low, high = (float(bound) for bound in text.split())
    return low, high


def read_series(
    con: duckdb.DuckDBPyConnection,
    catalogue: dict[str, Kpi],
    as_of: date | None = None,
    column: str = "value",
) -> dict[tuple[str, str, str], tuple[list[date], np.ndarray]]:
    """Every series the alerts watch, up to ``as_of``: (KPI, dimension, member) -> days, values.

    ``column="sample_size"`` reads the sample sizes of the same series, on the same days (none
    when fct_kpi_daily has no such column).
    """
    if column not in ("value", "sample_size"):
        raise ValueError(f"unknown column {column!r}")
    if column not in table_columns(con, "marts", "fct_kpi_daily"):
        return {}
    series: dict[tuple[str, str, str], tuple[list[date], list[float]]] = defaultdict(
        lambda: ([], [])
    )
    for kpi_name, dimension, member, day, value in con.execute(
        f"select kpi_name, dimension, dimension_value, kpi_date, {column} "
        "from marts.fct_kpi_daily "
        "where dimension in (select unnest(?)) and kpi_date <= coalesce(?, kpi_date) "
        "order by kpi_name, dimension, dimension_value, kpi_date",
        [list(DIMENSIONS), as_of],
    ).fetchall():
        kpi = catalogue.get(kpi_name)
        if kpi is not None and kpi.alert_level != "none" and kpi.watches(dimension):
            series[kpi_name, dimension, member][0].append(day)
            series[kpi_name, dimension, member][1].append(np.nan if value is None else value)
    return {key: (days, np.asarray(values, dtype=float)) for key, (days, values) in series.items()}


def score(
    kpi: Kpi,
    dates: list[date],
    values: np.ndarray,
    min_effect: float,
    *,
    alerting: bool,
    sample_sizes: np.ndarray | None = None,
    reference: np.ndarray | None = None,
) -> Finding:
    """The finding of one series, held to ``min_effect`` (in the KPI's min_effect_scale) and,
    for a sampled KPI, to what chance moves its ``sample_sizes`` (one per date) by, for a count
    of events to what chance moves the count by; ``alerting``
    when its decline is open. A COUNTED KPI is tested on its counts against the catalogue's
    minimum effect, with each day's ``reference`` (:func:`count_references`)."""
    if kpi.kpi_name in COUNTED:
        if sample_sizes is None:
            return Finding("no_data", detail="No expected counts.")
        made, expected = counts(values, sample_sizes)
        return evaluate_counts(
            dates,
            made,
            expected,
            min_effect=kpi.min_effect,
            reference=reference,
            alerting=alerting,
        )
    return evaluate(
        dates,
        values,
        direction=kpi.direction,
        min_effect=min_effect,
        expected_weekly_growth=kpi.expected_weekly_growth,
        flat_weeks=FLAT_WEEKS,
        alerting=alerting,
        absolute=kpi.min_effect_scale == "absolute",
        sample_sizes=sample_sizes,
        observation_range=kpi.observation_range,
        events=kpi.events,
    )


def counts(values: np.ndarray, sample_sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The counts made and expected of a COUNTED KPI's days: value * sample size, sample size.

    >>> counts(np.array([0.5, np.nan]), np.array([4.0, 0.0]))
    (array([ 2., nan]), array([4., 0.]))
    """
    expected = np.asarray(sample_sizes, dtype=float)
    return np.asarray(values, dtype=float) * expected, expected


SeriesKey = tuple[str, str, str]
Series = dict[SeriesKey, tuple[list[date], np.ndarray]]


def count_references(series: Series, sample_sizes: Series) -> dict[SeriesKey, np.ndarray]:
    """Each COUNTED series' reference on its days: a member's is the rest of the company that
    day (the total less the member), the total's its own a year earlier; without the days it
    cannot speak for (a holiday: :func:`trend.without_closed_days`)."""
    references: dict[SeriesKey, np.ndarray] = {}
    for key, (dates, values) in series.items():
        kpi_name, dimension, _ = key
        if kpi_name not in REFERRED or key not in sample_sizes:
            continue
        made, expected = counts(values, sample_sizes[key][1])
        total = (kpi_name, "total", "all")
        if dimension in SEASONAL_DIMENSIONS:
            reference = reference_from_last_year(made, expected)
            references[key] = without_closed_days(reference, made, dates)
        elif total in series and total in sample_sizes:
            at = {day: i for i, day in enumerate(series[total][0])}
            rows = [at.get(day) for day in dates]
            total_made, total_expected = counts(series[total][1], sample_sizes[total][1])
            aligned = [
                np.array([np.nan if i is None else a[i] for i in rows])
                for a in (total_made, total_expected)
            ]
            reference = reference_from_rest(made, expected, *aligned)
            references[key] = without_closed_days(reference, made, dates, aligned[0] - made)
    return references


def evaluate_warehouse(
    con: duckdb.DuckDBPyConnection,
    as_of: date | None = None,
    *,
    today: date | None = None,
    failed_checks: Sequence[str] = (),
) -> Evaluation:
    """Findings for every enabled KPI series, turned into alert states.

    ``as_of`` evaluates the series as they stood on a past day (the default is their last day),
    which replays history: what would have been raised then. When the data is stale against
    ``today`` or ``failed_checks`` names failed upstream checks, every alert is recorded as
    ``suppressed`` with the reason, and none is sent.
    """
    catalogue = read_catalogue(con)
    series = read_series(con, catalogue, as_of)
    if not series:
        return Evaluation(None, 0)
    sample_sizes = read_series(con, catalogue, as_of, "sample_size")
    references = count_references(series, sample_sizes)
    evaluated_on = max(dates[-1] for dates, _ in series.values())
    suppressed_because = suppression_reason(evaluated_on, today, failed_checks)
    previous = _previous_states(con, evaluated_on)
    snapshots = _SnapshotReader(con)
    alerts: list[Alert] = []
    statuses: dict[str, int] = defaultdict(int)
    totals: dict[str, Finding] = {}
    population = snapshots.population(evaluated_on)
    for (kpi_name, dimension, member), (dates, values) in sorted(series.items()):
        kpi = catalogue[kpi_name]
        min_effect = member_min_effect(kpi.min_effect, population.get((dimension, member)))
        raised = previous.get(f"{kpi_name}|{dimension}|{member}|decline", (None, None))[0]
        finding = score(
            kpi,
            dates,
            values,
            min_effect,
            alerting=raised in OPEN_STATES,
            sample_sizes=sample_sizes.get((kpi_name, dimension, member), (None, None))[1],
            reference=references.get((kpi_name, dimension, member)),
        )
        statuses[finding.status] += 1
        if dimension == "total":
            totals[kpi_name] = finding
        for kind in ALERT_KINDS:
            alert_id = f"{kpi_name}|{dimension}|{member}|{kind}"
            before = previous.get(alert_id, (None, None))
            firing = finding.status == kind
            level = severity(finding, finding.min_effect or min_effect) if firing else None
            state = next_state(*before, firing=firing, severity=level)
            if state is None:
                continue
            reason = (
                _reason(kpi, dimension, member, finding, evaluated_on, snapshots, catalogue)
                if firing
                else f"{kpi.label} is back within its normal range. {finding.detail}".strip()
            )
            if suppressed_because:
                state, reason = "suppressed", f"Suppressed: {suppressed_because}. {reason}"
            alerts.append(
                Alert(
                    alert_id=alert_id,
                    evaluated_on=evaluated_on,
                    kpi_name=kpi_name,
                    label=kpi.label,
                    unit=kpi.unit,
                    dimension=dimension,
                    dimension_value=member,
                    kind=kind,
                    state=state,
                    severity=level or before[1],
                    since=finding.since if firing else None,
                    baseline_value=finding.baseline_value,
                    current_value=finding.current_value,
                    relative_change=finding.relative_change,
                    reason=reason,
                )
            )
    return Evaluation(evaluated_on, len(series), alerts, dict(statuses), totals, suppressed_because)


def record_alerts(
    con: duckdb.DuckDBPyConnection, evaluation: Evaluation, channels: Sequence[str] = ()
) -> None:
    """Writes this evaluation's alert states, and what they call for sending to the log and each
    of ``channels`` into the alert outbox, in one transaction: a process that dies after it
    leaves the messages to the next deliverer.

    Evaluating a day again updates that day's row of each alert it reports and keeps the others,
    such as a recovery that the second evaluation rightly does not report again. A suppressed
    evaluation never overwrites what an unsuppressed one recorded for the day, so an alert sent
    that day is not taken for new once the data is fresh again; an unsuppressed one replaces
    the day's suppressed rows. A suppression is announced when it starts: when the evaluation
    before was not suppressed.
    """
    con.execute(ALERTS_DDL)
    con.execute(OUTBOX_DDL)
    for statement in comment_statements(con):
        con.execute(statement)
    if evaluation.evaluated_on is None:
        return
    columns = list(Alert.__dataclass_fields__)
    suppressed = evaluation.suppressed_because is not None
    con.execute("begin")
    try:
        announced = previous_suppression(con)
        if not suppressed:
            con.execute(
                "delete from monitoring.kpi_alerts where evaluated_on = ? and state = 'suppressed'",
                [evaluation.evaluated_on],
            )
        if evaluation.alerts:
            con.executemany(
                f"insert or {'ignore' if suppressed else 'replace'} into monitoring.kpi_alerts "
                f"({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
                [[getattr(alert, name) for name in columns] for alert in evaluation.alerts],
            )
        if not suppressed:
            con.executemany(
                "insert or replace into monitoring.kpi_status values (?, ?, ?, ?)",
                [
                    (evaluation.evaluated_on, name, finding.status, finding.detail)
                    for name, finding in evaluation.totals.items()
                ],
            )
        to_send = notifications(
            [alert.as_record() for alert in evaluation.alerts],
            evaluation.suppressed_because or "",
            announced,
        )
        enqueue(
            con,
            evaluation.evaluated_on,
            evaluation.series_evaluated,
            evaluation.suppressed_because,
            to_send,
            channels,
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _previous_states(
    con: duckdb.DuckDBPyConnection, evaluated_on: date
) -> dict[str, tuple[str, str | None]]:
    # The days before: evaluating a day again (a run repeated, or recovering from a crash)
    # records the same states as the first time, whose messages the outbox holds already.
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'monitoring' and table_name = 'kpi_alerts'"
    ).fetchall()[0][0]
    if not exists:
        return {}
    rows = con.execute(
        """
        select alert_id, state, severity
        from monitoring.kpi_alerts
        where evaluated_on < ? and state <> 'suppressed'
        qualify row_number() over (partition by alert_id order by evaluated_on desc) = 1
        """,
        [evaluated_on],
    ).fetchall()
    return {alert_id: (state, level) for alert_id, state, level in rows}


class _SnapshotReader:
    """The numbers behind a move: window totals, KPI values and the revenue bridge."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def population(self, day: date) -> dict[tuple[str, str], float]:
        """Active customers of every dimension member on ``day``."""
        rows = self._con.execute(
            "select dimension, dimension_value, active_customers "
            "from marts.fct_customer_value_daily where value_date = ?",
            [day],
        ).fetchall()
        return {(dimension, member): float(n or 0) for dimension, member, n in rows}

    def members(self, day: date, dimension: str) -> dict[str, Snapshot]:
        rows = self._con.execute(
            """
            select dimension_value, net_revenue_in_window, orders_in_window, active_customers
            from marts.fct_customer_value_daily
            where value_date = ? and dimension = ?
            """,
            [day, dimension],
        ).fetchall()
        return {
            member: Snapshot(float(r or 0), float(o or 0), float(n or 0))
            for member, r, o, n in rows
        }

    def kpi_values(
        self, kpi_name: str, dimension: str, member: str, days: Sequence[date]
    ) -> list[float | None]:
        """The KPI's value on each of ``days`` as the radar and the dashboard show it (a
        COUNTED KPI's over the WEEK_DAYS ending that day, holidays included, which its
        alert's own 7-day average leaves out); None without one."""
        return [
            self._con.execute(
                f"select any_value(value) from ({SHOWN_SQL}) where kpi_name = ? "
                "and dimension = ? and dimension_value = ? and kpi_date = ?",
                [kpi_name, dimension, member, day],
            ).fetchall()[0][0]
            for day in days
        ]

    def revenue_bridge(
        self, dimension: str, member: str, start: date, end: date
    ) -> RevenueBridge | None:
        """Revenue of ``start`` to ``end`` (at least BRIDGE_DAYS) against 52 weeks earlier.

        A customer who bought then and not now is lost, and so is one who bought in both but
        stopped within the period (STOPPED_INTERVALS); one who buys now and did not then is
        gained; the others' change is the retained change. None when the orders do not reach
        back that far.
        """
        start = min(start, end - timedelta(days=BRIDGE_DAYS - 1))
        year = timedelta(weeks=52)
        member_column = {"total": "'all'", "segment": "segment", "region": "region"}[dimension]
        first_order, lost, gained, retained_change, lost_customers, gained_customers = (
            self._con.execute(
                f"""
            with customers as (
                select
                    customer_id,
                    sum(net_revenue) filter (where order_date between $start and $end) as now,
                    sum(net_revenue) filter (where order_date between $start_before and
                        $end_before) as before,
                    count(*) filter (where order_date between $start_before and $end_before)
                        as orders_before,
                    max(order_date) filter (where order_date <= $end) as last_order
                from marts.fct_orders
                where not is_cancelled and {member_column} = $member
                group by customer_id
            ),
            classified as (
                select
                    *,
                    now is null
                    or date_diff('day', last_order, $end) > greatest(
                        $intervals * (date_diff('day', $start, $end) + 1) / orders_before,
                        $min_days
                    ) as left_
                from customers
                where before is not null
            )
            select
                (select min(order_date) from marts.fct_orders),
                (select sum(before - coalesce(now, 0)) from classified where left_),
                (select sum(now) from customers where before is null),
                (select sum(now - before) from classified where not left_),
                (select count(*) from classified where left_),
                (select count(*) from customers where before is null and now is not null)
            """,
                {
                    "start": start,
                    "end": end,
                    "start_before": start - year,
                    "end_before": end - year,
                    "member": member,
                    "intervals": STOPPED_INTERVALS,
                    "min_days": STOPPED_MIN_DAYS,
                },
            ).fetchall()[0]
        )
        if first_order is None or first_order > start - year:
            return None
        return RevenueBridge(
            start,
            end,
            *(float(value or 0) for value in (lost, gained, retained_change)),
            lost_customers,
            gained_customers,
        )


def reason(
    con: duckdb.DuckDBPyConnection,
    kpi: Kpi,
    dimension: str,
    member: str,
    finding: Finding,
    evaluated_on: date,
    catalogue: dict[str, Kpi],
) -> str:
    """The reason an alert on ``finding`` gives on ``evaluated_on``, as the monitor writes it."""
    return _reason(kpi, dimension, member, finding, evaluated_on, _SnapshotReader(con), catalogue)


def _reason(
    kpi: Kpi,
    dimension: str,
    member: str,
    finding: Finding,
    evaluated_on: date,
    snapshots: _SnapshotReader,
    catalogue: dict[str, Kpi],
) -> str:
    # the period explained: from the onset of a decline, or the weeks a flattening spans
    start = (
        finding.since - timedelta(days=1)
        if finding.status == "decline" and finding.since
        else evaluated_on - timedelta(weeks=FLAT_WEEKS)
    )
    split, contributions, breakdown = None, [], "segment"
    if kpi.kpi_name == ACV:
        before, after = (
            snapshots.members(start, dimension),
            snapshots.members(evaluated_on, dimension),
        )
        if member in before and member in after:
            split = decompose_acv(before[member], after[member])
        if dimension == "total":
            breakdown, contributions = concentrated_breakdown(
                {
                    name: segment_contributions(
                        snapshots.members(start, name), snapshots.members(evaluated_on, name)
                    )
                    for name in BREAKDOWNS
                }
            )
    bridge = None
    if kpi.kpi_name in BRIDGED:
        bridge = snapshots.revenue_bridge(
            dimension, member, start + timedelta(days=1), evaluated_on
        )
    related = []
    for name in (name for name in kpi.related_kpis if name in catalogue):
        related.append(
            RelatedSignal(
                catalogue[name].label,
                catalogue[name].unit,
                *snapshots.kpi_values(name, dimension, member, (start, evaluated_on)),
                smoothed=name in COUNTED,
                direction=catalogue[name].direction,
            )
        )
    (today,) = snapshots.kpi_values(kpi.kpi_name, dimension, member, [evaluated_on])
    label = kpi.label if dimension == "total" else f"{kpi.label} of the {member} {dimension}"
    cause = None
    if kpi.kpi_name in EXISTING_CUSTOMERS and finding.status == "decline":
        counted = finding.observed_count is not None and bool(finding.expected_count)
        cause = existing_customers_sentence(
            kpi.kpi_name,
            None if dimension == "total" else f"the {member} {dimension}",
            days=(evaluated_on - start).days if counted else WEEK_DAYS,
            made=finding.observed_count,
            expected=finding.expected_count,
            change=finding.observed_count / finding.expected_count - 1.0
            if counted
            else finding.relative_change,
        )
    reason = render_reason(
        label,
        finding,
        split=split,
        contributions=contributions,
        direction=kpi.direction,
        expected_weekly_growth=kpi.expected_weekly_growth,
        flat_weeks=FLAT_WEEKS,
        dimension_name=breakdown,
        unit=kpi.unit,
        bridge=bridge,
        related=related,
        since=start + timedelta(days=1),
        # a counted KPI is shown as the week's average the reason already quotes
        latest=None if today is None or kpi.kpi_name in COUNTED else (evaluated_on, today),
    )
    return f"{cause} {reason}" if cause else reason


def concentrated_breakdown(
    options: dict[str, list[Contribution]],
) -> tuple[str, list[Contribution]]:
    """The breakdown whose leading member carries the largest share of the move.

    A fall spread evenly over the segments but concentrated in one region is told by region:
    that is where a person can act.
    """

    def share(contributions: list[Contribution]) -> float:
        change = math.fsum(c.total for c in contributions)
        if not contributions or change == 0.0:
            return 0.0
        top = contributions[0] if change < 0 else contributions[-1]
        return top.total / change

    name = max(options, key=lambda option: share(options[option]))
    return name, options[name]
