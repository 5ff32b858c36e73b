"""Alert channels on loopback: webhooks whose answers a test plans, and that can hold a request."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WAIT = 30.0  # the longest a test waits for a state before it fails


class Receivers:
    """Webhooks on loopback. Each path answers the statuses planned for it, then 200; with
    ``hold`` set, the first request is kept unanswered until ``release``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.accepted: list[tuple[str, dict]] = []
        self.plans: dict[str, list[int]] = {}
        self.hold = False
        self.holding = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        receivers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receivers._lock:
                    receivers.requests.append((self.path, body))
                    plan = receivers.plans.get(self.path, [])
                    status = plan.pop(0) if plan else 200
                    held = receivers.hold and not receivers.holding.is_set()
                    if held:
                        receivers.holding.set()
                if held:
                    receivers._release.wait(WAIT)
                if status == 200:
                    with receivers._lock:
                        receivers.accepted.append((self.path, body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        # a read timeout longer than any hold, so a held request is not given up
        return f"json://127.0.0.1:{self.server.server_port}{path}?rto={WAIT:.0f}"

    def release(self) -> None:
        self._release.set()

    def close(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def to(self, path: str, accepted: bool = True) -> list[dict]:
        seen = self.accepted if accepted else self.requests
        return [body for where, body in seen if where == path]
