"""Each heavy model's build time against its floor, in the same DuckDB.

    python benchmarks/marts.py WAREHOUSE [--repeats 3]

WAREHOUSE is a built warehouse (`make run`'s `data/warehouse.duckdb`, or one that
`benchmarks/pipeline.py --folder DIR` left). On a copy of it, each model's SQL as dbt compiles
it for a full build as of the warehouse's day (`reference.run_settings`) is timed against its
floor: one statement that reads the model's largest input once and aggregates it to the model's
grain (day or month by the total, each segment and region, or each channel), with no window,
lapse or customer-by-customer comparison. A model of that grain can hardly cost less; the ratio is
what the model's own logic costs on top. Both write their result as a table, alternately, and
the medians of ``--repeats`` runs are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from orchestration.lib.settings import PROJECT_ROOT, load_settings

ORDERS_BY_DAY = """
    select order_date, segment, region, count(distinct customer_id), count(*), sum(net_revenue)
    from intermediate.int_orders_enriched
    where not is_cancelled
    group by grouping sets ((order_date), (order_date, segment), (order_date, region))
"""
ORDERS_BY_MONTH = """
    select date_trunc('month', order_date) as month_start, segment, region,
        count(distinct customer_id), count(*), sum(net_revenue)
    from intermediate.int_orders_enriched
    where not is_cancelled
    group by grouping sets ((month_start), (month_start, segment), (month_start, region))
"""
FLOORS = {
    "int_orders_enriched": """
        select order_id, count(*), sum(line_revenue), sum(tax_amount)
        from intermediate.int_order_lines_converted
        group by order_id
    """,
    "fct_customer_value_daily": ORDERS_BY_DAY,
    "int_retention_kpis_daily": ORDERS_BY_DAY,
    "fct_revenue_bridge": ORDERS_BY_MONTH,
    "fct_retention_monthly": ORDERS_BY_MONTH,
    "fct_web_channels_daily": """
        select cast(occurred_at as date) as activity_date, channel,
            count(distinct visitor_id), count(distinct session_id),
            count(*) filter (where event_type = 'page_view'),
            count(*) filter (where event_type = 'sign_up')
        from staging.stg_web__events
        group by grouping sets ((activity_date), (activity_date, channel))
    """,
}


def compiled_models(warehouse: Path, as_of: date, target: Path) -> dict[str, str]:
    """The SQL of each model of FLOORS as dbt compiles it for a full build of ``warehouse``."""
    settings = load_settings({**os.environ, "AS_OF": as_of.isoformat()})
    command = [str(Path(sys.executable).parent / "dbt"), "--quiet", "compile", "--full-refresh"]
    command += ["--select", " ".join(FLOORS), "--vars", json.dumps(settings.dbt_vars())]
    command += ["--profiles-dir", str(PROJECT_ROOT), "--project-dir", str(PROJECT_ROOT)]
    command += ["--target-path", str(target), "--log-path", str(target)]
    env = {**os.environ, **settings.dbt_env(), "WAREHOUSE_PATH": str(warehouse)}
    # dbt prints the compiled SQL of what it compiles: kept out of the table printed here
    done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"dbt compile failed:\n{done.stdout}{done.stderr}")
    return {name: next((target / "compiled").rglob(f"{name}.sql")).read_text() for name in FLOORS}


def seconds(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    start = time.perf_counter()
    con.execute(f"create or replace table main.benchmarked as ({sql})")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="radar-marts-") as folder:
        copy = Path(folder) / "warehouse.duckdb"
        shutil.copy(args.warehouse, copy)
        with duckdb.connect(str(copy), read_only=True) as con:
            (as_of,) = con.execute("select as_of from reference.run_settings").fetchone()
        models = compiled_models(copy, as_of, Path(folder) / "target")
        repeats = args.repeats
        print(f"{'model':<26} {'model s':>8} {'floor s':>8} {'ratio':>6}")
        with duckdb.connect(str(copy)) as con:
            for name, floor in FLOORS.items():
                runs = [(seconds(con, models[name]), seconds(con, floor)) for _ in range(repeats)]
                model_s = statistics.median(run[0] for run in runs)
                floor_s = statistics.median(run[1] for run in runs)
                print(f"{name:<26} {model_s:8.2f} {floor_s:8.2f} {model_s / floor_s:5.1f}×")


if __name__ == "__main__":
    main()
