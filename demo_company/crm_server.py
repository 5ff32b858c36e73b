"""A HubSpot CRM v3-shaped REST API over the demo company's CRM store (standard library only).

``GET /crm/v3/objects/{object_type}`` lists objects as HubSpot does: ``limit`` (default 10,
at most 100), cursor paging through ``paging.next.after``, ``archived=true`` for deleted
objects instead of live ones, ``properties`` to choose the properties returned. Objects come
in (updatedAt, id) order, and ``updatedAfter`` (inclusive; ISO 8601 or epoch milliseconds)
is a demo extension for incremental reads that a real HubSpot would ignore.

A configured token is required as ``Authorization: Bearer <token>`` (401 otherwise); unknown
object types are 404. ``inject_fault`` makes the next requests fail (e.g. 429 with
``Retry-After``) to test clients. Run ``python -m demo_company.crm_server --db crm.sqlite``
to serve a store in the foreground.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import re
import sqlite3
import threading
import uuid
from collections import deque
from contextlib import closing
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from demo_company.crm_objects import OBJECT_TYPES

ROUTE = re.compile(r"^/crm/v3/objects/(?P<object_type>[A-Za-z_]+)/?$")
DEFAULT_LIMIT = 10
MAX_LIMIT = 100
ERROR_CATEGORY = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    429: "RATE_LIMITS",
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


def encode_cursor(updated_at: str, object_id: str) -> str:
    raw = f"{updated_at}|{object_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        updated_at, object_id = raw.split("|", 1)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise ApiError(400, f"Invalid paging cursor: {cursor!r}") from error
    return updated_at, object_id


def normalise_time(value: str) -> str:
    """An ISO 8601 time or epoch milliseconds as the store's 'YYYY-MM-DDTHH:MM:SSZ'.

    Fractions of a second round up, so that the inclusive bound stays inclusive.
    """
    try:
        if value.isdigit():
            moment = datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        else:
            moment = datetime.fromisoformat(value.replace(" ", "T"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except ValueError as error:
        raise ApiError(400, f"updatedAfter is not a timestamp: {value!r}") from error
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class CrmServer:
    """The CRM API on a loopback port in a background thread; a context manager."""

    def __init__(
        self, crm_db: Path, token: str | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.crm_db = Path(crm_db)
        self.token = token
        self.host = host
        self.port = port
        self._requests = 0
        self._faults: deque[tuple[int, int | None]] = deque()
        self._lock = threading.Lock()
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

    def _next_fault(self) -> tuple[int, int | None] | None:
        with self._lock:
            self._requests += 1
            return self._faults.popleft() if self._faults else None

    def respond(self, path: str, authorization: str | None) -> tuple[int, dict, dict[str, str]]:
        """(status, JSON body, extra headers) for a GET request."""
        fault = self._next_fault()
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
            return 200, self._list(path), {}
        except ApiError as error:
            return error.status, error_body(error.status, error.message), {}

    def _list(self, path: str) -> dict:
        parts = urlsplit(path)
        match = ROUTE.match(parts.path)
        if match is None:
            raise ApiError(404, f"No route for {parts.path}")
        object_type = match["object_type"]
        if object_type not in OBJECT_TYPES:
            raise ApiError(404, f"Unable to infer object type from: {object_type}")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        try:
            limit = int(query.get("limit", DEFAULT_LIMIT))
        except ValueError as error:
            raise ApiError(400, f"limit must be an integer: {query['limit']!r}") from error
        if limit < 1:
            raise ApiError(400, "limit must be at least 1")
        limit = min(limit, MAX_LIMIT)
        archived = query.get("archived", "false").lower()
        if archived not in ("true", "false"):
            raise ApiError(400, f"archived must be true or false: {archived!r}")
        since = normalise_time(query["updatedAfter"]) if query.get("updatedAfter") else ""
        after = decode_cursor(query["after"]) if query.get("after") else ("", "")
        wanted = [p for p in query.get("properties", "").split(",") if p]

        with closing(sqlite3.connect(f"file:{self.crm_db}?mode=ro", uri=True)) as db:
            rows = db.execute(
                f"SELECT id, created_at, updated_at, archived, properties FROM {object_type} "
                "WHERE archived = ? AND updated_at >= ? "
                "AND (updated_at > ? OR (updated_at = ? AND id > ?)) "
                "ORDER BY updated_at, id LIMIT ?",
                (int(archived == "true"), since, after[0], after[0], after[1], limit + 1),
            ).fetchall()
        results = []
        for object_id, created_at, updated_at, is_archived, properties in rows[:limit]:
            values = json.loads(properties)
            if wanted:
                values = {name: values.get(name) for name in wanted}
            results.append(
                {
                    "id": object_id,
                    "properties": values,
                    "createdAt": created_at,
                    "updatedAt": updated_at,
                    "archived": bool(is_archived),
                }
            )
        body: dict = {"results": results}
        if len(rows) > limit:
            cursor = encode_cursor(rows[limit - 1][2], rows[limit - 1][0])
            link = f"{self.url}{parts.path}?{urlencode({**query, 'after': cursor})}"
            body["paging"] = {"next": {"after": cursor, "link": link}}
        return body


class _Handler(BaseHTTPRequestHandler):
    api: CrmServer
    server_version = "DemoCRM/1.0"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        try:
            status, body, headers = self.api.respond(self.path, self.headers.get("Authorization"))
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="crm.sqlite of a written demo")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", default=None, help="require this bearer token")
    args = parser.parse_args(argv)
    CrmServer(args.db, token=args.token, host=args.host, port=args.port).serve_forever()


if __name__ == "__main__":
    main()
