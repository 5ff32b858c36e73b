"""The demo company's CRM, as HubSpot CRM v3 objects derived from the simulated world.

Companies (b2b customers and prospects), contacts (customers' people and leads that never
buy), deals, support tickets, survey feedback (CSAT and CES after tickets, quarterly NPS),
logged conversations and online reviews. Every object has the envelope HubSpot sends (id,
createdAt, updatedAt, archived) and string properties named as in the raw contract; an unset
property is an empty string. This is the store the demo CRM server (``crm_server``) shows as
HubSpot does: its own object types, property names, associations and pipeline stage ids.

An object exists once it was created by the end of the "as of" day; its properties and
``updatedAt`` are those of its latest change by then (a lead becoming a customer, a ticket
closing, a record deleted). Ids follow creation order, so a later "as of" only adds ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from demo_company import vocabulary as vocab
from demo_company.simulator import (
    CES_BASE,
    DAY,
    LEAD_SOURCE_WEIGHTS,
    LEAD_SOURCES,
    SEGMENTS,
    Stream,
    World,
    company_domain,
    company_name,
    csat_distribution,
    customer_company,
    iso_timestamps,
    nps_distribution,
    person_email,
    person_name,
    pick,
    places,
    rng_for,
    slug,
)

OBJECT_TYPES = ("companies", "contacts", "deals", "tickets", "feedback", "engagements", "reviews")
ID_BASE = {name: (i + 1) * 10_000_000 for i, name in enumerate(OBJECT_TYPES)}
PROPERTIES = {
    "companies": ("name", "domain", "industry", "erp_customer_id", "lifecyclestage"),
    "contacts": (
        "email", "firstname", "lastname", "lifecyclestage", "company_id", "erp_customer_id",
        "lead_source", "createdate",
    ),
    "deals": ("dealname", "amount", "dealstage", "closedate", "company_id"),
    "tickets": (
        "subject", "hs_pipeline_stage", "hs_ticket_category", "hs_ticket_priority",
        "company_id", "closed_date",
    ),
    "feedback": (
        "hs_survey_type", "hs_response_value", "hs_submission_timestamp", "company_id",
        "contact_id", "ticket_id", "hs_content",
    ),
    "engagements": (
        "hs_engagement_type", "hs_timestamp", "company_id", "contact_id", "hs_language",
        "hs_body_preview", "hs_outcome",
    ),
    "reviews": (
        "platform", "rating", "title", "body", "hs_language", "published_at", "company_id",
    ),
}  # fmt: skip
NEVER = np.iinfo(np.int64).max
PROSPECTS_PER_DAY = 2.0  # leads that never buy, at scale 1
REVIEWS_PER_DAY = 0.5
REVIEW_STARS = (0.05, 0.06, 0.12, 0.32, 0.45)
TONE_SHARES = (0.45, 0.35, 0.20)  # positive, neutral, negative conversations
CSAT_RESPONSE_RATE = 0.45
CES_RESPONSE_RATE = 0.30
NPS_RESPONSE_RATE = 0.35
NPS_EVERY_DAYS = 91  # each customer is asked once a quarter, on a day of its own
PRIORITIES = ("LOW", "MEDIUM", "HIGH")
ENGAGEMENT_TYPES = ("CALL", "EMAIL", "MEETING")

CrmObject = tuple[str, str, str, bool, dict[str, str]]
# The properties of the objects at some positions of a builder's arrays, as string columns.
Properties = Callable[[np.ndarray], dict[str, Sequence[str]]]


@dataclass(frozen=True)
class ObjectTable:
    """Objects of one type in id order.

    Properties are computed for a slice of objects at a time, so that a table of any size
    holds only numeric columns in memory.
    """

    ids: np.ndarray
    created: np.ndarray  # epoch seconds
    updated: np.ndarray
    archived: np.ndarray
    positions: np.ndarray  # of the objects in the builder's arrays
    properties: Properties

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, start: int = 0, stop: int | None = None) -> list[CrmObject]:
        """(id, createdAt, updatedAt, archived, properties) of the objects start:stop."""
        stop = len(self) if stop is None else min(stop, len(self))
        columns = self.properties(self.positions[start:stop])
        names = list(columns)
        return [
            (str(i), created, updated, archived, dict(zip(names, values, strict=True)))
            for i, created, updated, archived, *values in zip(
                self.ids[start:stop].tolist(),
                iso_timestamps(self.created[start:stop]).tolist(),
                iso_timestamps(self.updated[start:stop]).tolist(),
                self.archived[start:stop].tolist(),
                *(np.asarray(columns[name]).tolist() for name in names),
                strict=True,
            )
        ]

    def column(self, name: str) -> list[str]:
        """One property of every object."""
        return np.asarray(self.properties(self.positions)[name]).tolist()


@dataclass(frozen=True)
class Crm:
    """What the CRM objects are made of; each type's table is built on demand, so that writing
    a large demo holds one type at a time."""

    world: World
    journey: dict[str, np.ndarray]  # per customer: when lead, MQL, opportunity, customer ...
    prospects: dict[str, np.ndarray]  # leads that never buy
    support: dict[str, dict[str, np.ndarray]]  # tickets, conversations and NPS answers
    company_ids: np.ndarray  # b2b customers' companies, then prospects' (0: not created yet)
    customer_company: np.ndarray  # company id per customer (0: none)
    prospect_company: np.ndarray  # company id per prospect (0: none)
    contact_ids: np.ndarray  # customers' contacts, then prospects'
    sign_ups: dict[str, np.ndarray]  # contacts created by a web form: contact_id, created, channel

    def table(self, object_type: str) -> ObjectTable:
        return BUILDERS[object_type](self)


def crm_objects(crm: Crm, chunk: int = 20_000) -> Iterator[tuple[str, list[CrmObject]]]:
    """(object type, rows) chunks in id order."""
    for name in OBJECT_TYPES:
        table = crm.table(name)
        for start in range(0, len(table), chunk):
            yield name, table.rows(start, start + chunk)


# ---------------------------------------------------------------------------------------------
# Helpers


def _number(created: np.ndarray, cutoff: int, object_type: str) -> np.ndarray:
    """Ids in creation order for the objects created before ``cutoff``, 0 for the others.

    Ties keep the input order, which therefore must not depend on "as of".
    """
    visible = np.flatnonzero(created < cutoff)
    order = visible[np.argsort(created[visible], kind="stable")]
    ids = np.zeros(len(created), dtype=np.int64)
    ids[order] = ID_BASE[object_type] + np.arange(1, len(order) + 1)
    return ids


def _at(condition: np.ndarray, when: np.ndarray) -> np.ndarray:
    """The time of a change where it happens, NEVER elsewhere."""
    condition = np.broadcast_to(condition, np.shape(when))
    result = np.full(np.shape(when), NEVER, dtype=np.int64)
    result[condition] = np.round(np.asarray(when)[condition])
    return result


def _text(values: np.ndarray) -> np.ndarray:
    """Ids and numbers as HubSpot strings; 0 is unset (empty)."""
    values = np.asarray(values)
    return np.where(values > 0, values.astype(str), "")


def _iso(seconds: np.ndarray, cutoff: int | None = None) -> np.ndarray:
    """ISO timestamps, empty where the time is not reached by ``cutoff``."""
    seconds = np.asarray(seconds)
    reached = seconds < (NEVER if cutoff is None else cutoff)
    return np.where(reached, iso_timestamps(np.where(reached, seconds, 0)), "")


def _stage(cutoff: int, stages: list[tuple[str, np.ndarray]], first: str) -> np.ndarray:
    """The latest stage reached by ``cutoff``; ``stages`` (name, when) are listed latest first."""
    stage = np.full(len(stages[0][1]), first, dtype=object)
    for name, reached in reversed(stages):
        stage = np.where(reached < cutoff, name, stage)
    return stage


def _band(score: np.ndarray, low: int, high: int) -> np.ndarray:
    """'low', 'mid' or 'high' for a score (at most ``low`` is low, at least ``high`` high)."""
    return np.where(score <= low, "low", np.where(score >= high, "high", "mid"))


def _scores(u: np.ndarray, before: np.ndarray, after: np.ndarray, changed: np.ndarray, low: int):
    """Scores from uniform draws: inverse CDF of ``after`` where ``changed``, else ``before``."""
    cdf_before, cdf_after = np.cumsum(before), np.cumsum(after)
    score = np.where(
        changed,
        np.searchsorted(cdf_after / cdf_after[-1], u, side="right"),
        np.searchsorted(cdf_before / cdf_before[-1], u, side="right"),
    )
    return low + np.minimum(score, len(before) - 1)


def _table(
    ids: np.ndarray,
    created: np.ndarray,
    changes: list[np.ndarray],
    archived_at: np.ndarray,
    cutoff: int,
    properties: Properties,
) -> ObjectTable:
    """The objects with an id, in id order, updated at their latest change before ``cutoff``."""
    keep = np.flatnonzero(ids > 0)
    keep = keep[np.argsort(ids[keep])]
    updated = created.copy()
    for change in [*changes, archived_at]:
        updated = np.where((change < cutoff) & (change > updated), change, updated)
    return ObjectTable(
        ids=ids[keep],
        created=created[keep],
        updated=updated[keep],
        archived=(archived_at < cutoff)[keep],
        positions=keep,
        properties=properties,
    )


def _stack(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}


# ---------------------------------------------------------------------------------------------
# The CRM


def build_crm(world: World) -> Crm:
    cutoff = world.as_of_end
    customers = world.customers
    b2b = np.flatnonzero(customers.segment < 2)
    journey = _journeys(world)
    prospects = _prospects(world)
    with_company = np.flatnonzero(prospects["company"])

    company_ids = _number(
        np.concatenate([journey["lead"][b2b], prospects["created"][with_company]]),
        cutoff,
        "companies",
    )
    customer_company = np.zeros(customers.count, dtype=np.int64)
    customer_company[b2b] = company_ids[: len(b2b)]
    prospect_company = np.zeros(len(prospects["created"]), dtype=np.int64)
    prospect_company[with_company] = company_ids[len(b2b) :]

    contact_created = np.concatenate([journey["lead"], prospects["created"]])
    contact_ids = _number(contact_created, cutoff, "contacts")
    signed_up = np.concatenate([customers.web_sign_up, prospects["web_sign_up"]])
    source = np.concatenate([customers.lead_source, prospects["lead_source"]])
    chosen = np.flatnonzero(signed_up & (contact_ids > 0))
    chosen = chosen[np.argsort(contact_ids[chosen])]
    return Crm(
        world=world,
        journey=journey,
        prospects=prospects,
        support=_support(world),
        company_ids=company_ids,
        customer_company=customer_company,
        prospect_company=prospect_company,
        contact_ids=contact_ids,
        sign_ups={
            "contact_id": contact_ids[chosen],
            "created": contact_created[chosen],
            "channel": np.asarray(LEAD_SOURCES)[source[chosen]],
        },
    )


def _journeys(world: World) -> dict[str, np.ndarray]:
    """When each customer's person became a lead, MQL, opportunity, customer; and was deleted."""
    customers, day0 = world.customers, world.calendar.day0
    lead = (day0 + customers.acquired - np.ceil(customers.lead_lag).astype(np.int64)) * DAY
    lead = lead + np.round(customers.lead_hour * 3600).astype(np.int64)
    length = customers.created - lead
    b2b = customers.segment < 2
    deleted = np.isfinite(customers.archive_after)
    deleted_day = day0 + customers.end + np.where(deleted, customers.archive_after, 0)
    return {
        "lead": lead,
        "mql": _at(customers.marketing_qualified, lead + 0.4 * length),
        "opportunity": _at(b2b, lead + 0.7 * length),
        "contract": _at(b2b, lead + 0.9 * length),
        "customer": customers.created,
        "archived": _at(deleted, deleted_day * DAY + 11 * 3600),
    }


