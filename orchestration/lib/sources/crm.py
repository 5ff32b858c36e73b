"""The CRM, read from HubSpot's CRM v3 API as it is (or the demo company's copy of it).

Each contract table is fed by one or more HubSpot object types (``CRM_OBJECTS``):

- changes come through the search endpoint (``POST /crm/v3/objects/{type}/search``), filtered
  on the last-modified date from the cursor, sorted ascending and paged with ``after``. A
  search returns at most 10,000 results: when its window is used up the search starts again
  from the last modified date seen, skipping the objects already read at that instant (and,
  should one instant hold a whole window, pages through that instant by object id);
- deleted objects are not searchable: they come from the list endpoint with ``archived=true``;
- links between objects (contact, company, deal, ticket) come from the v4 associations batch
  read, a "Primary" association first;
- deal and ticket stage ids are resolved through ``GET /crm/v3/pipelines/{deals|tickets}``, so
  the contract's stage columns keep their meaning whatever pipelines the account has.

An object type that answers 404 (not in this account: feedback submissions need Service Hub,
the reviews custom object may not exist) is a warning, and its table lands empty. ``429``
(honouring ``Retry-After``) and ``5xx`` are retried with exponential back-off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources.helpers.requests import Client
from requests import HTTPError, Response

from orchestration.lib.raw_contract import RawTable, source_tables
from orchestration.lib.sources._contract import contract_resource, incremental_cursor

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAGE_SIZE = 100  # objects a page; a page's associations are then read in one batch
SEARCH_WINDOW = 10_000  # HubSpot's search returns no result past this offset
DEFAULT_ERP_LINK = "erp_customer_id"
DEFAULT_REVIEWS_OBJECT = "p_reviews"  # a custom object, addressed by its short name

# HubSpot-defined primary associations: contact, deal and ticket to their primary company.
PRIMARY_TYPE_IDS = {1, 5, 339}
# HubSpot's "original source" of a contact, as the contract's acquisition channels.
CHANNELS = {
    "ORGANIC_SEARCH": "organic",
    "PAID_SEARCH": "paid_search",
    "SOCIAL_MEDIA": "social",
    "PAID_SOCIAL": "social",
    "REFERRALS": "referral",
    "EMAIL_MARKETING": "email",
    "DIRECT_TRAFFIC": "direct",
    "OFFLINE": "offline",
    "OTHER_CAMPAIGNS": "other",
}


class NotAvailable(Exception):
    """The account answers 404 for an object type (or its pipelines)."""


@dataclass(frozen=True)
class Link:
    """A contract column holding the id of an associated object: the object's own
    association to ``to``, or (``via`` another link column) that object's association."""

    column: str
    to: str
    via: str | None = None


@dataclass(frozen=True)
class CrmObject:
    """One HubSpot object type feeding a contract table."""

    object_type: str
    properties: dict[str, str]  # contract column → HubSpot property
    links: tuple[Link, ...] = ()
    modified: str = "hs_lastmodifieddate"
    constants: dict[str, str] = field(default_factory=dict)  # e.g. the engagement type
    pipelines: str | None = None  # "deals" or "tickets": the stage column is resolved


