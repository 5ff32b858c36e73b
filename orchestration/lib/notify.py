"""Sends one alert message to one channel named by a URL of ``ALERT_CHANNELS``.

``log`` is the log, which receives every alert. ``jsonl://PATH`` appends one JSON object a
line (a relative PATH is taken from the project root). Any other URL goes through Apprise, one
library for Slack (``slack://…`` or the webhook's https URL), Microsoft Teams
(``msteams://…``), e-mail (``mailto://…``), a generic JSON webhook (``json://host/path``,
``jsons://`` for https) and many more; secrets live in those URLs, so they come from the
environment and are never logged.

Every message carries its ``message_id``, the same on each retry, so that a receiver that got a
message twice (its sender died before recording that it was accepted) can tell: a field of the
JSON line, of the webhook's JSON body, and the last line of every other channel's text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import apprise

from orchestration.lib.settings import PROJECT_ROOT

# Apprise logs the whole URL, secrets included, below WARNING: those records are never written.
logging.getLogger("apprise").setLevel(logging.WARNING)

LOG = "log"
# Apprise schemes whose body is built by Apprise from fields, where `:name=value` in the URL
# adds a field: the message id goes there as well as into the text.
_FIELD_SCHEMES = ("json", "jsons", "form", "forms", "xml", "xmls")


class ChannelError(Exception):
    """A channel did not accept a message; the text never holds the channel's secrets."""


def headline(alert: Mapping[str, Any]) -> str:
    """One line for a person: state, KPI, where, and the reason."""
    return f"[{alert['state'].upper()}] {title(alert)}: {alert['reason']}"


def title(alert: Mapping[str, Any]) -> str:
    where = "" if alert["dimension"] == "total" else f" ({alert['dimension_value']})"
    return f"{alert['label']}{where}"


def send(channel: str, message: Mapping[str, Any], log: logging.Logger) -> None:
    """Sends ``message`` (an alert with its ``message_id``) to ``channel``; raises ChannelError
    unless the channel accepted it."""
    try:
        if channel == LOG:
            log.warning("KPI alert %s", headline(message))
        elif channel.startswith("jsonl://"):
            _append(channel.removeprefix("jsonl://"), message)
        else:
            _notify(channel, message)
    except (OSError, ValueError) as error:
        raise ChannelError(f"{redacted(channel)}: {error}") from None


def redacted(channel: str) -> str:
    """The channel without its secrets: scheme and host only."""
    if channel == LOG:
        return LOG
    parts = urlsplit(channel)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}" + ("/…" if parts.path.strip("/") or parts.query else "")


def _append(path: str, message: Mapping[str, Any]) -> None:
    file = Path(path)
    file = file if file.is_absolute() else PROJECT_ROOT / file
    file.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({**message, "text": headline(message)}, default=str) + "\n"
    with file.open("a", encoding="utf-8") as out:
        out.write(line)
        out.flush()


def _notify(channel: str, message: Mapping[str, Any]) -> None:
    sender = apprise.Apprise()
    if not sender.add(_with_id(channel, message["message_id"])):
        raise ValueError(f"not a notification URL Apprise knows ({urlsplit(channel).scheme}://)")
    recovered = message["state"] == "recovered"
    delivered = sender.notify(
        title=f"{message['state'].capitalize()}: {title(message)}",
        body=f"{message['reason']}\n\nAlert message id: {message['message_id']}",
        notify_type=apprise.NotifyType.SUCCESS if recovered else apprise.NotifyType.WARNING,
    )
    if not delivered:
        raise OSError("the notification was not delivered")


def _with_id(channel: str, message_id: str) -> str:
    if urlsplit(channel).scheme.lower() not in _FIELD_SCHEMES:
        return channel
    return f"{channel}{'&' if '?' in channel else '?'}:message_id={message_id}"
