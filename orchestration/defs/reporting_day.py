"""The day a run reports on, set at launch or by the ``AS_OF`` setting (default: today).

Every step of a run reads the same day from here: the demo company is generated as of it, dbt
builds the daily marts up to it (var ``as_of``), the KPIs are evaluated on it, and the radar
and the dashboard state it. A past day is a launch config, not a code change:

    resources:
      reporting_day:
        config:
          as_of: "2026-06-30"
"""

import dataclasses
from datetime import date

import dagster as dg
from pydantic import Field

from orchestration.lib.settings import Settings, load_settings


class ReportingDay(dg.ConfigurableResource):
    """The as-of day of the run, and the settings as this run sees them."""

    as_of: str = Field(
        default="",
        description="YYYY-MM-DD. Empty: the AS_OF setting, else today in REPORTING_TIMEZONE.",
    )

    def settings(self) -> Settings:
        settings = load_settings()
        if not self.as_of:
            return settings
        try:
            day = date.fromisoformat(self.as_of)
        except ValueError:
            raise dg.Failure(
                f"resources.reporting_day.config.as_of={self.as_of!r} is not a calendar day "
                "in the form YYYY-MM-DD, e.g. 2026-06-30."
            ) from None
        return dataclasses.replace(settings, as_of=day)

    def day(self) -> date:
        return self.settings().as_of