def crm_objects(
    erp_link: str = DEFAULT_ERP_LINK, reviews_object: str | None = DEFAULT_REVIEWS_OBJECT
) -> dict[str, list[CrmObject]]:
    """Contract table → the HubSpot object types read into it.

    ``erp_link`` names the company property holding the ERP customer number; ``domain``
    reads none, and staging links a company to the ERP customer at its domain. Contacts (a
    consumer buys as themselves) carry it in the contact property of the same name, or
    ``erp_customer_id`` when the companies are linked by domain.
    ``reviews_object`` is the custom object holding online reviews (None: no reviews).
    """
    erp = {} if erp_link == "domain" else {"erp_customer_id": erp_link}
    contact_erp = {"erp_customer_id": DEFAULT_ERP_LINK if erp_link == "domain" else erp_link}
    company = Link("company_id", "companies")
    contact = Link("contact_id", "contacts")
    engagements = [
        CrmObject(
            name,
            {
                "hs_timestamp": "hs_timestamp",
                "hs_body_preview": body,
                "hs_language": "conversation_language",
                "hs_outcome": "conversation_outcome",
            },
            (company, contact),
            constants={"hs_engagement_type": kind},
        )
        for name, kind, body in (
            ("calls", "CALL", "hs_call_body"),
            ("emails", "EMAIL", "hs_email_text"),
            ("meetings", "MEETING", "hs_meeting_body"),
            ("notes", "NOTE", "hs_note_body"),
        )
    ]
    objects = {
        "companies": [
            CrmObject(
                "companies",
                {
                    "name": "name",
                    "domain": "domain",
                    "industry": "industry",
                    "lifecyclestage": "lifecyclestage",
                    **erp,
                },
            )
        ],
        "contacts": [
            CrmObject(
                "contacts",
                {
                    "email": "email",
                    "firstname": "firstname",
                    "lastname": "lastname",
                    "lifecyclestage": "lifecyclestage",
                    "lead_source": "hs_analytics_source",
                    "createdate": "createdate",
                    **contact_erp,
                },
                (company,),
                modified="lastmodifieddate",
            )
        ],
        "deals": [
            CrmObject(
                "deals",
                {
                    "dealname": "dealname",
                    "amount": "amount",
                    "dealstage": "dealstage",
                    "closedate": "closedate",
                },
                (company,),
                pipelines="deals",
            )
        ],
        "tickets": [
            CrmObject(
                "tickets",
                {
                    "subject": "subject",
                    "hs_pipeline_stage": "hs_pipeline_stage",
                    "hs_ticket_category": "hs_ticket_category",
                    "hs_ticket_priority": "hs_ticket_priority",
                    "closed_date": "closed_date",
                },
                (company,),
                pipelines="tickets",
            )
        ],
        "feedback": [
            CrmObject(
                "feedback_submissions",
                {
                    "hs_survey_type": "hs_survey_type",
                    "hs_response_value": "hs_value",
                    "hs_submission_timestamp": "hs_submission_timestamp",
                    "hs_content": "hs_content",
                },
                (
                    contact,
                    Link("ticket_id", "tickets"),
                    # a submission's company: its contact's
                    Link("company_id", "companies", via="contact_id"),
                ),
            )
        ],
        "engagements": engagements,
        "reviews": [],
    }
    if reviews_object:
        objects["reviews"] = [
            CrmObject(
                reviews_object,
                {
                    "platform": "platform",
                    "rating": "rating",
                    "title": "title",
                    "body": "body",
                    "hs_language": "language",
                    "published_at": "published_at",
                },
                (company,),
            )
        ]
    return objects


@dlt.source(name="crm")
def crm_source(
    api_url: str | None = None,
    token: str | None = None,
    lookback_days: float = 3,
    erp_link: str = DEFAULT_ERP_LINK,
    reviews_object: str | None = DEFAULT_REVIEWS_OBJECT,
) -> Iterator[Any]:
    """One resource per contract table; ``api_url`` None means the source is off."""
    objects = crm_objects(erp_link, reviews_object)
    api = None if api_url is None else HubSpot(api_url, token)
    for table in source_tables("crm").values():
        cursor = incremental_cursor(table.cursor, EPOCH, lag=lookback_days * 86_400)
        rows = None if api is None else _reader(api, table, objects[table.name])
        yield contract_resource(table, rows, cursor)


def _reader(api: HubSpot, table: RawTable, objects: list[CrmObject]):
    def read(cursor: dlt.sources.incremental[Any]) -> Iterator[Any]:
        # Read before the first page: the cursor then moves with the rows it sees.
        since, landed = cursor.last_value, False
        for obj in objects:
            try:
                for page in api.pages(obj, since):
                    landed = True
                    yield table.to_arrow(api.rows(obj, page))
            except NotAvailable as error:
                log.warning(
                    "CRM object %r is not available in this HubSpot account (%s): "
                    "raw_crm.%s gets none of its rows and what is built on them stays empty.%s",
                    obj.object_type,
                    error,
                    table.name,
                    _MEANING.get(obj.object_type, ""),
                )
        if not landed:  # the table exists, with its columns, even with nothing to land
            yield table.to_arrow([])

    return read


_MEANING = {
    "feedback_submissions": " Feedback submissions need Service Hub: no NPS, CSAT or CES.",
    "tickets": " Tickets need Service Hub: no CSAT after support.",
}