def _prospects(world: World) -> dict[str, np.ndarray]:
    """Leads that never buy, created day by day up to "as of"."""
    config, calendar = world.config, world.calendar
    parts = []
    for day in range(calendar.as_of + 1):
        rng = rng_for(config, Stream.LEADS, calendar.day0 + day)
        count = int(rng.poisson(PROSPECTS_PER_DAY * config.scale * calendar.arrival[2, day]))
        u = rng.random((count, 12)).T
        created = (calendar.day0 + day) * DAY + np.round((6.5 + 16 * u[0]) * 3600)
        company = (u[1] < 0.35) & (u[2] < 0.5)
        deal_at = _at(company & (u[3] < 0.8), created + (3 + 17 * u[4]) * DAY)
        _, country, french = places(rng, count)
        parts.append(
            {
                "created": created.astype(np.int64),
                "company": company,
                "lead_source": pick(rng, LEAD_SOURCE_WEIGHTS, count),
                "mql": _at(u[5] < 0.35, created + (2 + 23 * u[6]) * DAY),
                "archived": _at(u[7] < 0.25, created + (120 + 600 * u[8]) * DAY),
                "deal": deal_at,
                "lost": _at(deal_at < NEVER, deal_at + (20 + 70 * u[9]) * DAY),
                "deal_archived": _at(
                    (deal_at < NEVER) & (u[10] < 0.2), deal_at + (110 + 300 * u[11]) * DAY
                ),
                "web_sign_up": rng.random(count) < 0.75,
                "first_name": rng.integers(0, len(vocab.FIRST_NAMES), count),
                "last_name": rng.integers(0, len(vocab.LAST_NAMES), count),
                "company_word": rng.integers(0, len(vocab.COMPANY_WORDS), count),
                "company_trade": rng.integers(0, len(vocab.COMPANY_TRADES), count),
                "country": country,
                "french": french,
                "deal_size": np.round(rng.lognormal(np.log(2500), 0.7, count), -2),
            }
        )
    return _stack(parts)


