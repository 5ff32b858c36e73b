"""The Dagster code location: gathers each domain's definitions and the run's as-of day."""

import dagster as dg

from orchestration.defs import dashboard, ingest, jobs, monitoring, serving, transform
from orchestration.defs.reporting_day import ReportingDay

defs = dg.Definitions.merge(
    ingest.defs,
    transform.defs,
    monitoring.defs,
    serving.defs,
    dashboard.defs,
    jobs.defs,
    # One day for every step of a run; set at launch to report on (or backfill) a past day.
    dg.Definitions(resources={"reporting_day": ReportingDay()}),
)


def daily_radar_job() -> dg.JobDefinition:
    """The daily job, as a process of each of its steps imports it (dg.reconstructable)."""
    return defs.resolve_job_def("daily_radar")
