"""The lifecycle of an alert: new, ongoing, escalated, recovered.

One alert is open at most per KPI series and kind (decline or flattening). An evaluation
compares today's finding with the state recorded for the previous evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

OPEN_STATES = frozenset({"new", "ongoing", "escalated"})
NOTIFY_STATES = frozenset({"new", "escalated", "recovered"})
_SEVERITY_RANK = {"warning": 1, "critical": 2}


def next_state(
    previous_state: str | None,
    previous_severity: str | None,
    firing: bool,
    severity: str | None = None,
) -> str | None:
    """The state after this evaluation, or None when there is nothing to record.

    >>> next_state(None, None, firing=True, severity="warning")
    'new'
    >>> next_state("new", "warning", firing=True, severity="critical")
    'escalated'
    >>> next_state("escalated", "critical", firing=False)
    'recovered'
    """
    was_open = previous_state in OPEN_STATES
    if not firing:
        return "recovered" if was_open else None
    if not was_open:
        return "new"
    rank = _SEVERITY_RANK.get(severity or "", 0)
    if rank > _SEVERITY_RANK.get(previous_severity or "", 0):
        return "escalated"
    return "ongoing"


def notifications(
    alerts: Iterable[Mapping[str, Any]], suppressed_because: str, announced: bool
) -> list[Mapping[str, Any]]:
    """What one evaluation sends: its new, escalated and recovered alerts (ongoing ones were
    sent already; suppressed ones are not sent), and a suppression once, when it starts
    (``announced`` says the previous evaluation was suppressed already).

    >>> notifications([{"state": "new"}, {"state": "ongoing"}], "", False)
    [{'state': 'new'}]
    >>> [n["reason"] for n in notifications([], "the data is stale", False)]
    ['No KPI alert is raised while the data is stale.']
    >>> notifications([], "the data is stale", True)
    []
    """
    to_send = [alert for alert in alerts if alert["state"] in NOTIFY_STATES]
    if suppressed_because and not announced:
        to_send.append(
            {
                "state": "suppressed",
                "label": "KPI alerts",
                "dimension": "total",
                "dimension_value": "all",
                "reason": f"No KPI alert is raised while {suppressed_because}.",
            }
        )
    return to_send