def _prospect_company(prospects: dict[str, np.ndarray], i: int) -> tuple[str, str]:
    word, trade = prospects["company_word"][i], prospects["company_trade"][i]
    return (
        company_name(word, trade, prospects["country"][i]),
        company_domain(word, trade, f"p{i + 1}"),
    )


def _company_of(crm: Crm, owner: int) -> tuple[str, str]:
    """Name and domain of a customer's (owner >= 0) or a prospect's (owner < 0) company."""
    if owner >= 0:
        return customer_company(crm.world.customers, owner)
    return _prospect_company(crm.prospects, -1 - owner)


def _companies(crm: Crm) -> ObjectTable:
    journey, prospects, cutoff = crm.journey, crm.prospects, crm.world.as_of_end
    customers = crm.world.customers
    b2b = np.flatnonzero(customers.segment < 2)
    with_company = np.flatnonzero(prospects["company"])
    owner = np.concatenate([b2b, -1 - with_company])
    opportunity = np.concatenate([journey["opportunity"][b2b], prospects["deal"][with_company]])
    won = np.concatenate([journey["customer"][b2b], np.full(len(with_company), NEVER)])
    trade = np.concatenate([customers.company_trade[b2b], prospects["company_trade"][with_company]])

    def properties(at: np.ndarray) -> dict[str, Sequence[str]]:
        names = [_company_of(crm, o) for o in owner[at]]
        return {
            "name": [name for name, _ in names],
            "domain": [domain for _, domain in names],
            "industry": [vocab.INDUSTRIES[vocab.COMPANY_TRADES[t]] for t in trade[at]],
            "erp_customer_id": _text(np.where(won[at] < cutoff, owner[at] + 1, 0)),
            "lifecyclestage": _stage(
                cutoff, [("customer", won[at]), ("opportunity", opportunity[at])], "lead"
            ),
        }

    return _table(
        crm.company_ids,
        np.concatenate([journey["lead"][b2b], prospects["created"][with_company]]),
        [opportunity, won],
        np.concatenate([journey["archived"][b2b], prospects["archived"][with_company]]),
        cutoff,
        properties,
    )