class HubSpot:
    """The HTTP calls the reader makes, retried on 429 and 5xx, and what it knows of the
    account's pipelines (read once)."""

    def __init__(self, api_url: str, token: str | None, window: int = SEARCH_WINDOW) -> None:
        self.api_url = api_url.rstrip("/")
        self.window = window
        self.session = Client(raise_for_status=False).session
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self._stages: dict[str, dict[str, str]] = {}

    def call(self, method: str, path: str, **kwargs: Any) -> dict:
        response: Response = self.session.request(method, self.api_url + path, **kwargs)
        if response.status_code == 404:
            raise NotAvailable(f"404 on {method} {path}: {_message(response)}")
        if response.status_code >= 400:
            raise HTTPError(
                f"{response.status_code} on {method} {path}: {_message(response)}",
                response=response,
            )
        return response.json()

    # -- objects ---------------------------------------------------------------------------

    def pages(self, obj: CrmObject, since: datetime) -> Iterator[list[dict]]:
        """Pages of the objects changed since ``since``, then of every deleted one."""
        yield from self.changed(obj, since)
        properties = ",".join(self._properties(obj))
        params = {"limit": PAGE_SIZE, "archived": "true", "properties": properties}
        while True:
            body = self.call("GET", f"/crm/v3/objects/{obj.object_type}", params=params)
            if body.get("results"):
                yield body["results"]
            after = body.get("paging", {}).get("next", {}).get("after")
            if not after:
                return
            params = {**params, "after": after}

    def changed(self, obj: CrmObject, since: datetime) -> Iterator[list[dict]]:
        """Objects modified at or after ``since``, each once, in modified-date order.

        A search window ends at 10,000 results: the next search starts at the last modified
        date read, leaving out the objects already read at that date. Should a whole window
        share one date, that date is read alone, by object id.
        """
        bound = _millis(since)
        read_at_bound: set[str] = set()
        while True:
            last, last_ids, complete = bound, set(read_at_bound), True
            for page, done in self._search(obj, [_filter(obj.modified, "GTE", bound)]):
                complete = done
                fresh = [
                    o for o in page if _modified(obj, o) != bound or o["id"] not in read_at_bound
                ]
                for o in fresh:
                    when = _modified(obj, o)
                    last_ids = last_ids | {o["id"]} if when == last else {o["id"]}
                    last = when
                if fresh:
                    yield fresh
            if complete:
                return
            if last == bound:  # a whole window at one instant: read it by id, then go on
                yield from self._instant(obj, bound, skip=last_ids)
                bound, read_at_bound = bound + 1, set()
            else:
                bound, read_at_bound = last, last_ids

    def _instant(self, obj: CrmObject, moment: int, skip: set[str]) -> Iterator[list[dict]]:
        after_id = 0
        while True:
            filters = [_filter(obj.modified, "EQ", moment), _filter("hs_object_id", "GT", after_id)]
            complete = True
            for page, done in self._search(obj, filters, sort="hs_object_id"):
                complete = done
                if page:
                    after_id = int(page[-1]["id"])
                fresh = [o for o in page if o["id"] not in skip]
                if fresh:
                    yield fresh
            if complete:
                return

    def _search(
        self, obj: CrmObject, filters: list[dict], sort: str | None = None
    ) -> Iterator[tuple[list[dict], bool]]:
        """The pages of one search up to the end of its window, each with whether the search
        is complete once it is read: not when the window ends it (the next page would start
        past it, or the pages end while ``total`` counts more)."""
        body = {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort or obj.modified, "direction": "ASCENDING"}],
            "properties": self._properties(obj),
            "limit": PAGE_SIZE,
        }
        seen = 0
        path = f"/crm/v3/objects/{obj.object_type}/search"
        while True:
            answer = self.call("POST", path, json=body)
            results = answer.get("results", [])
            seen += len(results)
            after = answer.get("paging", {}).get("next", {}).get("after")
            cut = bool(after) and int(after) >= self.window
            if after and not cut:
                yield results, False
                body = {**body, "after": after}
                continue
            yield results, not cut and seen >= int(answer.get("total", seen))
            return

    @staticmethod
    def _properties(obj: CrmObject) -> list[str]:
        return sorted({*obj.properties.values(), obj.modified})

    # -- rows ------------------------------------------------------------------------------

    def rows(self, obj: CrmObject, page: list[dict]) -> list[dict]:
        """A page of HubSpot objects as contract rows, links and stages resolved."""
        rows = [_row(obj, o) for o in page]
        for link in obj.links:
            source = [row[link.via] for row in rows] if link.via else [row["id"] for row in rows]
            from_type = _link_type(obj, link.via) if link.via else obj.object_type
            linked = self.associations(from_type, link.to, [i for i in source if i])
            for row, from_id in zip(rows, source, strict=True):
                row[link.column] = linked.get(from_id, "") if from_id else ""
        if obj.pipelines:
            stages = self.stages(obj.pipelines)
            column = "dealstage" if obj.pipelines == "deals" else "hs_pipeline_stage"
            for row in rows:
                row[column] = stages.get(row[column], row[column])
        if "lead_source" in obj.properties:
            for row in rows:
                source = row["lead_source"]
                row["lead_source"] = CHANNELS.get(source, source.lower()) if source else source
        return rows

    def associations(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, str]:
        """The associated ``to_type`` id of each of ``ids``: the primary one when there is
        one, else the lowest id."""
        if not ids:
            return {}
        linked: dict[str, str] = {}
        for start in range(0, len(ids), PAGE_SIZE):
            inputs = [{"id": i} for i in dict.fromkeys(ids[start : start + PAGE_SIZE])]
            answer = self.call(
                "POST",
                f"/crm/v4/associations/{from_type}/{to_type}/batch/read",
                json={"inputs": inputs},
            )
            for result in answer.get("results", []):
                targets = sorted(
                    result.get("to", []), key=lambda t: (not _primary(t), int(t["toObjectId"]))
                )
                if targets:
                    linked[str(result["from"]["id"])] = str(targets[0]["toObjectId"])
        return linked

    def stages(self, object_type: str) -> dict[str, str]:
        """Stage id → what the contract's stage column says of it.

        Tickets: ``open`` or ``closed`` (the stage's ticketState). Deals: ``closedwon`` or
        ``closedlost`` for a closed stage (won when its probability is above 0), else the
        stage id, as HubSpot's default sales pipeline names its stages.
        """
        if object_type not in self._stages:
            try:
                pipelines = self.call("GET", f"/crm/v3/pipelines/{object_type}")["results"]
            except NotAvailable as error:
                log.warning("CRM %s pipelines unreadable (%s): stage ids kept.", object_type, error)
                pipelines = []
            self._stages[object_type] = {
                stage["id"]: _stage_meaning(object_type, stage)
                for pipeline in pipelines
                for stage in pipeline.get("stages", [])
            }
        return self._stages[object_type]


