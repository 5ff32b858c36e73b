"""HubSpot's CRM API, as its public reference describes it, over the demo company's CRM store
(standard library only).

The store holds the demo's objects in the shape of the raw contract (``crm_objects``); this
server shows them as HubSpot does, so the reader that runs on the demo runs on HubSpot:

- ``GET /crm/v3/objects/{type}``: a list page (``limit`` ≤ 100, ``after``, ``properties``,
  ``archived=true`` for deleted objects instead of live ones), in id order;
- ``POST /crm/v3/objects/{type}/search``: live objects filtered (one filter group; ``EQ``,
  ``GT``, ``GTE``, ``LT``, ``LTE`` on the last-modified date or ``hs_object_id``), sorted on
  one of them, ``limit`` ≤ 200, paged by an ``after`` offset that stops at ``search_window``
  (10,000 at HubSpot) while ``total`` still counts every match;
- ``POST /crm/v4/associations/{from}/{to}/batch/read``: the associated ids, with their types;
- ``GET /crm/v3/pipelines/{deals|tickets}``: HubSpot's default sales and support pipelines.

Object types: companies, contacts, deals, tickets, feedback_submissions, calls, emails,
meetings, notes (the store's engagements, by type) and ``p_reviews``, a custom object for
the online reviews. ``disabled`` types answer 404, as in an account without them. A
configured token is required as ``Authorization: Bearer <token>`` (401 otherwise).
``inject_fault`` makes the next requests fail (e.g. 429 with ``Retry-After``) to test
clients. Run ``python -m demo_company.crm_server --db crm.sqlite`` to serve a store in the
foreground.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

OBJECTS = re.compile(r"^/crm/v3/objects/(?P<type>[A-Za-z0-9_-]+)(?P<search>/search)?/?$")
ASSOCIATIONS = re.compile(r"^/crm/v4/associations/(?P<from>[\w-]+)/(?P<to>[\w-]+)/batch/read/?$")
PIPELINES = re.compile(r"^/crm/v3/pipelines/(?P<type>[A-Za-z_]+)/?$")
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
MAX_SEARCH_LIMIT = 200
SEARCH_WINDOW = 10_000
ERROR_CATEGORY = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    429: "RATE_LIMITS",
}

# HubSpot's "original source" values for the demo's acquisition channels.
ORIGINAL_SOURCE = {
    "organic": "ORGANIC_SEARCH",
    "paid_search": "PAID_SEARCH",
    "social": "SOCIAL_MEDIA",
    "referral": "REFERRALS",
    "email": "EMAIL_MARKETING",
}
# HubSpot's default support pipeline: stage "1" is New, "4" Closed.
TICKET_STAGE = {"open": "1", "closed": "4"}
CREATED_AT = "2024-01-01T00:00:00.000Z"  # of the pipelines and stages


def _company(p: dict) -> dict:
    keep = ("name", "domain", "industry", "erp_customer_id", "lifecyclestage")
    return {k: p[k] for k in keep}


def _contact(p: dict) -> dict:
    keep = ("email", "firstname", "lastname", "lifecyclestage", "erp_customer_id", "createdate")
    source = p["lead_source"]
    return {k: p[k] for k in keep} | {"hs_analytics_source": ORIGINAL_SOURCE.get(source, source)}


def _deal(p: dict) -> dict:
    keep = ("dealname", "amount", "dealstage", "closedate")
    return {k: p[k] for k in keep} | {"pipeline": "default"}


def _ticket(p: dict) -> dict:
    keep = ("subject", "hs_ticket_category", "hs_ticket_priority", "closed_date")
    stage = TICKET_STAGE.get(p["hs_pipeline_stage"], p["hs_pipeline_stage"])
    return {k: p[k] for k in keep} | {"hs_pipeline": "0", "hs_pipeline_stage": stage}


def _submission(p: dict) -> dict:
    return {
        "hs_survey_type": p["hs_survey_type"].upper(),
        "hs_value": p["hs_response_value"],
        "hs_submission_timestamp": p["hs_submission_timestamp"],
        "hs_content": p["hs_content"],
    }


def _engagement(body: str) -> Callable[[dict], dict]:
    def properties(p: dict) -> dict:
        return {
            "hs_timestamp": p["hs_timestamp"],
            body: p["hs_body_preview"],
            "conversation_language": p["hs_language"],
            "conversation_outcome": p["hs_outcome"],
        }

    return properties


def _review(p: dict) -> dict:
    keep = ("platform", "rating", "title", "body", "published_at")
    return {k: p[k] for k in keep} | {"language": p["hs_language"]}


@dataclass(frozen=True)
class Served:
    """A HubSpot object type served from a table of the store."""

    store: str
    properties: Callable[[dict], dict]  # store properties → HubSpot properties
    modified: str = "hs_lastmodifieddate"
    engagement_type: str | None = None  # the store's engagements of that type only


SERVED = {
    "companies": Served("companies", _company),
    "contacts": Served("contacts", _contact, modified="lastmodifieddate"),
    "deals": Served("deals", _deal),
    "tickets": Served("tickets", _ticket),
    "feedback_submissions": Served("feedback", _submission),
    "calls": Served("engagements", _engagement("hs_call_body"), engagement_type="CALL"),
    "emails": Served("engagements", _engagement("hs_email_text"), engagement_type="EMAIL"),
    "meetings": Served("engagements", _engagement("hs_meeting_body"), engagement_type="MEETING"),
    "notes": Served("engagements", _engagement("hs_note_body"), engagement_type="NOTE"),
    "p_reviews": Served("reviews", _review),
}

# (from, to) → the store property holding the associated id, and the association types
# HubSpot reports for it: (typeId, label), the primary one first where HubSpot has one.
LINKS: dict[tuple[str, str], tuple[str, list[tuple[int, str | None]]]] = {
    ("contacts", "companies"): ("company_id", [(1, "Primary"), (279, None)]),
    ("deals", "companies"): ("company_id", [(5, "Primary"), (341, None)]),
    ("tickets", "companies"): ("company_id", [(339, "Primary"), (26, None)]),
    ("feedback_submissions", "contacts"): ("contact_id", [(0, None)]),
    ("feedback_submissions", "tickets"): ("ticket_id", [(0, None)]),
    ("calls", "companies"): ("company_id", [(182, None)]),
    ("calls", "contacts"): ("contact_id", [(194, None)]),
    ("emails", "companies"): ("company_id", [(186, None)]),
    ("emails", "contacts"): ("contact_id", [(198, None)]),
    ("meetings", "companies"): ("company_id", [(188, None)]),
    ("meetings", "contacts"): ("contact_id", [(200, None)]),
    ("notes", "companies"): ("company_id", [(190, None)]),
    ("notes", "contacts"): ("contact_id", [(202, None)]),
    ("p_reviews", "companies"): ("company_id", [(0, None)]),
}


def _stage(stage_id: str, label: str, order: int, metadata: dict) -> dict:
    return {
        "id": stage_id,
        "label": label,
        "displayOrder": order,
        "metadata": metadata,
        "createdAt": CREATED_AT,
        "updatedAt": CREATED_AT,
        "archived": False,
    }


def _pipeline(pipeline_id: str, label: str, stages: list[dict]) -> dict:
    return {
        "id": pipeline_id,
        "label": label,
        "displayOrder": 0,
        "stages": stages,
        "createdAt": CREATED_AT,
        "updatedAt": CREATED_AT,
        "archived": False,
    }


PIPELINE_DEFINITIONS = {
    "deals": [
        _pipeline(
            "default",
            "Sales Pipeline",
            [
                _stage(stage_id, label, order, {"isClosed": closed, "probability": probability})
                for order, (stage_id, label, closed, probability) in enumerate(
                    [
                        ("appointmentscheduled", "Appointment Scheduled", "false", "0.2"),
                        ("qualifiedtobuy", "Qualified To Buy", "false", "0.4"),
                        ("presentationscheduled", "Presentation Scheduled", "false", "0.6"),
                        ("decisionmakerboughtin", "Decision Maker Bought-In", "false", "0.8"),
                        ("contractsent", "Contract Sent", "false", "0.9"),
                        ("closedwon", "Closed Won", "true", "1.0"),
                        ("closedlost", "Closed Lost", "true", "0.0"),
                    ]
                )
            ],
        )
    ],
    "tickets": [
        _pipeline(
            "0",
            "Support Pipeline",
            [
                _stage(stage_id, label, order, {"ticketState": state, "isClosed": closed})
                for order, (stage_id, label, state, closed) in enumerate(
                    [
                        ("1", "New", "OPEN", "false"),
                        ("2", "Waiting on contact", "OPEN", "false"),
                        ("3", "Waiting on us", "OPEN", "false"),
                        ("4", "Closed", "CLOSED", "true"),
                    ]
                )
            ],
        )
    ],
}


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(status: int, message: str) -> dict:
    """A HubSpot-like error document."""
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": ERROR_CATEGORY.get(status, "INTERNAL_ERROR"),
    }
    if status == 429:
        body |= {"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"}
    return body


def millis(value: str) -> int:
    """A store timestamp ('YYYY-MM-DDTHH:MM:SSZ') or a filter value (epoch milliseconds or
    ISO 8601) as epoch milliseconds."""
    try:
        if value.lstrip("-").isdigit():
            return int(value)
        moment = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError as error:
        raise ApiError(400, f"not a timestamp: {value!r}") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def api_time(value: str) -> str:
    """A store timestamp as HubSpot writes object times, with milliseconds."""
    return value.replace("Z", ".000Z") if value.endswith("Z") and "." not in value else value


@dataclass(frozen=True)
class Catalogue:
    """The objects of one served type, live and deleted apart, as sorted keys: what searches
    and listings need without reading properties."""

    live: list[tuple[int, int]]  # (modified ms, id), sorted
    archived: list[int]  # ids, sorted
    live_ids: list[int]  # sorted


class CrmServer:
    """The CRM API on a loopback port in a background thread; a context manager."""

    def __init__(
        self,
        crm_db: Path,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        search_window: int = SEARCH_WINDOW,
        disabled: tuple[str, ...] = (),
    ) -> None:
        self.crm_db = Path(crm_db)
        self.token = token
        self.host = host
        self.port = port
        self.search_window = search_window
        self.disabled = set(disabled)
        self._requests = 0
        self._log: list[tuple[str, str]] = []
        self._faults: deque[tuple[int, int | None]] = deque()
        self._lock = threading.Lock()
        self._catalogues: dict[str, Catalogue] = {}
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the CRM server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> int:
        """Requests served so far, failed ones included."""
        with self._lock:
            return self._requests

    @property
    def served(self) -> list[tuple[str, str]]:
        """(method, path) of every request served so far."""
        with self._lock:
            return list(self._log)

    def inject_fault(self, status: int, times: int = 1, retry_after: int | None = None) -> None:
        """The next ``times`` requests answer ``status`` (with ``Retry-After`` when given)."""
        with self._lock:
            self._faults.extend([(status, retry_after)] * times)

    def start(self) -> CrmServer:
        if self._httpd is not None:
            return self
        handler = type("Handler", (_Handler,), {"api": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None
        with self._lock:
            opened, self._opened = self._opened, []
        for db in opened:
            db.close()

    def __enter__(self) -> CrmServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the command line)."""
        handler = type("Handler", (_Handler,), {"api": self})
        with ThreadingHTTPServer((self.host, self.port), handler) as httpd:
            self._httpd = httpd
            print(f"CRM API of {self.crm_db} on {self.url}/crm/v3/objects/", flush=True)
            try:
                httpd.serve_forever()
            except KeyboardInterrupt:
                pass
            finally:
                self._httpd = None

    # -- request handling ------------------------------------------------------------------

    def _next_fault(self, method: str, path: str) -> tuple[int, int | None] | None:
        with self._lock:
            self._requests += 1
            self._log.append((method, urlsplit(path).path))
            return self._faults.popleft() if self._faults else None

    def respond(
        self, method: str, path: str, authorization: str | None, body: bytes = b""
    ) -> tuple[int, dict, dict[str, str]]:
        """(status, JSON body, extra headers) for a request."""
        fault = self._next_fault(method, path)
        if fault is not None:
            status, retry_after = fault
            headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
            message = "You have reached your ten_secondly_rolling limit."
            if status != 429:
                message = "Internal error, please retry."
            return status, error_body(status, message), headers
        try:
            if self.token is not None and authorization != f"Bearer {self.token}":
                raise ApiError(
                    401,
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication and private app access tokens.",
                )
            return 200, self._route(method, path, body), {}
        except ApiError as error:
            return error.status, error_body(error.status, error.message), {}

    def _route(self, method: str, path: str, raw: bytes) -> dict:
        parts = urlsplit(path)
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        if match := OBJECTS.match(parts.path):
            served = self._served(match["type"])
            if match["search"] and method == "POST":
                return self._search(match["type"], served, _json(raw))
            if not match["search"] and method == "GET":
                return self._list(match["type"], served, parts.path, query)
        elif (match := ASSOCIATIONS.match(parts.path)) and method == "POST":
            return self._associations(match["from"], match["to"], _json(raw))
        elif (match := PIPELINES.match(parts.path)) and method == "GET":
            if match["type"] not in PIPELINE_DEFINITIONS:
                raise ApiError(400, f"Pipelines are not supported for {match['type']}")
            return {"results": PIPELINE_DEFINITIONS[match["type"]]}
        raise ApiError(404, f"No route for {method} {parts.path}")

    def _served(self, object_type: str) -> Served:
        if object_type not in SERVED or object_type in self.disabled:
            raise ApiError(404, f"Unable to infer object type from: {object_type}")
        return SERVED[object_type]

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.crm_db}?mode=ro", uri=True, check_same_thread=False)

    def _store(self) -> sqlite3.Connection:
        """The store, opened once per serving thread (a client's connection, kept alive) rather
        than once per request; closed when the server stops."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self._connect()
            with self._lock:
                self._opened.append(db)
        return db

    def _release(self) -> None:
        """Closes the store of this serving thread: its client's connection has ended."""
        db = getattr(self._local, "db", None)
        if db is None:
            return
        self._local.db = None
        with self._lock:
            mine = db in self._opened  # else the server has stopped, and closed it
            if mine:
                self._opened.remove(db)
        if mine:
            db.close()

    def _catalogue(self, object_type: str) -> Catalogue:
        """Read from the store once, when the type is first asked for."""
        with self._lock:
            if object_type in self._catalogues:
                return self._catalogues[object_type]
        served = SERVED[object_type]
        where, args = "", ()
        if served.engagement_type:
            where, args = (
                "WHERE json_extract(properties, '$.hs_engagement_type') = ?",
                (served.engagement_type,),
            )
        with closing(self._connect()) as db:
            rows = db.execute(
                f"SELECT id, updated_at, archived FROM {served.store} {where}", args
            ).fetchall()
        live = sorted((millis(updated), int(i)) for i, updated, archived in rows if not archived)
        catalogue = Catalogue(
            live=live,
            archived=sorted(int(i) for i, _, archived in rows if archived),
            live_ids=sorted(i for _, i in live),
        )
        with self._lock:
            self._catalogues[object_type] = catalogue
        return catalogue

    def _objects(self, object_type: str, ids: list[int], wanted: list[str]) -> list[dict]:
        """The objects of ``ids`` as HubSpot sends them, in that order."""
        served = SERVED[object_type]
        if not ids:
            return []
        found = {
            int(row[0]): row
            for row in self._store().execute(
                f"SELECT id, created_at, updated_at, archived, properties FROM {served.store} "
                f"WHERE id IN ({','.join('?' * len(ids))})",
                [str(i) for i in ids],
            )
        }
        results = []
        for i in ids:
            object_id, created, updated, archived, stored = found[i]
            properties = served.properties(json.loads(stored))
            # a contact's createdate is when the lead was created, as the store says
            properties.setdefault("createdate", created)
            properties |= {"hs_object_id": object_id, served.modified: updated}
            if wanted:
                properties = {name: properties.get(name) for name in wanted}
            result = {
                "id": object_id,
                "properties": properties,
                "createdAt": api_time(created),
                "updatedAt": api_time(updated),
                "archived": bool(archived),
            }
            if archived:
                result["archivedAt"] = api_time(updated)
            results.append(result)
        return results

    def _list(self, object_type: str, served: Served, path: str, query: dict) -> dict:
        limit = _whole(query.get("limit", DEFAULT_LIMIT), "limit")
        if limit < 1:
            raise ApiError(400, "limit must be at least 1")
        limit = min(limit, MAX_LIMIT)
        archived = query.get("archived", "false").lower()
        if archived not in ("true", "false"):
            raise ApiError(400, f"archived must be true or false: {archived!r}")
        after = _whole(query.get("after", "0"), "after")
        wanted = [p for p in query.get("properties", "").split(",") if p]
        catalogue = self._catalogue(object_type)
        ids = catalogue.archived if archived == "true" else catalogue.live_ids
        start = bisect.bisect_right(ids, after)
        page = ids[start : start + limit]
        body: dict = {"results": self._objects(object_type, page, wanted)}
        if start + limit < len(ids):
            cursor = str(page[-1])
            link = f"{self.url}{path}?{urlencode({**query, 'after': cursor})}"
            body["paging"] = {"next": {"after": cursor, "link": link}}
        return body

    def _search(self, object_type: str, served: Served, request: dict) -> dict:
        limit = _whole(request.get("limit") or DEFAULT_LIMIT, "limit")
        limit = max(1, min(limit, MAX_SEARCH_LIMIT))
        offset = _whole(request.get("after") or "0", "after")
        if offset >= self.search_window:
            raise ApiError(
                400,
                f"There was a problem with the request: paging beyond {self.search_window} "
                "results is not supported.",
            )
        groups = request.get("filterGroups") or [{"filters": []}]
        if len(groups) != 1:
            raise ApiError(400, "the demo CRM supports one filter group")
        keys = self._catalogue(object_type).live
        for condition in groups[0].get("filters", []):
            keys = _filtered(keys, condition, served.modified)
        sorts = request.get("sorts") or [{"propertyName": "hs_object_id"}]
        if len(sorts) != 1:
            raise ApiError(400, "only one sort is supported")
        sort = sorts[0] if isinstance(sorts[0], dict) else {"propertyName": sorts[0]}
        name = sort["propertyName"].lstrip("-")
        descending = sort.get("direction") == "DESCENDING" or sorts[0] == f"-{name}"
        if name == served.modified:  # the keys are in that order already
            ordered = keys[::-1] if descending else keys
        elif name == "hs_object_id":
            ordered = sorted(keys, key=lambda key: key[1], reverse=descending)
        else:
            raise ApiError(400, f"the demo CRM sorts on {served.modified} or hs_object_id")
        page = [i for _, i in ordered[offset : min(offset + limit, self.search_window)]]
        body: dict = {
            "total": len(ordered),
            "results": self._objects(object_type, page, request.get("properties") or []),
        }
        following = offset + limit
        if following < len(ordered) and following < self.search_window:
            body["paging"] = {"next": {"after": str(following)}}
        return body

    def _associations(self, from_type: str, to_type: str, request: dict) -> dict:
        self._served(from_type)
        self._served(to_type)
        started = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        link = LINKS.get((from_type, to_type))
        ids = [str(item["id"]) for item in request.get("inputs", [])]
        results = []
        if link is not None and ids:
            column, types = link
            stored = dict(
                self._store()
                .execute(
                    f"SELECT id, json_extract(properties, '$.{column}') "
                    f"FROM {SERVED[from_type].store} "
                    f"WHERE id IN ({','.join('?' * len(ids))})",
                    ids,
                )
                .fetchall()
            )
            for object_id in ids:
                if stored.get(object_id):
                    association_types = [
                        {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": label}
                        for type_id, label in types
                    ]
                    results.append(
                        {
                            "from": {"id": object_id},
                            "to": [
                                {
                                    "toObjectId": int(stored[object_id]),
                                    "associationTypes": association_types,
                                }
                            ],
                        }
                    )
        return {
            "status": "COMPLETE",
            "results": results,
            "startedAt": started,
            "completedAt": started,
        }


def _filtered(keys: list[tuple[int, int]], condition: dict, modified: str) -> list[tuple[int, int]]:
    """The (modified, id) keys, in that order, that meet one search filter."""
    name, operator = condition.get("propertyName"), condition.get("operator")
    if name == modified:
        position, value = 0, millis(str(condition.get("value")))
    elif name == "hs_object_id":
        position, value = 1, _whole(condition.get("value"), "hs_object_id")
    else:
        raise ApiError(400, f"the demo CRM filters on {modified} or hs_object_id, not {name!r}")
    tests = {
        "EQ": lambda v: v == value,
        "GT": lambda v: v > value,
        "GTE": lambda v: v >= value,
        "LT": lambda v: v < value,
        "LTE": lambda v: v <= value,
    }
    if operator not in tests:
        raise ApiError(400, f"operator {operator!r} is not supported by the demo CRM")
    if position == 0:  # keys are in modified-date order: a range, found by bisection
        low, high = (value, -1), (value, float("inf"))
        start = bisect.bisect_left(keys, low if operator in ("EQ", "GTE") else high)
        stop = bisect.bisect_left(keys, high if operator in ("EQ", "LTE") else low)
        if operator in ("LT", "LTE"):
            start = 0
        if operator in ("GT", "GTE"):
            stop = len(keys)
        return keys[start:stop]
    test = tests[operator]
    return [key for key in keys if test(key[position])]


def _json(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except ValueError as error:
        raise ApiError(400, "the request body is not JSON") from error
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def _whole(value: object, name: str) -> int:
    try:
        return int(str(value))
    except ValueError as error:
        raise ApiError(400, f"{name} must be an integer: {value!r}") from error


class _Handler(BaseHTTPRequestHandler):
    api: CrmServer
    server_version = "DemoCRM/1.0"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm holds the
        # body until the client's delayed acknowledgement, 40 ms a request on loopback.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self) -> None:
        super().finish()
        self.api._release()

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            status, body, headers = self.api.respond(
                method, self.path, self.headers.get("Authorization"), raw
            )
        except Exception as error:  # a broken store must answer 500, not drop the connection
            status, body, headers = 500, error_body(500, f"Internal error: {error}"), {}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the extraction logs what it reads."""


@contextmanager
def served_apart(crm_db: Path, token: str | None = None) -> Iterator[str]:
    """The CRM API of ``crm_db`` served by a process of its own on a loopback port: its URL.

    Served in a thread of the reading process, the server and the reader take turns under
    one interpreter lock; in a process of its own the server answers while the reader works
    through the last page. The process ends with the context, or with the process that
    started it.
    """
    command = [sys.executable, "-m", "demo_company.crm_server", "--db", str(crm_db)]
    command += ["--port", "0", "--exit-with-parent"]
    if token is not None:
        command += ["--token", token]
    process = subprocess.Popen(
        command, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True
    )
    try:
        started = (process.stdout.readline() if process.stdout else "").strip()
        url = re.search(r" on (http://\S+?)/crm/", started)
        if url is None:
            raise RuntimeError(f"the demo CRM server did not start: {started!r}")
        yield url[1]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


def _exit_with(parent: int) -> None:
    """Ends this process once ``parent`` has ended (this process is then adopted)."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="crm.sqlite of a written demo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0: any free port")
    parser.add_argument("--token", default=None, help="require this bearer token")
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the starting process ends"
    )
    args = parser.parse_args(argv)
    if args.exit_with_parent:
        threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    CrmServer(args.db, token=args.token, host=args.host, port=args.port).serve_forever()


if __name__ == "__main__":
    main()
