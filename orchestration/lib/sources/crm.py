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

An object type that is not in the account (feedback submissions need Service Hub, the reviews
custom object may not exist) is a warning, and its table lands empty: HubSpot answers 404, or
for a name it does not know as an object type 400 "Unable to infer object type from: ..."
(``absent``).

Every read is bounded, so a faulty API ends the run with a message instead of holding it:

- ``429``, ``5xx``, a timeout or a dropped connection is retried with exponential back-off
  (honouring ``Retry-After``), each retry logged, at most ``MAX_TRIES`` tries a request;
  a ``Retry-After`` above ``MAX_RETRY_AFTER`` (HubSpot's daily limit is used up) fails at
  once, saying when to retry;
- each request waits at most ``request_timeout`` seconds for the API; the time spent on one
  object type is bounded by ``object_deadline``, the whole read by ``run_deadline``;
- a page whose ``paging.next.after`` was already answered in the same paging (the API pages
  in a loop) fails, naming the object and the cursor;
- an answer that is not JSON, or not of the shape HubSpot documents, fails naming the URL,
  the HTTP status and the first bytes of the body.

Requests are paced within HubSpot's documented rate limits (``RateLimit``: by default 100
requests in any 10 seconds, its private apps' lowest burst limit, and 4 searches a second),
shared by the tables read side by side; 0 lifts a limit, for a server that has none.

The retries are the reader's own rather than dlt's ``Client`` retries: those wait up to 300 s
a retry whatever the time left, and cannot tell a daily limit from a burst. A failed read
lands nothing and leaves dlt's cursor where it was (dlt commits neither the extracted rows nor
the moved cursor of a failed extraction): the next read starts from the same point.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import dlt
from dlt.sources.helpers.requests import Client
from requests import HTTPError, Response
from requests.exceptions import ChunkedEncodingError, Timeout
from requests.exceptions import ConnectionError as ConnectionFailed

from orchestration.lib.raw_contract import RawTable, source_tables
from orchestration.lib.sources._contract import contract_resource, incremental_cursor

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PAGE_SIZE = 100  # objects a page of a list, HubSpot's most
SEARCH_PAGE_SIZE = 200  # objects a page of a search, HubSpot's most
ASSOCIATIONS_BATCH = 1000  # ids a batch read of associations, HubSpot's most: a page in one
# HubSpot's documented rate limits for a private app (its lowest tier: Free and Starter allow
# 100 requests in any 10 seconds, Professional and Enterprise 190) and for its search
# endpoints (a few a second per account). 0 lifts a limit (a local server, say).
REQUESTS_PER_10_SECONDS = 100
SEARCHES_PER_SECOND = 4
SEARCH_WINDOW = 10_000  # HubSpot's search returns no result past this offset
# Rows handed to dlt in one Arrow batch, pages gathered: dlt's cost is per batch, not per row.
BATCH_ROWS = 10_000
DEFAULT_ERP_LINK = "erp_customer_id"
DEFAULT_REVIEWS_OBJECT = "p_reviews"  # a custom object, addressed by its short name
# Bounds of a read (the settings CRM_REQUEST_TIMEOUT_SECONDS, CRM_OBJECT_DEADLINE_SECONDS and
# CRM_RUN_DEADLINE_SECONDS), in seconds.
DEFAULT_REQUEST_TIMEOUT = 30.0
DEFAULT_OBJECT_DEADLINE = 1800.0
DEFAULT_RUN_DEADLINE = 7200.0
MAX_TRIES = 5  # of one request, the first included
BACKOFF = 1.0  # seconds before the first retry, doubled at each further one
MAX_BACKOFF = 60.0
# HubSpot's burst limits ask for seconds; a longer wait is its daily limit, reset at midnight
# in the account's time zone: waiting for it inside a run would hold the run for hours.
MAX_RETRY_AFTER = 300
BODY_START = 200  # bytes of an unexpected answer quoted in the error
RETRIED_STATUS = frozenset({429, *range(500, 600)})

# What is wrong with an answer's shape, or None: the answer is as HubSpot documents it.
Check = Callable[[Any], str | None]

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
    """The account does not have an object type (or its pipelines): see ``absent``."""


