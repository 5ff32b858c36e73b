"""Employee pulse surveys of the demo company: one eNPS survey a month, by department.

Every month the HR survey tool invites each department's staff on the first Monday and keeps
the survey open for two working weeks; about 60-80 % answer the eNPS question ("how likely
are you to recommend us as an employer?", 0-10), most of them in the first days. Like the
web events, a month's draws are keyed by the month alone and cover the whole survey; "as of"
only cuts off the responses submitted later, so a later "as of" only adds the responses of
the new days.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from demo_company.simulator import (
    DAY,
    DemoConfig,
    Stream,
    epoch_day,
    iso_timestamps,
    nps_distribution,
    pick,
    rng_for,
)


@dataclass(frozen=True)
class Department:
    name: str
    headcount: int  # at scale 1, at history start
    enps: float  # typical eNPS in hundredths (0.20 is +20)
    response_rate: float  # offset from the company's response rate


DEPARTMENTS = (
    Department("sales", 22, 0.22, 0.00),
    Department("support", 18, 0.08, -0.04),
    Department("operations", 30, 0.12, -0.06),
    Department("product", 14, 0.30, 0.05),
    Department("finance", 8, 0.25, 0.06),
    Department("marketing", 8, 0.24, 0.02),
)
PULSE_KEYS = (
    "response_id", "survey_id", "survey_month", "department", "invited_count", "score",
    "submitted_at",
)  # fmt: skip
# Staff grows much more slowly than the business it serves: 100 people at scale 1, about 55
# at scale 0.1 and 250 at scale 40.
HEADCOUNT_ELASTICITY = 0.25
HEADCOUNT_GROWTH = 0.04  # a year
RESPONSE_RATE = 0.70
SURVEY_WORKDAYS = 10
# Most people answer on the day of the invitation or after the first reminder.
WORKDAY_WEIGHTS = 0.7 ** np.arange(SURVEY_WORKDAYS)


def survey_opens(month: date) -> date:
    """The first Monday of ``month``: the day invitations go out."""
    first = month.replace(day=1)
    return first + timedelta(days=-first.weekday() % 7)


def survey_closes(month: date) -> date:
    """The last day responses are accepted (the Friday of the second week)."""
    return survey_opens(month) + timedelta(days=_calendar_offset(SURVEY_WORKDAYS - 1))


def survey_months(config: DemoConfig) -> list[date]:
    """First days of the months whose survey opened between history start and "as of"."""
    months = []
    month = config.history_start.replace(day=1)
    while survey_opens(month) <= config.as_of:
        if survey_opens(month) >= config.history_start:
            months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def pulse_responses(
    config: DemoConfig, months: Iterable[date] | None = None
) -> Iterator[tuple[date, dict[str, list]]]:
    """(month, columns of its responses submitted by "as of", in time order) per survey month.

    A month without any response yet has empty columns.
    """
    for month in survey_months(config) if months is None else months:
        yield month, _month_responses(config, month)


def _calendar_offset(workday: np.ndarray | int) -> np.ndarray | int:
    # Workdays counted from a Monday skip the weekend after every fifth.
    return workday + 2 * (workday // 5)


def _draw(config: DemoConfig, month: date) -> tuple[np.ndarray, list[dict[str, np.ndarray]]]:
    """Headcount per department and every response the survey of ``month`` will get."""
    rng = rng_for(config, Stream.HR, month.year * 12 + month.month - 1)
    years = (month - config.history_start).days / 365.25
    size = config.scale**HEADCOUNT_ELASTICITY * (1 + HEADCOUNT_GROWTH) ** years
    base = np.array([d.headcount for d in DEPARTMENTS]) * size
    # Hires and leavers move each department's headcount by a person or two.
    invited = np.maximum(3, np.round(base + rng.normal(0, 0.5 + 0.02 * base))).astype(np.int64)
    # The company's mood and its reminders move every department a little each month.
    company_enps = rng.normal(0, 0.04)
    company_rate = RESPONSE_RATE + rng.normal(0, 0.03)
    responses = []
    for department, staff in zip(DEPARTMENTS, invited, strict=True):
        rate = np.clip(company_rate + department.response_rate + rng.normal(0, 0.04), 0.45, 0.95)
        n = int(rng.binomial(staff, rate))
        # Clipped so that promoter and detractor shares stay probabilities.
        enps = np.clip(department.enps + company_enps + rng.normal(0, 0.06), -0.4, 0.56)
        promoters = 0.40 + (enps - 0.20) / 2
        detractors = 0.20 - (enps - 0.20) / 2
        score = pick(rng, nps_distribution(promoters, detractors), n)
        workday = pick(rng, WORKDAY_WEIGHTS, n)
        # Invitations go out at 09:00; people answer during the working day.
        hour = np.where(workday == 0, 9 + 10 * rng.random(n), 8 + 11 * rng.random(n))
        day = epoch_day(survey_opens(month)) + _calendar_offset(workday)
        submitted = day * DAY + np.round(hour * 3600).astype(np.int64)
        responses.append({"score": score, "submitted": submitted})
    return invited, responses


def _month_responses(config: DemoConfig, month: date) -> dict[str, list]:
    as_of_end = (epoch_day(config.as_of) + 1) * DAY
    invited, drawn = _draw(config, month)
    stamp = month.strftime("%Y%m")
    rows = []
    for department, staff, responses in zip(DEPARTMENTS, invited, drawn, strict=True):
        numbered = enumerate(zip(responses["score"], responses["submitted"], strict=True), 1)
        rows += [
            (submitted, f"{stamp}-{department.name}-{number:03d}", department.name, staff, score)
            for number, (score, submitted) in numbered
            if submitted < as_of_end
        ]
    rows.sort()
    submitted_at = iso_timestamps(np.array([r[0] for r in rows], dtype=np.int64)).tolist()
    return {
        "response_id": [r[1] for r in rows],
        "survey_id": [f"pulse-{month:%Y-%m}"] * len(rows),
        "survey_month": [month.isoformat()] * len(rows),
        "department": [r[2] for r in rows],
        "invited_count": [int(r[3]) for r in rows],
        "score": [int(r[4]) for r in rows],
        "submitted_at": submitted_at,
    }
