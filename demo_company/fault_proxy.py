"""A fault-injecting HTTP proxy on loopback, in front of the demo CRM (or any HTTP API), to try a
client against the faults a real API shows (standard library only).

Each request is forwarded to the upstream and its answer sent back, unless an armed ``Fault``
matches it (its method and a part of its path, after letting ``skip`` matching requests
through, for ``times`` requests or for ever). The faults:

- ``status``: answers ``status`` (500 by default) with a HubSpot-like error body;
- ``rate_limit``: answers 429 with ``Retry-After: retry_after``;
- ``hang``: reads the request and never answers (until the proxy stops);
- ``slow``: waits ``delay`` seconds, then forwards;
- ``malformed``: forwards, then sends the first half of the answer's body, with status 200;
- ``wrong_shape``: answers 200 with ``body`` (by default a JSON object whose ``results`` and
  ``paging`` are strings);
- ``repeat_cursor``: forwards, and writes in the answer's ``paging.next.after`` the first
  cursor this fault saw, so the client is sent back to a page it has read;
- ``ignore_filter``: forwards a search without its ``filterGroups``, as an API that ignores
  them would answer it.

Run ``python -m demo_company.fault_proxy --upstream http://127.0.0.1:8765 --fault hang``
to put one in front of a running demo CRM server.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

KINDS = (
    "status",
    "rate_limit",
    "hang",
    "slow",
    "malformed",
    "wrong_shape",
    "repeat_cursor",
    "ignore_filter",
)
WRONG_SHAPE = b'{"results": "unavailable", "paging": "none"}'
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Fault:
    """A fault for the requests with ``method`` (any when None) whose path contains ``path``."""

    kind: str
    path: str = ""
    method: str | None = None
    skip: int = 0  # matching requests let through before the first fault
    times: int | None = None  # faulted requests; None: every one after ``skip``
    status: int = 500
    retry_after: int = 86_400
    delay: float = 1.0
    body: bytes = WRONG_SHAPE
    seen: int = field(default=0, init=False)  # matching requests so far
    faulted: int = field(default=0, init=False)
    first_cursor: str | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault {self.kind!r}; one of {', '.join(KINDS)}")

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and self.path in path

    def armed(self) -> bool:
        """Counts a matching request; whether it gets the fault."""
        self.seen += 1
        if self.seen <= self.skip or (self.times is not None and self.faulted >= self.times):
            return False
        self.faulted += 1
        return True


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


class FaultProxy:
    """The proxy: ``inject`` arms a fault, ``clear`` disarms them all; ``log`` holds (method,
    path, fault kind or None) of every request; ``wait_for`` waits on what it has served."""

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream
        self.host = host
        self.port = port
        self.log: list[tuple[str, str, str | None]] = []
        self._faults: list[Fault] = []
        self._changed = threading.Condition()
        self._release = threading.Event()  # set when stopping: hanging requests end
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fault proxy is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def inject(self, fault: Fault) -> Fault:
        with self._changed:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._changed:
            self._faults.clear()

    def faulted(self, kind: str | None = None) -> int:
        """Requests that got a fault (of ``kind``) so far."""
        with self._changed:
            return sum(1 for *_, got in self.log if got is not None and kind in (None, got))

    def wait_for(self, condition: Callable[[FaultProxy], bool], timeout: float) -> bool:
        """Waits until ``condition(proxy)`` holds after a request, or ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: condition(self), timeout)

    def start(self) -> FaultProxy:
        if self._httpd is not None:
            return self
        handler = type("Handler", (_Handler,), {"proxy": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self._release.clear()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- request handling ------------------------------------------------------------------

    def _fault_for(self, method: str, path: str) -> Fault | None:
        with self._changed:
            for fault in self._faults:
                if fault.matches(method, path):
                    return fault if fault.armed() else None
            return None

    def _served(self, method: str, path: str, fault: Fault | None) -> None:
        with self._changed:
            self.log.append((method, path, None if fault is None else fault.kind))
            self._changed.notify_all()

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer | None:
        """The answer to a request; None: the connection is dropped without one."""
        fault = self._fault_for(method, path)
        self._served(method, path, fault)
        kind = None if fault is None else fault.kind
        if kind == "ignore_filter":
            body = json.dumps({**json.loads(body or b"{}"), "filterGroups": []}).encode()
        if fault is None or kind in ("malformed", "repeat_cursor", "ignore_filter"):
            answer = self._forward(method, path, headers, body)
        if fault is None or kind == "ignore_filter":
            return answer
        if kind == "status":
            return _error(fault.status, "Internal error, please retry.")
        if kind == "rate_limit":
            limited = _error(429, "You have reached your daily limit.")
            retry = {"Retry-After": str(fault.retry_after)}
            return Answer(429, limited.body, limited.headers | retry)
        if kind == "hang":
            self._release.wait()
            return None
        if kind == "slow":
            if self._release.wait(fault.delay):
                return None
            return self._forward(method, path, headers, body)
        if kind == "wrong_shape":
            return Answer(200, fault.body, {"Content-Type": "application/json;charset=utf-8"})
        if kind == "malformed":
            return Answer(200, answer.body[: len(answer.body) // 2], answer.headers)
        return self._repeat_cursor(fault, answer)

    def _repeat_cursor(self, fault: Fault, answer: Answer) -> Answer:
        try:
            document = json.loads(answer.body)
            following = document["paging"]["next"]
            cursor = str(following["after"])
        except (ValueError, KeyError, TypeError):
            return answer  # no cursor to repeat: the last page
        with self._changed:
            fault.first_cursor = fault.first_cursor or cursor
            following["after"] = fault.first_cursor
        return Answer(answer.status, json.dumps(document).encode(), answer.headers)

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        target = urlsplit(self.upstream)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
        try:
            forwarded = {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS}
            connection.request(method, path, body=body or None, headers=forwarded)
            response = connection.getresponse()
            kept = {
                k: v for k, v in response.getheaders() if k.lower() not in HOP_HEADERS | {"server"}
            }
            return Answer(response.status, response.read(), kept)
        finally:
            connection.close()


def _error(status: int, message: str) -> Answer:
    category = "RATE_LIMITS" if status == 429 else "INTERNAL_ERROR"
    body = {"status": "error", "message": message, "category": category}
    return Answer(status, json.dumps(body).encode(), {"Content-Type": "application/json"})


class _Handler(BaseHTTPRequestHandler):
    proxy: FaultProxy
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._relay("GET")

    def do_POST(self) -> None:
        self._relay("POST")

    def _relay(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        answer = self.proxy.answer(method, self.path, dict(self.headers.items()), body)
        if answer is None:
            self.close_connection = True
            return
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the proxy's ``log`` keeps every request."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="the API's URL, e.g. the demo CRM's")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--fault", choices=KINDS, required=True)
    parser.add_argument("--path", default="", help="fault only paths containing this")
    parser.add_argument("--skip", type=int, default=0, help="requests let through first")
    parser.add_argument("--times", type=int, default=None, help="faulted requests (all)")
    parser.add_argument("--status", type=int, default=500)
    parser.add_argument("--retry-after", type=int, default=86_400)
    parser.add_argument("--delay", type=float, default=1.0)
    args = parser.parse_args(argv)
    proxy = FaultProxy(args.upstream, port=args.port)
    proxy.inject(
        Fault(
            args.fault,
            path=args.path,
            skip=args.skip,
            times=args.times,
            status=args.status,
            retry_after=args.retry_after,
            delay=args.delay,
        )
    )
    with proxy:
        print(f"{args.fault} in front of {args.upstream} on {proxy.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