def _contacts(crm: Crm) -> ObjectTable:
    journey, prospects, cutoff = crm.journey, crm.prospects, crm.world.as_of_end
    customers = crm.world.customers
    n, leads = customers.count, len(prospects["created"])
    created = np.concatenate([journey["lead"], prospects["created"]])
    mql = np.concatenate([journey["mql"], prospects["mql"]])
    opportunity = np.concatenate([journey["opportunity"], np.full(leads, NEVER)])
    won = np.concatenate([journey["customer"], np.full(leads, NEVER)])
    company = np.concatenate([crm.customer_company, crm.prospect_company])
    source = np.concatenate([customers.lead_source, prospects["lead_source"]])
    # Consumers buy as themselves: their contact carries their ERP customer number.
    consumer = np.concatenate([(np.arange(n) + 1) * (customers.segment == 2), np.zeros(leads, int)])

    def person(i: int) -> tuple[str, str, str]:
        if i < n:
            first, last = person_name(customers, i)
            if customers.segment[i] < 2:
                domain = customer_company(customers, i)[1]
                return first, last, f"{slug(first)}.{slug(last)}@{domain}"
            return first, last, person_email(customers, i)
        k = i - n
        first = vocab.FIRST_NAMES[prospects["first_name"][k]]
        last = vocab.LAST_NAMES[prospects["last_name"][k]]
        domain = _prospect_company(prospects, k)[1] if prospects["company"][k] else "inbox.example"
        return first, last, f"{slug(first)}.{slug(last)}.{k + 1}@{domain}"

    def properties(at: np.ndarray) -> dict[str, Sequence[str]]:
        people = [person(i) for i in at]
        stages = [
            ("customer", won[at]),
            ("opportunity", opportunity[at]),
            ("marketingqualifiedlead", mql[at]),
        ]
        return {
            "email": [email for _, _, email in people],
            "firstname": [first for first, _, _ in people],
            "lastname": [last for _, last, _ in people],
            "lifecyclestage": _stage(cutoff, stages, "lead"),
            "company_id": _text(company[at]),
            "erp_customer_id": _text(np.where(won[at] < cutoff, consumer[at], 0)),
            "lead_source": np.asarray(LEAD_SOURCES)[source[at]],
            "createdate": _iso(created[at]),
        }

    return _table(
        crm.contact_ids,
        created,
        [mql, opportunity, won],
        np.concatenate([journey["archived"], prospects["archived"]]),
        cutoff,
        properties,
    )


