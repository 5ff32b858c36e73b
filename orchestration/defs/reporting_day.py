"""The day a run reports on, set at launch or by the ``AS_OF`` setting (default: the latest
whole day, see ``settings._day``), and the warehouse the run holds while it works on it.

Every step of a run reads the same day from here: the demo company is generated as of it, dbt
builds the daily marts up to it (var ``as_of``), the KPIs are evaluated on it, and the radar
and the dashboard state it. A past day is a launch config, not a code change:

    resources:
      reporting_day:
        config:
          as_of: "2026-06-30"

Every step that writes or reads the warehouse takes this resource, so a run holds the
warehouse's lock (`orchestration.lib.run_lock`) from its first step to its last, however it was
launched: `make run` (which holds it already), `make dev`, the schedule. A second run waits for
the first, naming it in its log, and never interleaves its steps with the first's.
"""

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import dagster as dg
from pydantic import Field

from orchestration.lib.run_lock import Owner, holding
from orchestration.lib.settings import Settings, load_settings


class ReportingDay(dg.ConfigurableResource):
    """The as-of day of the run, the settings as this run sees them, and the warehouse's lock."""

    as_of: str = Field(
        default="",
        description="YYYY-MM-DD. Empty: the AS_OF setting, else the latest whole day in "
        "REPORTING_TIMEZONE (yesterday for a company's own data, today for the demo).",
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

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["ReportingDay"]:
        log = context.log
        run_id = context.run.run_id if context.run else "(no run)"

        def waiting(holder: Owner | None) -> None:
            who = holder.describe() if holder else "another run (it has not yet said which)"
            log.warning(f"The warehouse is in use by {who}; this run waits for it to finish.")

        warehouse = self.settings().warehouse_path
        with holding(warehouse, Owner.current(run_id), waiting) as dead:
            if dead is not None:
                log.warning(f"Recovered from {dead.describe()}: it died before finishing.")
            yield self
