"""The CEO dashboard: one web page generated from the marts and the alert states.

:func:`load_dashboard_data` (``data.py``) reads what the page shows with read-only queries;
:func:`render_dashboard` (``render.py``) turns it into a single HTML file from the templates of
``templates/``; :func:`publish_page` replaces the page on disk as a whole.
"""

from orchestration.lib.alert_state import OPEN_STATES
from orchestration.lib.dashboard.data import (
    ACV,
    STATE_RANK,
    load_dashboard_data,
    publish_page,
)
from orchestration.lib.dashboard.render import render_dashboard

__all__ = [
    "ACV",
    "OPEN_STATES",
    "STATE_RANK",
    "load_dashboard_data",
    "publish_page",
    "render_dashboard",
]