def _deals(crm: Crm) -> ObjectTable:
    """A won deal before each b2b customer's first order; lost deals of some prospects."""
    journey, prospects = crm.journey, crm.prospects
    customers, orders, cutoff = crm.world.customers, crm.world.orders, crm.world.as_of_end
    b2b = np.flatnonzero(customers.segment < 2)
    lost = np.flatnonzero(prospects["deal"] < NEVER)
    owner = np.concatenate([b2b, -1 - lost])
    # A won deal's amount is the first order once it is placed, an estimate before.
    first_order = np.zeros(customers.count)
    first_order[orders.customer[orders.first]] = orders.net[orders.first]
    typical = np.array([s.lines * s.quantity * 30 for s in SEGMENTS])[customers.segment[b2b]]
    won_at = journey["customer"][b2b]
    amount = np.concatenate(
        [
            np.where(
                (won_at < cutoff) & (first_order[b2b] > 0),
                first_order[b2b],
                np.round(typical * customers.basket[b2b], -2),
            ),
            prospects["deal_size"][lost],
        ]
    )
    created = np.concatenate([journey["opportunity"][b2b], prospects["deal"][lost]])
    contract = np.concatenate([journey["contract"][b2b], np.full(len(lost), NEVER)])
    closed = np.concatenate([won_at, prospects["lost"][lost]])
    outcome = np.repeat(["closedwon", "closedlost"], [len(b2b), len(lost)])
    company = np.concatenate([crm.customer_company[b2b], crm.prospect_company[lost]])

    def properties(at: np.ndarray) -> dict[str, Sequence[str]]:
        stages = [("closed", closed[at]), ("contractsent", contract[at])]
        stage = _stage(cutoff, stages, "appointmentscheduled")
        return {
            "dealname": [f"{_company_of(crm, o)[0]} - first order" for o in owner[at]],
            "amount": [f"{a:.2f}" for a in amount[at]],
            "dealstage": np.where(stage == "closed", outcome[at], stage),
            "closedate": _iso(closed[at], cutoff),
            "company_id": _text(company[at]),
        }

    return _table(
        _number(created, cutoff, "deals"),
        created,
        [contract, closed],
        np.concatenate([np.full(len(b2b), NEVER), prospects["deal_archived"][lost]]),
        cutoff,
        properties,
    )


