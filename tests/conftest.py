"""Fixtures shared by the tests: the small demo company, a warehouse path, webhooks."""

import json
import signal
import threading
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from receivers import Receivers
from report import TABLES, merged, write_table

from demo_company.writer import ensure_demo

# The helpers' own assertions report what they compared, as the tests' do (conftest loads
# before the test modules import them).
pytest.register_assert_rewrite("radar_runs")


@pytest.fixture(autouse=True)
def signals_as_a_terminal_leaves_them():
    """Each test starts with no signal blocked and the stop signals handled by default, as in
    a process started from a terminal: the processes a test starts inherit both, and tests
    signal them to stop. A runner started in the background may ignore SIGINT, and code under
    test may leave a signal blocked."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    for sig in (signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory):
    """The demo company at a fifth of its size, as of the tests' day, written once."""
    return ensure_demo(tmp_path_factory.mktemp("demo"), date(2026, 6, 30), seed=42, scale=0.2)


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "warehouse.duckdb"


@dataclass
class Webhook:
    """A real HTTP receiver on loopback: the path and JSON body of each POST it was sent."""

    port: int
    received: list[tuple[str, dict]] = field(default_factory=list)

    def url(self, path: str) -> str:
        """The Apprise URL of a JSON webhook at ``path``."""
        return f"json://127.0.0.1:{self.port}{path}"


@pytest.fixture
def webhook():
    received: list[tuple[str, dict]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Webhook(server.server_port, received)
    server.shutdown()
    server.server_close()


@pytest.fixture
def receivers():
    receivers = Receivers()
    yield receivers
    receivers.close()


# --- what the workers of pytest-xdist printed, and where the suite's time goes ---------------

_TABLES: list[list] = []
_SECONDS: dict[str, float] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules of the longest tests first, then those with whole runs, so that in parallel
    the short tests fill the end rather than one long module running alone."""

    def files(marker: str) -> set:
        return {item.path for item in items if item.get_closest_marker(marker)}

    longest, e2e = files("longest"), files("e2e")
    items.sort(key=lambda item: (item.path not in longest, item.path not in e2e))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    _TABLES.extend(getattr(node, "workeroutput", {}).get(TABLES, []))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _SECONDS[report.nodeid] = _SECONDS.get(report.nodeid, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """The tables the workers printed (report.py), then the slowest tests, setup and
    teardown included, with their share of the suite's time."""
    for title, (rows, notes) in merged(_TABLES).items():
        write_table(terminalreporter, title, rows, notes)
    total = sum(_SECONDS.values())
    if total < 60:
        return
    terminalreporter.write_sep("-", f"slowest tests, of {total:.0f} s in all")
    for nodeid, seconds in sorted(_SECONDS.items(), key=lambda item: -item[1])[:12]:
        terminalreporter.write_line(f"{seconds:7.1f} s  {seconds / total:5.1%}  {nodeid}")
