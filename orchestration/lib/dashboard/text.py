"""How the page writes numbers, changes and dates: the words and signs the CEO reads."""

from __future__ import annotations

import calendar
import html
import math
import re
from datetime import date
from typing import Any

from markupsafe import Markup

from orchestration.lib.explain import MINUS, MONTHS, POINT_UNITS, format_value, signed


def change(value: float | None, before: float | None, unit: str) -> tuple[float | None, str]:
    """The move from ``before``: in points for shares and scores around zero (as the text
    radar), else relative. Returns the number (points, or a fraction) and its text."""
    if value is None or before is None:
        return None, ""
    if unit in POINT_UNITS:
        points = (value - before) * POINT_UNITS[unit]
        return points, f"{signed(points, '.1f')} pts"
    if not before:
        return None, ""
    relative = value / before - 1
    return relative, f"{signed(relative * 100, '.1f')} %"


def changed(
    value: float | None, before: float | None, unit: str, direction: str = "higher_is_better"
) -> dict[str, Any]:
    """A change as the templates draw it: its number, text, arrow and tone."""
    number, shown = change(value, before, unit)
    # a change shown as 0.0 is drawn flat, whatever its sign before rounding
    drawn = number if any(digit in shown for digit in "123456789") else 0.0
    return {
        "value": number,
        "text": shown,
        "arrow": arrow(drawn),
        "tone": tone(drawn, direction),
    }


def tone(change: float | None, direction: str) -> str:
    if change is None or abs(change) < 1e-9:
        return "flat"
    return "good" if (change > 0) == (direction != "lower_is_better") else "bad"


def arrow(change: float | None) -> str:
    if change is None or abs(change) < 1e-9:
        return "▬"
    return "▲" if change > 0 else "▼"


def tick(value: float, unit: str) -> str:
    """An axis label: as precise as the step between ticks needs.

    >>> [tick(v, "share") for v in (0.175, 0.2, 0.225)]
    ['17.5 %', '20 %', '22.5 %']
    """
    if unit in ("share", "%"):
        return f"{round(value * 100 if unit == 'share' else value, 6):g} %"
    if value != int(value):
        return f"{value:g}".replace("-", MINUS)
    return compact(value)


def compact(value: float | None, unit: str = "") -> str:
    """1.2M, 291k, 4.5k, 950: money on an axis or in a headline, where every unit is noise."""
    if value is None:
        return "—"
    size = abs(value)
    if size >= 1e6:
        text = f"{size / 1e6:.1f}M"
    elif size >= 1e4:
        text = f"{size / 1e3:.0f}k"
    elif size >= 1e3:
        text = f"{size / 1e3:.1f}k"
    else:
        text = f"{size:.0f}"
    sign = MINUS if value < 0 and text.strip("0.kM") else ""
    return f"{sign}{text}{f' {unit}' if unit else ''}"


def day(value: date) -> str:
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def month(value: date, short: bool = False) -> str:
    name = MONTHS[value.month - 1][:3]
    if short:
        return f"{name} {value:%y}" if value.month == 1 else name
    return f"{name} {value.year}"


def first_days(month: date, days: int) -> str:
    """``Dec 1-3`` (an en dash): the first ``days`` days of ``month``, that a month-to-date
    figure covers."""
    days = min(days, calendar.monthrange(month.year, month.month)[1])
    name = MONTHS[month.month - 1][:3]
    return f"{name} 1" if days == 1 else f"{name} 1–{days}"


def num(value: Any) -> str:
    """A number for a data attribute: exact (repr), empty when undefined."""
    if value is None:
        return ""
    number = float(value)
    return "" if math.isnan(number) else repr(number)


def slug(text: Any) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(text).lower())


def value_markup(value: float | None, unit: str) -> Markup:
    """A KPI value with its unit set smaller: the number is what the eye looks for."""
    text = format_value(value, unit)
    number, space, suffix = text.rpartition(" ")
    if value is None or not space or suffix[:1].isdigit():
        return Markup.escape(text)
    return Markup('{} <span class="unit">{}</span>').format(number, suffix)


def attrs(**attributes: Any) -> Markup:
    """Attributes for an element: ``class_`` → class, ``data_testid`` → data-testid; values
    escaped, None left out."""
    return Markup(
        "".join(
            f' {name.rstrip("_").replace("_", "-")}="{html.escape(str(value), quote=True)}"'
            for name, value in attributes.items()
            if value is not None
        )
    )


# A sentence ends at a full stop, question or exclamation mark followed by a space: the
# decimal point of "8.2 %" is followed by a digit, so numbers are never cut.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def first_sentence(text: str | None) -> str:
    """The opening of an alert's reason: what moved, by how much, since when."""
    text = " ".join((text or "").split())
    return SENTENCE_END.split(text, maxsplit=1)[0]