# ---------------------------------------------------------------------------------------------
# Support, surveys and conversations: drawn day by day over the customers buying that day.


def _support(world: World) -> dict[str, dict[str, np.ndarray]]:
    config, calendar, customers = world.config, world.calendar, world.customers
    per_month = np.array([[s.tickets_per_month, s.engagements_per_month] for s in SEGMENTS])
    types = np.array([[s.engagement_types[t] for t in ENGAGEMENT_TYPES] for s in SEGMENTS])
    kinds: dict[str, list[dict[str, np.ndarray]]] = {"tickets": [], "engagements": [], "nps": []}
    for day in range(calendar.as_of + 1):
        known = customers.known_by(day)
        rng = rng_for(config, Stream.SUPPORT, calendar.day0 + day)
        segment = customers.segment[:known]
        alive = customers.end[:known] > day
        pace = calendar.arrival[segment, day]
        u = rng.random((known, 3)).T
        start = (calendar.day0 + day) * DAY
        ticket = np.flatnonzero(alive & (u[0] < per_month[segment, 0] * pace / 30.44))
        talk = np.flatnonzero(alive & (u[1] < per_month[segment, 1] * pace / 30.44))
        surveyed = alive & ((day - customers.nps_offset[:known]) % NPS_EVERY_DAYS == 0)
        answer = np.flatnonzero(surveyed & (u[2] < NPS_RESPONSE_RATE))

        t = rng.random((len(ticket), 14)).T
        created = start + np.round((8 + 10 * t[0]) * 3600).astype(np.int64)
        resolution = 0.05 + np.minimum(rng.exponential(1.5, len(ticket)), 20)
        closed = created + np.round(resolution * DAY).astype(np.int64)
        kinds["tickets"].append(
            {
                "customer": ticket,
                "created": created,
                "closed": closed,
                "category": (t[1] * len(vocab.TICKET_CATEGORIES)).astype(int),
                "subject": (t[2] * 3).astype(int),
                "priority": pick(rng, (0.5, 0.35, 0.15), len(ticket)),
                "csat": _at(t[3] < CSAT_RESPONSE_RATE, closed + (0.02 + 2 * t[4]) * DAY),
                "csat_u": t[5],
                "ces": _at(t[6] < CES_RESPONSE_RATE, closed + (0.03 + 2 * t[7]) * DAY),
                "ces_u": t[8],
                "csat_comment": t[9] < 0.4,
                "ces_comment": t[10] < 0.2,
                "comment": (t[11] * 6).astype(int),
                "archived": _at(t[12] < 0.005, created + (0.1 + 2 * t[13]) * DAY),
            }
        )
        e = rng.random((len(talk), 8)).T
        occurred = start + np.round((8.5 + 9 * e[0]) * 3600).astype(np.int64)
        cdf = np.cumsum(types[segment[talk]], axis=1)
        kinds["engagements"].append(
            {
                "customer": talk,
                "occurred": occurred,
                "created": occurred + np.round(e[1] * 3 * 3600).astype(np.int64),
                "type": np.minimum((e[2][:, None] >= cdf).sum(axis=1), len(ENGAGEMENT_TYPES) - 1),
                "tone": np.minimum(np.searchsorted(np.cumsum(TONE_SHARES), e[3], side="right"), 2),
                "outcome_logged": e[4] < 0.5,
                "template": (e[5] * 4).astype(int),
                "archived": _at(e[6] < 0.01, occurred + (1 + 29 * e[7]) * DAY),
            }
        )
        a = rng.random((len(answer), 4)).T
        answered = np.floor(a[0] * 6) + (7 + 15 * a[1]) / 24
        kinds["nps"].append(
            {
                "customer": answer,
                "submitted": start + np.round(answered * DAY).astype(np.int64),
                "score_u": a[2],
                "comment": (a[3] * 12).astype(int),
            }
        )
    return {kind: _stack(parts) for kind, parts in kinds.items()}


