import json
import logging

from orchestration.lib.notify import deliver, headline, redacted

ALERT = {
    "state": "new",
    "label": "Average customer value",
    "dimension": "segment",
    "dimension_value": "smb",
    "reason": "It fell 5.0 % since 2026-03-02.",
}


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


def test_a_webhook_receives_each_alert_through_apprise(webhook):
    failures = deliver(
        [ALERT, {**ALERT, "state": "recovered"}], [webhook.url("/hook")], logging.getLogger()
    )
    assert failures == []
    assert [(body["title"], body["message"], body["type"]) for _, body in webhook.received] == [
        ("New: Average customer value (smb)", ALERT["reason"], "warning"),
        ("Recovered: Average customer value (smb)", ALERT["reason"], "success"),
    ]


def test_a_failing_channel_is_reported_without_its_secret_and_stops_no_other(tmp_path):
    path = tmp_path / "out.jsonl"
    failures = deliver(
        [ALERT], ["json://127.0.0.1:9/token-123", f"jsonl://{path}"], logging.getLogger()
    )
    assert failures == ["json://127.0.0.1/…: the notification was not delivered"]
    assert "token-123" not in failures[0]
    assert path.exists()


def test_no_secret_reaches_the_log_even_at_debug_level(caplog):
    with caplog.at_level(logging.DEBUG):
        deliver([ALERT], ["json://127.0.0.1:9/token-123"], logging.getLogger("radar"))
    assert "token-123" not in caplog.text
    assert "json://127.0.0.1/…" in caplog.text


def test_an_unknown_channel_is_a_clear_failure():
    failures = deliver([ALERT], ["carrier-pigeon://roof/secret"], logging.getLogger())
    assert failures == [
        "carrier-pigeon://roof/…: not a notification URL Apprise knows (carrier-pigeon://)"
    ]


def test_a_channel_is_shown_without_its_secrets():
    assert redacted("slack://T000/B000/XXXX/#alerts") == "slack://t000/…"
    assert redacted("mailtos://user:password@mail.example.com") == "mailtos://mail.example.com"
