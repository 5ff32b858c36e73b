"""Delivers alerts to the channels named by URLs in ``ALERT_CHANNELS``.

The log always receives every alert. ``jsonl://PATH`` appends one JSON object a line (a
relative PATH is taken from the project root); ``http://`` and ``https://`` POST the alert as
JSON to a webhook.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import requests

from orchestration.lib.settings import PROJECT_ROOT


def headline(alert: Mapping[str, Any]) -> str:
    """One line for a person: state, KPI, where, and the reason."""
    where = "" if alert["dimension"] == "total" else f" ({alert['dimension_value']})"
    return f"[{alert['state'].upper()}] {alert['label']}{where}: {alert['reason']}"


def deliver(
    alerts: Iterable[Mapping[str, Any]], channels: Iterable[str], log: logging.Logger
) -> list[str]:
    """Sends each alert everywhere; returns the failures (a failing channel stops no other)."""
    alerts = list(alerts)
    failures = []
    for alert in alerts:
        log.warning("KPI alert %s", headline(alert))
    for channel in channels:
        try:
            _send(channel, alerts)
        except (OSError, requests.RequestException, ValueError) as error:
            failures.append(f"{channel}: {error}")
            log.error("alert channel %s failed: %s", channel, error)
    return failures


def _send(channel: str, alerts: list[Mapping[str, Any]]) -> None:
    if not alerts:
        return
    scheme, _, rest = channel.partition("://")
    if scheme == "jsonl":
        path = Path(rest)
        path = path if path.is_absolute() else PROJECT_ROOT / path
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            for alert in alerts:
                out.write(json.dumps({**alert, "text": headline(alert)}, default=str) + "\n")
    elif scheme in ("http", "https"):
        for alert in alerts:
            body = {**alert, "text": headline(alert)}
            response = requests.post(
                channel,
                data=json.dumps(body, default=str),
                timeout=10,
                headers={"Content-Type": "application/json"},
            )
            response.raise_for_status()
    else:
        raise ValueError(f"unknown alert channel scheme {scheme!r}")