def _tickets(crm: Crm) -> ObjectTable:
    cutoff, tickets = crm.world.as_of_end, crm.support["tickets"]
    category = np.asarray(vocab.TICKET_CATEGORIES)[tickets["category"]]
    closed = tickets["closed"]

    def properties(at: np.ndarray) -> dict[str, Sequence[str]]:
        return {
            "subject": [
                vocab.TICKET_SUBJECTS[c][s]
                for c, s in zip(category[at], tickets["subject"][at], strict=True)
            ],
            "hs_pipeline_stage": np.where(closed[at] < cutoff, "closed", "open"),
            "hs_ticket_category": category[at],
            "hs_ticket_priority": np.asarray(PRIORITIES)[tickets["priority"][at]],
            "company_id": _text(crm.customer_company[tickets["customer"][at]]),
            "closed_date": _iso(closed[at], cutoff),
        }

    return _table(
        _number(tickets["created"], cutoff, "tickets"),
        tickets["created"],
        [closed],
        tickets["archived"],
        cutoff,
        properties,
    )


def _feedback(crm: Crm) -> ObjectTable:
    """CSAT and CES answers after closed tickets, then NPS answers.

    The support change of the CSAT story applies to tickets closed from its onset; NPS
    answers follow after the story's lag.
    """
    world, tickets, nps = crm.world, crm.support["tickets"], crm.support["nps"]
    cutoff, calendar, stories = world.as_of_end, world.calendar, world.config.stories
    language = np.where(world.customers.french, "fr", "en")
    onset = (calendar.day0 + calendar.anchor - stories.csat_onset_days) * DAY
    csat = _scores(
        tickets["csat_u"],
        csat_distribution(0.85),
        csat_distribution(stories.csat_satisfied_after),
        stories.csat_drop & (tickets["closed"] >= onset),
        1,
    )
    ces = _scores(tickets["ces_u"], CES_BASE, CES_BASE, np.zeros(len(csat), bool), 1)
    nps_score = _scores(
        nps["score_u"],
        nps_distribution(0.48, 0.16),
        nps_distribution(stories.nps_promoters_after, stories.nps_detractors_after),
        stories.csat_drop & (nps["submitted"] >= onset + stories.nps_lag_days * DAY),
        0,
    )
    csat_at, ces_at = tickets["csat"] < NEVER, tickets["ces"] < NEVER
    owner, ticket_ids = tickets["customer"], _number(tickets["created"], cutoff, "tickets")
    who = np.concatenate([owner[csat_at], owner[ces_at], nps["customer"]])
    kind = np.repeat(["csat", "ces", "nps"], [csat_at.sum(), ces_at.sum(), len(nps_score)])
    score = np.concatenate([csat[csat_at], ces[ces_at], nps_score])
    band = np.concatenate(
        [_band(csat[csat_at], 2, 4), _band(ces[ces_at], 3, 6), _band(nps_score, 6, 9)]
    )
    commented = np.concatenate(
        [tickets["csat_comment"][csat_at], tickets["ces_comment"][ces_at], nps["comment"] < 4]
    )
    variant = np.concatenate(
        [tickets["comment"][csat_at], tickets["comment"][ces_at], nps["comment"]]
    )
    submitted = np.concatenate([tickets["csat"][csat_at], tickets["ces"][ces_at], nps["submitted"]])
    about = np.concatenate([ticket_ids[csat_at], ticket_ids[ces_at], np.zeros(len(nps_score), int)])

    def properties(at: np.ndarray) -> dict[str, Sequence[str]]:
        return {
            "hs_survey_type": kind[at],
            "hs_response_value": score[at].astype(str),
            "hs_submission_timestamp": _iso(submitted[at]),
            "company_id": _text(crm.customer_company[who[at]]),
            "contact_id": _text(crm.contact_ids[who[at]]),
            "ticket_id": _text(about[at]),
            "hs_content": [
                vocab.COMMENTS[language[c]][b][v % 3] if wrote else ""
                for c, b, v, wrote in zip(
                    who[at], band[at], variant[at], commented[at], strict=True
                )
            ],
        }

    return _table(
        _number(submitted, cutoff, "feedback"),
        submitted,
        [],
        np.full(len(who), NEVER),
        cutoff,
        properties,
    )


