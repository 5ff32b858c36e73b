import json
import logging

import pytest

from orchestration.lib.notify import ChannelError, headline, redacted, send

ALERT = {
    "state": "new",
    "label": "Average customer value",
    "dimension": "segment",
    "dimension_value": "smb",
    "reason": "It fell 5.0 % since 2026-03-02.",
    "message_id": "0f3c2a9b81d4e6f7a5b3c1d2",
}


def test_the_headline_names_the_state_the_kpi_the_member_and_the_reason():
    assert headline(ALERT) == (
        "[NEW] Average customer value (smb): It fell 5.0 % since 2026-03-02."
    )


def test_alerts_are_appended_to_a_json_lines_file_with_their_message_id(tmp_path):
    path = tmp_path / "alerts" / "out.jsonl"
    for alert in (ALERT, {**ALERT, "state": "recovered", "message_id": "2"}, ALERT):
        send(f"jsonl://{path}", alert, logging.getLogger())
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["state"], line["message_id"]) for line in lines] == [
        ("new", ALERT["message_id"]),
        ("recovered", "2"),
        ("new", ALERT["message_id"]),
    ]
    assert lines[0]["text"].startswith("[NEW] Average customer value (smb)")


def test_a_webhook_receives_the_alert_and_its_message_id_through_apprise(webhook):
    send(webhook.url("/hook"), ALERT, logging.getLogger())
    send(webhook.url("/hook"), {**ALERT, "state": "recovered"}, logging.getLogger())
    assert [(body["title"], body["type"]) for _, body in webhook.received] == [
        ("New: Average customer value (smb)", "warning"),
        ("Recovered: Average customer value (smb)", "success"),
    ]
    for path, body in webhook.received:
        assert path == "/hook"
        assert body["message_id"] == ALERT["message_id"]
        assert body["message"] == (f"{ALERT['reason']}\n\nAlert message id: {ALERT['message_id']}")


def test_the_log_channel_logs_the_headline(caplog):
    with caplog.at_level(logging.WARNING):
        send("log", ALERT, logging.getLogger("radar"))
    assert f"KPI alert {headline(ALERT)}" in caplog.text


def test_a_failing_channel_is_reported_without_its_secret():
    with pytest.raises(ChannelError) as failure:
        send("json://127.0.0.1:9/token-123", ALERT, logging.getLogger())
    assert str(failure.value) == "json://127.0.0.1/…: the notification was not delivered"


def test_no_secret_reaches_the_log_even_at_debug_level(caplog):
    with caplog.at_level(logging.DEBUG), pytest.raises(ChannelError):
        send("json://127.0.0.1:9/token-123", ALERT, logging.getLogger("radar"))
    assert "token-123" not in caplog.text


def test_an_unknown_channel_is_a_clear_failure():
    with pytest.raises(ChannelError) as failure:
        send("carrier-pigeon://roof/secret", ALERT, logging.getLogger())
    assert str(failure.value) == (
        "carrier-pigeon://roof/…: not a notification URL Apprise knows (carrier-pigeon://)"
    )


def test_a_channel_is_shown_without_its_secrets():
    assert redacted("slack://T000/B000/XXXX/#alerts") == "slack://t000/…"
    assert redacted("mailtos://user:password@mail.example.com") == "mailtos://mail.example.com"
    assert redacted("log") == "log"
