"""The Dagster code location: gathers each domain's definitions and nothing else."""

import dagster as dg

from orchestration.defs import dashboard, ingest, jobs, monitoring, serving, transform

defs = dg.Definitions.merge(
    ingest.defs, transform.defs, monitoring.defs, serving.defs, dashboard.defs, jobs.defs
)
