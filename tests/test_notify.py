import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from orchestration.lib.notify import deliver, headline

ALERT = {
    "state": "new",
    "label": "Average customer value",
    "dimension": "segment",
    "dimension_value": "smb",
    "reason": "It fell 5.0 % since 2026-03-02.",
}


@pytest.fixture
def webhook():
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_the_headline_names_the_state_the_kpi_the_member_and_the_reason():
    assert headline(ALERT) == (
        "[NEW] Average customer value (smb): It fell 5.0 % since 2026-03-02."
    )


def test_alerts_are_appended_to_a_json_lines_file(tmp_path):
    path = tmp_path / "alerts" / "out.jsonl"
    deliver([ALERT, {**ALERT, "state": "recovered"}], [f"jsonl://{path}"], logging.getLogger())
    deliver([ALERT], [f"jsonl://{path}"], logging.getLogger())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["state"] for line in lines] == ["new", "recovered", "new"]
    assert lines[0]["text"].startswith("[NEW] Average customer value (smb)")


def test_a_webhook_receives_each_alert_as_json(webhook):
    url, received = webhook
    failures = deliver([ALERT], [url], logging.getLogger())
    assert failures == []
    assert received == [{**ALERT, "text": headline(ALERT)}]


def test_a_failing_channel_is_reported_and_does_not_stop_the_others(tmp_path, caplog):
    path = tmp_path / "out.jsonl"
    failures = deliver(
        [ALERT], ["http://127.0.0.1:9/closed", f"jsonl://{path}"], logging.getLogger()
    )
    assert len(failures) == 1 and failures[0].startswith("http://127.0.0.1:9/closed")
    assert path.exists()


def test_an_unknown_channel_scheme_is_a_clear_failure():
    failures = deliver([ALERT], ["carrier-pigeon://roof"], logging.getLogger())
    assert failures == ["carrier-pigeon://roof: unknown alert channel scheme 'carrier-pigeon'"]
