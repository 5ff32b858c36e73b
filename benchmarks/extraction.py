"""How fast each source is extracted, against the floor of a plain bulk copy.

    python benchmarks/extraction.py [--scales 1 10] [--runs 1] [--as-of 2026-06-30]
                                    [--sources crm erp web] [--folder DIR]

For each demo scale, in a folder of its own (a temporary one by default), the demo company is
written as of the day, then each source is extracted as the daily job extracts it: its dlt
source (``orchestration/lib/sources``) run by its pipeline into an empty DuckDB file; the CRM
over the demo's HTTP server on loopback (a process of its own), the ERP from the demo's
SQLite file, the web events from the demo's files. Prints, per source, the wall and CPU
seconds (of this process and its children, so the CRM's include the demo server's), the rows
landed and rows per second; then the floor: the ERP's tables copied as they are into DuckDB
(SQLite rows fetched in large batches, as Arrow, ``CREATE TABLE AS``), and the ratio of the
ERP extraction to that copy. With ``--runs`` above 1 each extraction runs that many times,
each into a new warehouse, and the medians are printed. Read the CPU seconds and the ratios
more than the wall times on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from demo_company.crm_server import served_apart
from demo_company.writer import DemoPaths, ensure_demo
from orchestration.defs.ingest.assets import pipeline
from orchestration.lib.raw_contract import source_tables
from orchestration.lib.sources.crm import crm_source
from orchestration.lib.sources.erp import erp_source
from orchestration.lib.sources.web import web_source

SOURCES = ("crm", "erp", "web")
FETCH_ROWS = 100_000


@dataclass
class Timed:
    wall: float
    cpu: float
    rows: int

    @property
    def rate(self) -> float:
        return self.rows / self.wall if self.wall else 0.0


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended (the CRM's server)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def timed(work: Callable[[], int]) -> Timed:
    started, cpu = time.perf_counter(), cpu_seconds()
    rows = work()
    return Timed(time.perf_counter() - started, cpu_seconds() - cpu, rows)


def median(runs: list[Timed]) -> Timed:
    return Timed(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        runs[-1].rows,
    )


def extract(source: str, demo: DemoPaths, warehouse: Path) -> int:
    """Rows ``source`` lands (quarantine included) into a new ``warehouse``, as the job does."""
    raw = pipeline(source, warehouse)
    location: AbstractContextManager[str]
    if source == "crm":
        location = served_apart(demo.crm_db)
    else:
        location = nullcontext(demo.erp_url if source == "erp" else str(demo.web_dir))
    with location as url:
        if source == "crm":  # as the job reads the demo's server: HubSpot's limits off
            raw.run(
                crm_source(url, requests_per_10_seconds=0, searches_per_second=0, parallel=False)
            )
        else:
            raw.run({"erp": erp_source, "web": web_source}[source](url))
    counts = raw.last_trace.last_normalize_info.row_counts
    return sum(n for table, n in counts.items() if not table.startswith("_dlt"))


def bulk_copy(demo: DemoPaths, warehouse: Path) -> int:
    """The ERP's contract tables copied into DuckDB as they are: no typing, no checks."""
    rows = 0
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with (
        sqlite3.connect(f"file:{demo.erp_db}?mode=ro", uri=True) as erp,
        duckdb.connect(str(warehouse)) as db,
    ):
        for table in source_tables("erp").values():
            if not erp.execute(
                "select 1 from sqlite_master where name = ?", (table.name,)
            ).fetchone():
                continue
            columns = list(table.columns)
            cursor = erp.execute(f"select {', '.join(columns)} from {table.name}")
            created = False
            while batch := cursor.fetchmany(FETCH_ROWS):
                arrow = pa.Table.from_arrays(
                    [pa.array(values) for values in zip(*batch, strict=True)], names=columns
                )
                db.register("batch", arrow)
                if created:
                    db.execute(f"insert into {table.name} select * from batch")
                else:
                    db.execute(f"create table {table.name} as select * from batch")
                    created = True
                db.unregister("batch")
                rows += len(batch)
    return rows


def measure(
    scale: float, as_of: date, folder: Path, sources: list[str], runs: int
) -> dict[str, Timed]:
    started = time.perf_counter()
    demo = ensure_demo(folder / "demo", as_of, seed=42, scale=scale)
    print(f"\nscale {scale:g}: demo written in {time.perf_counter() - started:.1f} s")
    results: dict[str, Timed] = {}
    jobs: list[tuple[str, Callable[[Path], int]]] = [
        (source, lambda w, s=source: extract(s, demo, w)) for source in sources
    ]
    if "erp" in sources:
        jobs.append(("erp bulk copy", lambda w: bulk_copy(demo, w)))
    for name, job in jobs:
        measured = []
        for run in range(runs):
            target = folder / f"run-{name.replace(' ', '_')}-{run}"
            measured.append(timed(lambda t=target, j=job: j(t / "warehouse.duckdb")))
            shutil.rmtree(target, ignore_errors=True)
        results[name] = median(measured)
        one = results[name]
        print(
            f"  {name:<14} {one.wall:8.1f} s wall {one.cpu:8.1f} s CPU "
            f"{one.rows:>10,} rows {one.rate:>10,.0f} rows/s",
            flush=True,
        )
    if "erp" in results:
        erp, floor = results["erp"], results["erp bulk copy"]
        print(
            f"  ERP extraction / bulk copy: {erp.wall / floor.wall:.1f}x wall, "
            f"{erp.cpu / floor.cpu:.1f}x CPU"
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--runs", type=int, default=1, help="runs of each; medians printed")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--sources", nargs="+", choices=SOURCES, default=list(SOURCES))
    parser.add_argument("--folder", type=Path, help="where to build (default: a temporary one)")
    args = parser.parse_args()
    for scale in args.scales:
        parent = args.folder or Path(tempfile.mkdtemp(prefix="radar-extraction-"))
        try:
            measure(scale, args.as_of, parent / f"scale-{scale:g}", args.sources, args.runs)
        finally:
            if args.folder is None:
                shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    main()