def absent(response: Response) -> bool:
    """Whether HubSpot's answer says the object type asked for is not in the account: 404, or
    400 "Unable to infer object type from: p_reviews" for a name it does not know."""
    status = response.status_code
    return status == 404 or (
        status == 400 and _message(response).startswith("Unable to infer object type")
    )


class CrmReadError(Exception):
    """The read stopped on a fault of the API; the message says where, what and what to do."""


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
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    object_deadline: float = DEFAULT_OBJECT_DEADLINE,
    run_deadline: float = DEFAULT_RUN_DEADLINE,
    backoff: float = BACKOFF,
    requests_per_10_seconds: int = REQUESTS_PER_10_SECONDS,
    searches_per_second: int = SEARCHES_PER_SECOND,
    parallel: bool = True,
) -> Iterator[Any]:
    """One resource per contract table; ``api_url`` None means the source is off.

    ``request_timeout``, ``object_deadline`` and ``run_deadline`` (seconds) bound the read: a
    request, the time spent on one object type, the whole read from its first request; a
    failed request is tried again after ``backoff`` seconds, doubled at each further try.
    With ``parallel`` the tables are read side by side (dlt's thread pool), overlapping the
    API's answer times. All requests are paced together within ``requests_per_10_seconds``
    and ``searches_per_second`` (0: no limit), which dlt also reads from its configuration
    (``SOURCES__CRM__REQUESTS_PER_10_SECONDS``, ``SOURCES__CRM__SEARCHES_PER_SECOND``).
    """
    objects = crm_objects(erp_link, reviews_object)
    api = None
    if api_url is not None:
        api = HubSpot(
            api_url,
            token,
            request_timeout=request_timeout,
            object_deadline=object_deadline,
            run_deadline=run_deadline,
            backoff=backoff,
            rate_limit=RateLimit(requests_per_10_seconds, searches_per_second),
        )
    for table in source_tables("crm").values():
        cursor = incremental_cursor(table.cursor, EPOCH, lag=lookback_days * 86_400)
        rows = None if api is None else _reader(api, table, objects[table.name])
        yield contract_resource(table, rows, cursor, parallelized=parallel)


def _reader(api: HubSpot, table: RawTable, objects: list[CrmObject]):
    def read(cursor: dlt.sources.incremental[Any]) -> Iterator[Any]:
        # Read before the first page: the cursor then moves with the rows it sees.
        since, landed = cursor.last_value, False
        pending: list[dict] = []
        for obj in objects:
            try:
                for rows in api.read(obj, since):
                    pending += rows
                    if len(pending) >= BATCH_ROWS:
                        landed = True
                        yield table.to_arrow(pending)
                        pending = []
            except NotAvailable as error:
                log.warning(
                    "CRM object %r is not available in this HubSpot account (%s): "
                    "raw_crm.%s gets none of its rows and what is built on them stays empty.%s",
                    obj.object_type,
                    error,
                    table.name,
                    _MEANING.get(table.name if table.name == "reviews" else obj.object_type, ""),
                )
        if pending or not landed:  # the table exists, with its columns, even with no row
            yield table.to_arrow(pending)

    return read


_MEANING = {
    "feedback_submissions": " Feedback submissions need Service Hub: no NPS, CSAT or CES.",
    "tickets": " Tickets need Service Hub: no CSAT after support.",
    "reviews": " Reviews are the custom object CRM_REVIEWS_OBJECT names: set it to yours, "
    "or to off.",
}


