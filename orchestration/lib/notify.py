"""Delivers alerts to the channels named by URLs in ``ALERT_CHANNELS``.

The log always receives every alert. ``jsonl://PATH`` appends one JSON object a line (a
relative PATH is taken from the project root). Any other URL goes through Apprise, one
library for Slack (``slack://…`` or the webhook's https URL), Microsoft Teams
(``msteams://…``), e-mail (``mailto://…``), a generic JSON webhook (``json://host/path``,
``jsons://`` for https) and many more; secrets live in those URLs, so they come from the
environment and are never logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import apprise

from orchestration.lib.settings import PROJECT_ROOT

# Apprise logs the whole URL, secrets included, below WARNING: those records are never written.
logging.getLogger("apprise").setLevel(logging.WARNING)


def headline(alert: Mapping[str, Any]) -> str:
    """One line for a person: state, KPI, where, and the reason."""
    return f"[{alert['state'].upper()}] {title(alert)}: {alert['reason']}"


def title(alert: Mapping[str, Any]) -> str:
    where = "" if alert["dimension"] == "total" else f" ({alert['dimension_value']})"
    return f"{alert['label']}{where}"


def deliver(
    alerts: Iterable[Mapping[str, Any]], channels: Iterable[str], log: logging.Logger
) -> list[str]:
    """Sends each alert everywhere; returns the failures (a failing channel stops no other)."""
    alerts = list(alerts)
    failures = []
    for alert in alerts:
        log.warning("KPI alert %s", headline(alert))
    if not alerts:
        return failures
    for channel in channels:
        try:
            if channel.startswith("jsonl://"):
                _append(channel.removeprefix("jsonl://"), alerts)
            else:
                _notify(channel, alerts)
        except (OSError, ValueError) as error:
            failures.append(f"{redacted(channel)}: {error}")
            log.error("alert channel %s failed: %s", redacted(channel), error)
    return failures


def redacted(channel: str) -> str:
    """The channel without its secrets: scheme and host only."""
    parts = urlsplit(channel)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}" + ("/…" if parts.path.strip("/") or parts.query else "")


def _append(path: str, alerts: list[Mapping[str, Any]]) -> None:
    file = Path(path)
    file = file if file.is_absolute() else PROJECT_ROOT / file
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("a", encoding="utf-8") as out:
        for alert in alerts:
            out.write(json.dumps({**alert, "text": headline(alert)}, default=str) + "\n")


def _notify(channel: str, alerts: list[Mapping[str, Any]]) -> None:
    sender = apprise.Apprise()
    if not sender.add(channel):
        raise ValueError(f"not a notification URL Apprise knows ({urlsplit(channel).scheme}://)")
    for alert in alerts:
        recovered = alert["state"] == "recovered"
        delivered = sender.notify(
            title=f"{alert['state'].capitalize()}: {title(alert)}",
            body=str(alert["reason"]),
            notify_type=apprise.NotifyType.SUCCESS if recovered else apprise.NotifyType.WARNING,
        )
        if not delivered:
            raise OSError("the notification was not delivered")
