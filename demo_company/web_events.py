"""Website analytics of the demo company: sessions, page views and sign-ups, day by day.

Each day of the year up to the anchor, and every day after it, has its own file of events.
A sign-up is the web form that created a CRM contact: its event carries the contact id and
happens at the contact's creation time, at the end of a session from the contact's channel.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

import numpy as np

from demo_company import vocabulary as vocab
from demo_company.crm_objects import Crm
from demo_company.simulator import DAY, Stream, World, day_of, iso_timestamps, pick, rng_for

CHANNELS = ("organic", "paid_search", "social", "referral", "email", "direct")
CHANNEL_WEIGHTS = (0.35, 0.2, 0.1, 0.08, 0.07, 0.2)
VISITS_PER_DAY = 60  # sessions at scale 1, besides those ending in a sign-up
WEB_HISTORY_DAYS = 365  # the analytics tool keeps a year before the anchor
RETURNING_SHARE = 0.3
LANDING = {
    "organic": ("/", "/blog/how-to-choose-packaging", "/blog/spring-garden", "/products"),
    "paid_search": ("/products/packaging", "/products/kitchen", "/products/safety", "/pricing"),
    "social": ("/blog/spring-garden", "/products/home", "/"),
    "referral": ("/about", "/products", "/"),
    "email": ("/products", "/pricing", "/products/office-supplies"),
    "direct": ("/",),
}
EVENT_KEYS = (
    "event_id", "event_type", "occurred_at", "visitor_id", "session_id", "channel",
    "page_path", "contact_id",
)  # fmt: skip


def web_days(world: World) -> range:
    """Day indexes that have an event file."""
    first = max(0, world.calendar.anchor - WEB_HISTORY_DAYS + 1)
    return range(first, world.calendar.as_of + 1)


def _visitor(seed: int, number: int) -> str:
    # A bijective scramble of the visitor number: cookie-like ids, still unique.
    return f"{(number * 0x9E3779B97F4A7C15 + seed) % 2**64:016x}"


def web_events(
    world: World, crm: Crm, days: Iterable[int] | None = None
) -> Iterator[tuple[date, dict[str, list[str]]]]:
    """(day, columns of its events in time order) for each day with an event file."""
    for day in web_days(world) if days is None else days:
        yield world.day(day), _day_events(world, crm, day)


def records(columns: dict[str, list[str]]) -> list[dict[str, str]]:
    """Events as one dict each."""
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def _day_events(world: World, crm: Crm, day: int) -> dict[str, list[str]]:
    config, calendar = world.config, world.calendar
    epoch = calendar.day0 + day
    stamp = day_of(epoch).strftime("%Y%m%d")
    rng = rng_for(config, Stream.WEB, epoch)
    pace = (calendar.arrival[0, day] + calendar.arrival[2, day]) / 2
    visits = int(rng.poisson(VISITS_PER_DAY * config.scale * pace))
    created = crm.sign_ups["created"]
    signing = slice(*np.searchsorted(created, [epoch * DAY, (epoch + 1) * DAY]))
    n = visits + (signing.stop - signing.start)
    u = rng.random((n, 6)).T
    channel = np.concatenate(
        [np.asarray(CHANNELS)[pick(rng, CHANNEL_WEIGHTS, visits)], crm.sign_ups["channel"][signing]]
    )
    views = 1 + rng.poisson(2.0, n)
    widest = int(views.max(initial=1))
    offsets = np.round(np.cumsum(rng.uniform(5, 150, (n, widest + 1)), axis=1)).astype(np.int64)
    pages = np.asarray(vocab.WEB_PAGES)[rng.integers(0, len(vocab.WEB_PAGES), (n, widest))]
    visitor = np.where(
        u[0] < RETURNING_SHARE,
        (u[1] * 20_000 * config.scale).astype(np.int64),
        10**12 + epoch * 100_000 + np.arange(n),
    )
    # Visits peak in the afternoon; a sign-up session ends when its contact is created.
    start = epoch * DAY + np.round((6 + 17 * (u[2] + u[3]) / 2) * 3600).astype(np.int64)
    contact = np.zeros(n, dtype=np.int64)
    contact[visits:] = crm.sign_ups["contact_id"][signing]
    start[visits:] = created[signing] - offsets[visits:][np.arange(n - visits), views[visits:]]
    landing = np.array(
        [LANDING[c][int(x * len(LANDING[c]))] for c, x in zip(channel, u[4], strict=True)],
        dtype=object,
    )

    # One row per event: session_start, the page views (the first on the landing page) and,
    # for sign-up sessions, the sign-up.
    signs_up = contact > 0
    length = 1 + views + signs_up
    session = np.repeat(np.arange(n), length)
    step = np.arange(len(session)) - np.repeat(np.cumsum(length) - length, length)
    is_sign_up = signs_up[session] & (step == views[session] + 1)
    occurred = start[session] + np.where(step > 0, offsets[session, np.maximum(step - 1, 0)], 0)
    kind = np.where(step == 0, "session_start", np.where(is_sign_up, "sign_up", "page_view"))
    path = np.where(
        step <= 1,
        landing[session],
        np.where(is_sign_up, "/signup", pages[session, np.minimum(step - 1, widest - 1)]),
    )
    order = np.lexsort((step, session, occurred))
    session, step, occurred = session[order], step[order], occurred[order]
    session_id = [f"s-{stamp}-{k:05d}" for k in range(n)]
    visitor_id = [_visitor(config.seed, int(v)) for v in visitor]
    return {
        "event_id": [f"e-{stamp}-{k:05d}-{j:02d}" for k, j in zip(session, step, strict=True)],
        "event_type": kind[order].tolist(),
        "occurred_at": iso_timestamps(occurred).tolist(),
        "visitor_id": [visitor_id[k] for k in session],
        "session_id": [session_id[k] for k in session],
        "channel": channel[session].tolist(),
        "page_path": path[order].tolist(),
        "contact_id": np.where(is_sign_up[order], contact[session].astype(str), "").tolist(),
    }