class HubSpot:
    """The HTTP calls the reader makes, retried on 429, 5xx, timeouts and dropped connections
    within the read's bounds, and what it knows of the account's pipelines (read once)."""

    def __init__(
        self,
        api_url: str,
        token: str | None,
        window: int = SEARCH_WINDOW,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        object_deadline: float = DEFAULT_OBJECT_DEADLINE,
        run_deadline: float = DEFAULT_RUN_DEADLINE,
        backoff: float = BACKOFF,
        rate_limit: RateLimit | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.window = window
        self.request_timeout = request_timeout
        self.backoff = backoff
        self.rate_limit = rate_limit or RateLimit(0, 0)
        self.clock = _Clock(object_deadline, run_deadline)
        # dlt's session (its user agent and timeout), its own retries off: see the module.
        client = Client(
            request_timeout=request_timeout,
            raise_for_status=False,
            status_codes=(),
            exceptions=(),
            request_max_attempts=1,
        )
        self.session = client.session
        # The proxies and certificates the environment sets for the API, read once: requests
        # would read the whole environment again for every request.
        found = self.session.merge_environment_settings(self.api_url, {}, None, None, None)
        self.session.proxies, self.session.verify = found["proxies"], found["verify"]
        self.session.cert, self.session.trust_env = found["cert"], False
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        self._stages: dict[str, dict[str, str]] = {}

    def call(self, method: str, path: str, check: Check | None = None, **kwargs: Any) -> Any:
        """The JSON answer to a request, once ``check`` (the answer's expected shape: None, or
        what is wrong) accepts it; faults retried within the bounds, else a ``CrmReadError``."""
        url = self.api_url + path
        where = self.clock.where()
        for attempt in range(1, MAX_TRIES + 1):
            left, bound = self.clock.left()
            if left <= 0:
                raise CrmReadError(f"{where}: {method} {url} not sent: the read reached {bound}.")
            pause = self.rate_limit.reserve(time.monotonic(), search=path.endswith("/search"))
            if pause >= left:
                raise CrmReadError(
                    f"{where}: {method} {url} not sent: the rate limit allows it in {pause:.1f} s, "
                    f"past {bound}."
                )
            if pause > 0:
                time.sleep(pause)
            try:
                left, bound = self.clock.left()
                timeout = max(round(min(self.request_timeout, left), 2), 0.01)
                response: Response = self.session.request(method, url, timeout=timeout, **kwargs)
            except (ConnectionFailed, Timeout, ChunkedEncodingError) as error:
                fault, wait = f"no answer ({type(error).__name__}: {error})", self._backoff(attempt)
            else:
                if response.status_code not in RETRIED_STATUS:
                    return self._answer(where, method, url, response, check or _json_object)
                fault = f"HTTP {response.status_code}, {_body_start(response)}"
                wait = self._wait(where, method, url, response, attempt)
            if attempt == MAX_TRIES:
                raise CrmReadError(
                    f"{where}: {method} {url} failed {MAX_TRIES} times, the last with {fault}."
                )
            left, bound = self.clock.left()
            if wait >= left:
                raise CrmReadError(
                    f"{where}: {method} {url} failed with {fault}; a retry in {wait:g} s would "
                    f"pass {bound}."
                )
            log.warning(
                "%s: %s %s failed with %s; retry %d of %d in %g s.",
                where,
                method,
                url,
                fault,
                attempt,
                MAX_TRIES - 1,
                wait,
            )
            time.sleep(wait)
        raise AssertionError("unreachable: the last try returns or raises")

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * 2 ** (attempt - 1), MAX_BACKOFF)

    def _wait(self, where: str, method: str, url: str, response: Response, attempt: int) -> float:
        """Seconds before the next try: ``Retry-After`` when the API sends one (an error
        beyond ``MAX_RETRY_AFTER``, saying when to run again), else the back-off."""
        header = response.headers.get("Retry-After", "").strip()
        seconds = _retry_after(header)
        if seconds is None:
            return self._backoff(attempt)
        if seconds > MAX_RETRY_AFTER:
            when = datetime.now(UTC) + timedelta(seconds=seconds)
            status = response.status_code
            why = " (the API's daily limit is likely used up)" if status == 429 else ""
            raise CrmReadError(
                f"{where}: {method} {url} answered HTTP {status} with Retry-After: {header}, "
                f"more than the {MAX_RETRY_AFTER} s a read waits{why}. Run again after "
                f"{when:%Y-%m-%d %H:%M:%S} UTC. The answer: {_body_start(response)}"
            )
        return seconds

    @staticmethod
    def _answer(where: str, method: str, url: str, response: Response, check: Check) -> Any:
        status = response.status_code
        if absent(response):
            raise NotAvailable(f"{status} on {method} {urlsplit(url).path}: {_message(response)}")
        if status >= 400:
            raise HTTPError(f"{status} on {method} {url}: {_message(response)}", response=response)
        try:
            body = response.json()
        except ValueError:
            problem: str | None = "a body that is not JSON"
        else:
            problem = check(body)
        if problem is None:
            return body
        raise CrmReadError(
            f"{where}: {method} {url} answered HTTP {status} with {problem}; "
            f"{_body_start(response)}"
        )

    def read(self, obj: CrmObject, since: datetime) -> Iterator[list[dict]]:
        """Contract rows of the objects changed since ``since``, then of every deleted one,
        a page at a time; the time spent reading them is charged to the object type."""
        pages = self.pages(obj, since)
        while True:
            with self.clock.reading(obj.object_type):
                page = next(pages, None)
                if page is None:
                    return
                rows = self.rows(obj, page)
            yield rows

    # -- objects ---------------------------------------------------------------------------

    def pages(self, obj: CrmObject, since: datetime) -> Iterator[list[dict]]:
        """Pages of the objects changed since ``since``, then of every deleted one."""
        yield from self.changed(obj, since)
        properties = ",".join(self._properties(obj))
        params = {"limit": PAGE_SIZE, "properties": properties}
        path = f"/crm/v3/objects/{obj.object_type}?archived=true"  # in the URL its errors name
        cursors = _Cursors(obj, f"GET {self.api_url}{path}")
        while True:
            body = self.call("GET", path, check=_objects_page(obj), params=params)
            if body.get("results"):
                yield body["results"]
            after = _after(body)
            if not after:
                return
            cursors.add(after)
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
                modified = [_modified(obj, o) for o in page]
                if any(when < bound for when in modified):
                    # the next search would start further back, and the read never end
                    raise CrmReadError(
                        f"CRM {obj.object_type}: the search for {obj.modified} >= "
                        f"{datetime.fromtimestamp(bound / 1000, UTC):%Y-%m-%d %H:%M:%S} UTC "
                        "answered objects modified before it: the API ignores the search's "
                        "filter; stopped rather than read the same objects again."
                    )
                fresh = [
                    (o, when)
                    for o, when in zip(page, modified, strict=True)
                    if when != bound or o["id"] not in read_at_bound
                ]
                for o, when in fresh:
                    last_ids = last_ids | {o["id"]} if when == last else {o["id"]}
                    last = when
                if fresh:
                    yield [o for o, _ in fresh]
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
                    last_id = int(page[-1]["id"])
                    if last_id <= after_id:
                        raise CrmReadError(
                            f"CRM {obj.object_type}: the search for hs_object_id > {after_id} "
                            f"answered up to id {last_id}: the API pages in a loop; stopped "
                            "rather than read the same objects again."
                        )
                    after_id = last_id
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
            "limit": SEARCH_PAGE_SIZE,
        }
        seen = 0
        path = f"/crm/v3/objects/{obj.object_type}/search"
        cursors = _Cursors(obj, f"POST {self.api_url}{path}")
        while True:
            answer = self.call("POST", path, check=_objects_page(obj, search=True), json=body)
            results = answer.get("results", [])
            seen += len(results)
            after = _after(answer)
            if after:
                cursors.add(after)
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
        for start in range(0, len(ids), ASSOCIATIONS_BATCH):
            batch = ids[start : start + ASSOCIATIONS_BATCH]
            inputs = [{"id": i} for i in dict.fromkeys(batch)]
            answer = self.call(
                "POST",
                f"/crm/v4/associations/{from_type}/{to_type}/batch/read",
                check=_associations,
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
                path = f"/crm/v3/pipelines/{object_type}"
                pipelines = self.call("GET", path, check=_pipelines)["results"]
            except NotAvailable as error:
                log.warning("CRM %s pipelines unreadable (%s): stage ids kept.", object_type, error)
                pipelines = []
            self._stages[object_type] = {
                stage["id"]: _stage_meaning(object_type, stage)
                for pipeline in pipelines
                for stage in pipeline.get("stages", [])
            }
        return self._stages[object_type]


class _Clock:
    """The time a read has left: under the run deadline, from the read's first request, and
    under the deadline of the object type being read, counting only the time spent on that
    type (dlt reads the tables in turn, a page each)."""

    def __init__(self, object_deadline: float, run_deadline: float) -> None:
        self.object_deadline = object_deadline
        self.run_deadline = run_deadline
        self._run_start: float | None = None
        self._spent: dict[str, float] = {}
        # The object type each thread is reading (dlt reads tables in threads of its own).
        self._reading = threading.local()

    @property
    def _object(self) -> str | None:
        return getattr(self._reading, "object", None)

    @contextmanager
    def reading(self, object_type: str) -> Iterator[None]:
        """Charges the time spent inside, in this thread, to ``object_type``."""
        self._reading.object, self._reading.start = object_type, time.monotonic()
        try:
            yield
        finally:
            self._spent[object_type] = self._spent_on(object_type)
            self._reading.object = None

    def _spent_on(self, object_type: str) -> float:
        running = time.monotonic() - self._reading.start if self._object == object_type else 0
        return self._spent.get(object_type, 0.0) + running

    def where(self) -> str:
        return "CRM" if self._object is None else f"CRM {self._object}"

    def left(self) -> tuple[float, str]:
        """Seconds left before the nearest deadline, and that deadline in words."""
        now = time.monotonic()
        if self._run_start is None:
            self._run_start = now
        left = self.run_deadline - (now - self._run_start)
        bound = f"the run's deadline of {self.run_deadline:g} s (CRM_RUN_DEADLINE_SECONDS)"
        if self._object is not None:
            object_left = self.object_deadline - self._spent_on(self._object)
            if object_left < left:
                left = object_left
                bound = (
                    f"the deadline of {self.object_deadline:g} s for one object type "
                    "(CRM_OBJECT_DEADLINE_SECONDS)"
                )
        return left, bound


class RateLimit:
    """At most ``requests_per_10_seconds`` requests in any 10 seconds and, of them, at most
    ``searches_per_second`` searches in any second (0: no such limit): sliding windows, as
    HubSpot counts. Shared by the threads of a read; ``reserve`` books a request's moment."""

    def __init__(self, requests_per_10_seconds: int, searches_per_second: int) -> None:
        # window → (requests allowed, seconds); each window's booked moments, the latest last
        limits = {"all": (requests_per_10_seconds, 10.0), "search": (searches_per_second, 1.0)}
        self._limits = {name: limit for name, limit in limits.items() if limit[0] > 0}
        self._booked = {name: deque(maxlen=n) for name, (n, _) in self._limits.items()}
        self._lock = threading.Lock()

    def reserve(self, now: float, search: bool = False) -> float:
        """Seconds from ``now`` until a request may be sent, its moment booked: the earliest,
        no earlier than any booked, with fewer than each limit in the window before it."""
        names = [name for name in self._limits if search or name != "search"]
        with self._lock:
            at = now
            for name in names:
                booked, (allowed, seconds) = self._booked[name], self._limits[name]
                if booked:
                    at = max(at, booked[-1])
                if len(booked) == allowed:
                    at = max(at, booked[0] + seconds)
            for name in names:
                self._booked[name].append(at)
        return at - now


class _Cursors:
    """The ``paging.next.after`` cursors one paging has answered: one answered again means the
    API pages in a loop, which would read the same pages for ever."""

    def __init__(self, obj: CrmObject, request: str) -> None:
        self.obj = obj
        self.request = request
        self.seen: set[str] = set()

    def add(self, after: str) -> None:
        if after in self.seen:
            raise CrmReadError(
                f"CRM {self.obj.object_type}: the API pages in a loop: {self.request} answered "
                f"paging.next.after={after!r} on page {len(self.seen) + 1}, a cursor it had "
                "already answered; stopped rather than read the same pages again."
            )
        self.seen.add(after)


def _retry_after(header: str) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None when
    there is none or it cannot be read."""
    if not header:
        return None
    if header.isdigit():
        return float(header)
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max((moment - datetime.now(UTC)).total_seconds(), 0.0)


def _body_start(response: Response) -> str:
    content = response.content or b""
    start = content[:BODY_START].decode("utf-8", errors="replace")
    more = f" of {len(content)}" if len(content) > BODY_START else ""
    return f"the body begins {start!r} ({min(len(content), BODY_START)}{more} bytes)"


# -- the shapes of HubSpot's answers: each check says what is wrong, or None -------------------


def _json_object(body: Any) -> str | None:
    if not isinstance(body, dict):
        return f"a JSON {type(body).__name__} where an object is expected"
    return None


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        _timestamp(value)
    except ValueError:
        return False
    return True


def _objects_page(obj: CrmObject, search: bool = False) -> Check:
    """A page of a list or a search: ``results`` of CRM objects and an optional cursor (a
    search's counts its results, as HubSpot's does)."""

    def check(body: Any) -> str | None:
        if problem := _json_object(body):
            return problem
        results = body.get("results", [])
        if not isinstance(results, list):
            return "`results` that is not a list"
        for o in results:
            if not isinstance(o, dict) or not isinstance(o.get("id"), str | int):
                return "a result without an `id`"
            properties = o.get("properties") or {}
            if not isinstance(properties, dict):
                return f"object {o['id']}: `properties` that is not an object"
            times = [o.get("updatedAt"), *(o[k] for k in ("createdAt", "archivedAt") if o.get(k))]
            if properties.get(obj.modified):
                times.append(properties[obj.modified])
            if not all(_is_time(t) for t in times):
                return f"object {o['id']}: a date that is not an ISO 8601 time or epoch millis"
        paging = body.get("paging") or {}
        following = (paging.get("next") or {}) if isinstance(paging, dict) else None
        if not isinstance(following, dict) or not isinstance(following.get("after", ""), str | int):
            return "a `paging` that is not `{next: {after: cursor}}`"
        if search and not str(following.get("after", "0")).isdigit():
            return "a search cursor `paging.next.after` that is not an offset"
        if search and not isinstance(body.get("total", 0), int):
            return "a `total` that is not a number"
        return None

    return check


def _after(body: dict) -> str | None:
    """The next page's cursor of a checked page, if any."""
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


def _associations(body: Any) -> str | None:
    if problem := _json_object(body):
        return problem
    results = body.get("results", [])
    if not isinstance(results, list):
        return "`results` that is not a list"
    for result in results:
        if not (
            isinstance(result, dict)
            and isinstance(result.get("from"), dict)
            and "id" in result["from"]
            and isinstance(result.get("to", []), list)
            and all(
                isinstance(target, dict)
                and str(target.get("toObjectId", "")).isdigit()
                and isinstance(target.get("associationTypes", []), list)
                and all(isinstance(kind, dict) for kind in target.get("associationTypes", []))
                for target in result.get("to", [])
            )
        ):
            return "an association that is not `{from: {id}, to: [{toObjectId}]}`"
    return None


def _pipelines(body: Any) -> str | None:
    if problem := _json_object(body):
        return problem
    pipelines = body.get("results")
    if not isinstance(pipelines, list) or not all(
        isinstance(pipeline, dict)
        and isinstance(pipeline.get("stages", []), list)
        and all(
            isinstance(stage, dict)
            and "id" in stage
            and isinstance(stage.get("metadata", {}), dict)
            for stage in pipeline.get("stages", [])
        )
        for pipeline in pipelines
    ):
        return "`results` that are not pipelines with their stages"
    return None


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
        **{column: _text(properties.get(name)) for column, name in obj.properties.items()},
        **obj.constants,
        "id": str(o["id"]),
        "created_at": _timestamp(o.get("createdAt")) if o.get("createdAt") else None,
        "updated_at": updated,
        "archived": bool(o.get("archived", False)),
    }


def _text(value: Any) -> str:
    """A property as raw keeps it: HubSpot's text, or the JSON text of a number or flag that an
    API sent as one (5, 0, true), rather than a read that fails or a 0 that lands empty."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _link_type(obj: CrmObject, column: str) -> str:
    return next(link.to for link in obj.links if link.column == column)


def _filter(name: str, operator: str, value: int) -> dict:
    return {"propertyName": name, "operator": operator, "value": str(value)}


def _modified(obj: CrmObject, o: dict) -> int:
    value = (o.get("properties") or {}).get(obj.modified) or o["updatedAt"]
    return _millis(_timestamp(value))


def _millis(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


# Cached: an object's times are read when its page is checked and again when it becomes a
# row, and many objects share a time.
@functools.lru_cache(maxsize=1 << 16)
def _timestamp(value: str) -> datetime:
    if value.isdigit():  # some HubSpot date properties come as epoch milliseconds
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    return datetime.fromisoformat(value)


def _message(response: Response) -> str:
    try:
        return str(response.json().get("message", response.text))
    except ValueError:
        return response.text[:200]
