"""The geometry of the page's charts: where each bar, line and label goes, in SVG units.

Each function returns plain values (coordinates, texts, the numbers drawn) that
``templates/charts.html.j2`` draws as inline SVG, scaled by its viewBox to the width of its card.
Every number drawn is kept beside its shape, for its ``data-value``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from orchestration.lib.dashboard import text
from orchestration.lib.explain import format_value

Row = dict[str, Any]
Part = tuple[str, str, int, str]  # column, label, sign (+1 won, -1 lost), colour


def width(span: int) -> int:
    """A chart's width in SVG units: its card's width in pixels on a 1600-pixel screen, so that
    axis labels of 12 units read at 12 pixels there (the page's script keeps them at that size
    on any other screen)."""
    return 130 * span - 50


def sparkline(
    points: Sequence[tuple[date, float | None]],
    unit: str,
    testid: str,
    *,
    width: int,
    height: int,
    tone: str = "ok",
) -> Row:
    values = [(d, v) for d, v in points if v is not None]
    if len(values) < 2:
        return {"empty": True, "testid": testid}
    pad = 4
    lo, hi = min(v for _, v in values), max(v for _, v in values)
    x = scale(values[0][0].toordinal(), values[-1][0].toordinal(), pad, width - pad)
    y = scale(lo, hi, height - pad, pad) if hi > lo else (lambda _v: height / 2)
    line = " ".join(f"{x(d.toordinal()):.1f},{y(v):.1f}" for d, v in values)
    (d0, v0), (d1, v1) = values[0], values[-1]
    return {
        "empty": False,
        "testid": testid,
        "tone": text.slug(tone),
        "width": width,
        "height": height,
        "line": line,
        "area": f"{x(d0.toordinal()):.1f},{height} {line} {x(d1.toordinal()):.1f},{height}",
        "dot": (f"{x(d1.toordinal()):.1f}", f"{y(v1):.1f}", f"{max(2.5, height / 24):.1f}"),
        "label": (
            f"From {format_value(v0, unit)} on {text.day(d0)} to {format_value(v1, unit)} "
            f"on {text.day(d1)}; low {format_value(lo, unit)}, high {format_value(hi, unit)}"
        ),
        "points": len(values),
        "first": v0,
        "last": v1,
    }


def line_chart(
    points: Sequence[tuple[date, float | None]],
    unit: str,
    *,
    domain: tuple[float, float] | None = None,
    width: int = 520,
    height: int = 220,
) -> Row:
    values = [(d, v) for d, v in points if v is not None]
    if len(values) < 2:
        return {"empty": True}
    left, right, top, bottom = 52, 10, 10, 24
    lo, hi = domain or (min(v for _, v in values), max(v for _, v in values))
    ticks = nice_ticks(lo, hi)
    first, last = points[0][0], points[-1][0]
    x = scale(first.toordinal(), last.toordinal(), left, width - right)
    y = scale(ticks[0], ticks[-1], height - bottom, top)
    months = month_starts(first, last)
    step = max(1, math.ceil(len(months) / 6))
    d1, v1 = values[-1]
    return {
        "empty": False,
        "width": width,
        "height": height,
        "grid": axis(ticks, y, left, width - right, unit),
        "labels": [
            {"text": text.month(m, short=True), "x": f"{x(m.toordinal()):.1f}", "y": height - 6}
            for m in months[::step]
        ],
        "path": path(points, lambda d: x(d.toordinal()), y),
        "dot": (f"{x(d1.toordinal()):.1f}", f"{y(v1):.1f}"),
        "dot_title": f"{text.day(d1)}: {format_value(v1, unit)}",
        "label": f"{len(values)} points up to {text.day(d1)}",
        "points": len(values),
    }


def diverging_bars(
    name: str,
    periods: Sequence[Row],
    parts: Sequence[Part],
    unit: str,
    *,
    width: int = 640,
    height: int = 250,
) -> Row:
    """Stacked bars per period: gains above zero, losses below, a diamond on the net.

    Each period is ``{"period": date, "label": str, "values": {column: amount}}`` with an
    optional ``"title"`` (how its tooltips name it), ``"partial"`` (a period not over, drawn
    lighter) and ``"faint"`` (drawn lighter, behind the one to compare them with)."""
    if not periods:
        return {"empty": True}
    left, right, top, bottom = 56, 10, 12, 24
    stacks, hi, lo = [], 0.0, 0.0
    for p in periods:
        up = down = 0.0
        segments = []
        for key, label, sign, colour in parts:
            raw = p["values"].get(key)
            signed = sign * (raw or 0.0)
            if signed >= 0:
                segments.append((key, label, colour, raw, up, up + signed))
                up += signed
            else:
                segments.append((key, label, colour, raw, down + signed, down))
                down += signed
        stacks.append((p, segments, up + down))
        hi, lo = max(hi, up), min(lo, down)
    ticks = nice_ticks(lo, hi)
    y = scale(ticks[0], ticks[-1], height - bottom, top)
    band = (width - left - right) / len(periods)
    bar = band * 0.64
    groups = []
    for i, (p, segments, net) in enumerate(stacks):
        x0 = left + i * band + (band - bar) / 2
        title = p.get("title") or text.month(p["period"])
        cx, cy, r = x0 + bar / 2, y(net), min(7.0, bar / 3)
        groups.append(
            {
                "testid": f"{name}-{p['period']}",
                "period": p["period"],
                "partial": bool(p.get("partial")),
                "faint": bool(p.get("faint")),
                "rects": [
                    {
                        "key": key,
                        "title": f"{title}: {label} {format_value(raw, unit)}",
                        "value": raw,
                        "x": f"{x0:.1f}",
                        "y": f"{y(b):.1f}",
                        "width": f"{bar:.1f}",
                        "height": f"{max(0.5, y(a) - y(b)):.1f}",
                        "colour": colour,
                    }
                    for key, label, colour, raw, a, b in segments
                    if raw
                ],
                "net": (
                    {
                        "title": f"{title}: net {format_value(net, unit)}",
                        "value": net,
                        "d": f"M{cx:.1f},{cy - r:.1f} L{cx + r:.1f},{cy:.1f} "
                        f"L{cx:.1f},{cy + r:.1f} L{cx - r:.1f},{cy:.1f} Z",
                    }
                    if len(parts) > 1
                    else None
                ),
                "label": {"text": p["label"], "x": f"{cx:.1f}", "y": height - 6},
            }
        )
    return {
        "empty": False,
        "width": width,
        "height": height,
        "grid": axis(ticks, y, left, width - right, unit),
        "zero": {"x1": left, "x2": width - right, "y": f"{y(0):.1f}"},
        "groups": groups,
        "label": f"{len(periods)} months",
    }


def axis(
    ticks: Sequence[float], y: Callable[[float], float], x1: float, x2: float, unit: str
) -> list[Row]:
    return [
        {
            "x1": x1,
            "x2": x2,
            "y": f"{y(t):.1f}",
            "text_y": f"{y(t) + 4:.1f}",
            "text": text.tick(t, unit),
        }
        for t in ticks
    ]


def hbars(name: str, items: Iterable[tuple[str, float | None, str]]) -> Row:
    items = [(label, value or 0.0, shown) for label, value, shown in items]
    top = max((value for _, value, _ in items), default=0.0) or 1.0
    return {
        "name": name,
        "rows": [
            {"label": label, "value": value, "text": shown, "share": f"{100 * value / top:.1f}"}
            for label, value, shown in items
        ],
    }


def path(
    points: Sequence[tuple[date, float | None]],
    x: Callable[[date], float],
    y: Callable[[float], float],
) -> str:
    """An SVG path that lifts the pen over missing values rather than drawing through them."""
    out, pen_down = [], False
    for d, v in points:
        if v is None:
            pen_down = False
            continue
        out.append(f"{'L' if pen_down else 'M'}{x(d):.1f},{y(v):.1f}")
        pen_down = True
    return " ".join(out)


def scale(lo: float, hi: float, out_lo: float, out_hi: float) -> Callable[[float], float]:
    span = (hi - lo) or 1.0
    return lambda v: out_lo + (v - lo) / span * (out_hi - out_lo)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round axis values that cover ``lo``..``hi``."""
    if hi <= lo:
        hi, lo = hi + (abs(hi) * 0.1 or 1.0), lo - (abs(lo) * 0.1 or 1.0)
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= raw)
    start, end = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(start, end + 1)]


def zoom(
    points: Sequence[tuple[date, float | None]], bounds: tuple[float, float]
) -> tuple[float, float] | None:
    """The data's own range with a margin, within the scale's bounds: an NPS moving between
    10 and 20 would read as a flat line on -100..100."""
    values = [v for _, v in points if v is not None]
    if not values:
        return None
    lo, hi = min(values), max(values)
    margin = max((hi - lo) * 0.25, (bounds[1] - bounds[0]) * 0.02)
    return max(bounds[0], lo - margin), min(bounds[1], hi + margin)


def weekly(points: Sequence[tuple[date, Any]]) -> list[tuple[date, Any]]:
    """Every 7th day back from the last: smooth enough for trailing windows, 7 times lighter."""
    if not points:
        return []
    last = points[-1][0]
    return [(d, v) for d, v in points if (last - d).days % 7 == 0]


def month_starts(first: date, last: date) -> list[date]:
    month = date(first.year, first.month, 1)
    if month < first:
        month = next_month(month)
    months = []
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)