def _engagements(crm: Crm) -> ObjectTable:
    world, talks = crm.world, crm.support["engagements"]
    language = np.where(world.customers.french, "fr", "en")
    who = talks["customer"]
    tone = np.asarray(vocab.TONES)[talks["tone"]]

    def properties(at: np.ndarray) -> dict[str, Sequence[str]]:
        return {
            "hs_engagement_type": np.asarray(ENGAGEMENT_TYPES)[talks["type"][at]],
            "hs_timestamp": _iso(talks["occurred"][at]),
            "company_id": _text(crm.customer_company[who[at]]),
            "contact_id": _text(crm.contact_ids[who[at]]),
            "hs_language": language[who[at]],
            "hs_body_preview": [
                vocab.CONVERSATIONS[language[c]][t][k].format(
                    name=person_name(world.customers, c)[0]
                )
                for c, t, k in zip(who[at], tone[at], talks["template"][at], strict=True)
            ],
            "hs_outcome": np.where(talks["outcome_logged"][at], tone[at], ""),
        }

    return _table(
        _number(talks["created"], world.as_of_end, "engagements"),
        talks["created"],
        [],
        talks["archived"],
        world.as_of_end,
        properties,
    )


def _reviews(crm: Crm) -> ObjectTable:
    """Online reviews, mostly by consumers, a few a day."""
    world = crm.world
    config, calendar, customers = world.config, world.calendar, world.customers
    parts = []
    for day in range(calendar.as_of + 1):
        rng = rng_for(config, Stream.REVIEWS, calendar.day0 + day)
        count = int(rng.poisson(REVIEWS_PER_DAY * config.scale))
        alive = np.flatnonzero(customers.end[: customers.known_by(day)] > day)
        count = count if len(alive) else 0
        u = rng.random((count, 6)).T
        published = (calendar.day0 + day) * DAY + np.round((7 + 16 * u[0]) * 3600)
        reviewer = pick(rng, np.where(customers.segment[alive] < 2, 0.3, 1.0), count)
        parts.append(
            {
                "customer": alive[reviewer],
                "stars": 1 + pick(rng, REVIEW_STARS, count),
                "published": published.astype(np.int64),
                "created": (published + np.round((1 + 35 * u[1]) * 3600)).astype(np.int64),
                "template": (u[2] * 2).astype(int),
                "platform": (u[3] * 2).astype(int),
                "archived": _at(u[4] < 0.03, published + (5 + 55 * u[5]) * DAY),
            }
        )
    reviews = _stack(parts)
    who = reviews["customer"]
    language = np.where(customers.french[who], "fr", "en")
    band = _band(reviews["stars"], 2, 4)
    # French speakers review on the French platform or Google, others on Trustpilot or Google.
    platform = np.where(
        reviews["platform"] == 0,
        np.where(language == "fr", "avis-verifies", "trustpilot"),
        "google",
    )

    def properties(at: np.ndarray) -> dict[str, Sequence[str]]:
        texts = [
            vocab.REVIEWS[lang][b][k]
            for lang, b, k in zip(language[at], band[at], reviews["template"][at], strict=True)
        ]
        return {
            "platform": platform[at],
            "rating": reviews["stars"][at].astype(str),
            "title": [title for title, _ in texts],
            "body": [body for _, body in texts],
            "hs_language": language[at],
            "published_at": _iso(reviews["published"][at]),
            "company_id": _text(crm.customer_company[who[at]]),
        }

    return _table(
        _number(reviews["created"], world.as_of_end, "reviews"),
        reviews["created"],
        [],
        reviews["archived"],
        world.as_of_end,
        properties,
    )


BUILDERS: dict[str, Callable[[Crm], ObjectTable]] = {
    "companies": _companies,
    "contacts": _contacts,
    "deals": _deals,
    "tickets": _tickets,
    "feedback": _feedback,
    "engagements": _engagements,
    "reviews": _reviews,
}