def _primary(target: dict) -> bool:
    """A primary association: by its type id (HubSpot asks integrations not to rely on
    labels, which it renamed), or a label that says so."""
    return any(
        kind.get("typeId") in PRIMARY_TYPE_IDS or "primary" in str(kind.get("label") or "").lower()
        for kind in target.get("associationTypes", [])
    )


def _stage_meaning(object_type: str, stage: dict) -> str:
    metadata = stage.get("metadata", {})
    closed = str(metadata.get("isClosed", "false")).lower() == "true"
    if object_type == "tickets":
        closed = closed or metadata.get("ticketState") == "CLOSED"
        return "closed" if closed else "open"
    if not closed:
        return stage["id"]
    return "closedwon" if float(metadata.get("probability") or 0) > 0 else "closedlost"


def _row(obj: CrmObject, o: dict) -> dict:
    """A HubSpot object as a contract row: its envelope and the properties the contract maps.

    A deleted object's version is dated by its deletion, so that it reaches raw as a change.
    """
    properties = o.get("properties") or {}
    updated = _timestamp(o["updatedAt"])
    if o.get("archived") and o.get("archivedAt"):
        updated = max(updated, _timestamp(o["archivedAt"]))
    return {
        **{column: properties.get(name) or "" for column, name in obj.properties.items()},
        **obj.constants,
        "id": str(o["id"]),
        "created_at": _timestamp(o.get("createdAt")) if o.get("createdAt") else None,
        "updated_at": updated,
        "archived": bool(o.get("archived", False)),
    }


def _link_type(obj: CrmObject, column: str) -> str:
    return next(link.to for link in obj.links if link.column == column)


def _filter(name: str, operator: str, value: int) -> dict:
    return {"propertyName": name, "operator": operator, "value": str(value)}


def _modified(obj: CrmObject, o: dict) -> int:
    value = (o.get("properties") or {}).get(obj.modified) or o["updatedAt"]
    return _millis(_timestamp(value))


def _millis(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def _timestamp(value: str) -> datetime:
    if value.isdigit():  # some HubSpot date properties come as epoch milliseconds
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    return datetime.fromisoformat(value)


def _message(response: Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text[:200]
