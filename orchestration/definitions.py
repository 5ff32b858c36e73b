"""The Dagster code location: gathers each domain's definitions and nothing else."""

import dagster as dg

from orchestration.defs import ingest, jobs, monitoring, transform

defs = dg.Definitions.merge(ingest.defs, transform.defs, monitoring.defs, jobs.defs)
