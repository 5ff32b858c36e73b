"""What the engine of the dbt target fixes when the definitions load: the job's executor and
the steps that take the DuckDB file's one writer."""

import os

import dagster as dg

from orchestration.lib.settings import DBT_TARGETS

# load_settings checks DBT_TARGET when a run starts: an unknown target fails there, with why.
ENGINE = DBT_TARGETS.get(os.environ.get("DBT_TARGET", "dev"), "duckdb")
# DuckDB allows one writing process per file: every step that writes the DuckDB file takes the
# one slot of this pool (dagster.yaml), across runs too.
WAREHOUSE_POOL = "duckdb_warehouse"
# The raw loads and the Python tables write the DuckDB file on DuckDB only: on Spark each source
# lands in a file of its own (Settings.landing_path) and the Python tables go to the cluster.
ENGINE_POOL = WAREHOUSE_POOL if ENGINE == "duckdb" else None
# On DuckDB one step after another in one process: one writer at a time, and a process per step
# would cost more than the demo's steps. On Spark the steps that need no slot of the pool (the
# four sources' extraction, the CLV fit and the tone) run side by side, a process each.
EXECUTOR = dg.in_process_executor if ENGINE == "duckdb" else dg.multiprocess_executor
