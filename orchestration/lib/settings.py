"""Runtime settings, read from the environment when asked for, never at import time.

Each source is configured on its own. Unset means the embedded demo company; the word
``off`` switches a source off (its marts then build empty); anything else points at the
user's own system.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Same default as `profiles.yml`, so dbt and Dagster open one file when nothing is set.
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
# The copy BI tools read, published after each successful build (lib/serving.py).
DEFAULT_SERVING = "data/serving.duckdb"

Mode = Literal["demo", "off", "configured"]


@dataclass(frozen=True)
class Source:
    """How one source is reached: the demo, switched off, or the user's own system."""

    name: str
    mode: Mode
    location: str | None = None

    @property
    def is_on(self) -> bool:
        return self.mode != "off"


@dataclass(frozen=True)
class Settings:
    warehouse_path: Path
    serving_path: Path
    erp: Source
    crm: Source
    crm_token: str | None
    web: Source
    hr: Source
    demo_dir: Path
    demo_as_of: date
    demo_seed: int
    demo_scale: float
    alert_channels: tuple[str, ...]
    dashboard_path: Path

    @property
    def uses_demo(self) -> bool:
        return "demo" in (self.erp.mode, self.crm.mode, self.web.mode)


def _source(name: str, value: str | None) -> Source:
    if value is None or not value.strip():
        return Source(name, "demo")
    if value.strip().lower() == "off":
        return Source(name, "off")
    return Source(name, "configured", value.strip())


def _path(value: str | None, default: str) -> Path:
    path = Path(value or default)
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Reads the settings from ``env`` (the process environment by default)."""
    env = os.environ if env is None else env
    as_of = env.get("DEMO_AS_OF")
    channels = env.get("ALERT_CHANNELS", "jsonl://data/alerts.jsonl")
    return Settings(
        warehouse_path=_path(env.get("WAREHOUSE_PATH"), DEFAULT_WAREHOUSE),
        serving_path=_path(env.get("SERVING_PATH"), DEFAULT_SERVING),
        erp=_source("erp", env.get("ERP_DATABASE_URL")),
        crm=_source("crm", env.get("CRM_API_URL")),
        crm_token=env.get("CRM_API_TOKEN") or None,
        web=_source("web", env.get("WEB_EVENTS_PATH")),
        hr=_source("hr", env.get("HR_SURVEY_PATH")),
        demo_dir=_path(env.get("DEMO_PATH"), "data/demo"),
        demo_as_of=date.fromisoformat(as_of) if as_of else date.today(),
        demo_seed=int(env.get("DEMO_SEED", "42")),
        demo_scale=float(env.get("DEMO_SCALE", "1")),
        alert_channels=tuple(c.strip() for c in channels.split(",") if c.strip()),
        dashboard_path=_path(env.get("DASHBOARD_PATH"), "data/dashboard/index.html"),
    )
