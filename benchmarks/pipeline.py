"""Where the daily job's time and memory go, on its first day and on the next.

    python benchmarks/pipeline.py [--scales 1 10 40] [--engines duckdb spark]
                                  [--as-of 2026-06-30] [--folder DIR]

For each engine (DuckDB, or Spark on a local standalone cluster started for the benchmark as in
`make test-spark`; its processes' CPU and memory count with the run's) and demo scale, in a
folder of its own: the demo company is written as of the day, then
`python -m orchestration run` runs as of that day on an empty warehouse (day 1) and as of the
next day on the same warehouse (day 2, the demo written again as of it). Prints, per scale and
day, the wall and CPU seconds of the run and of each step (the process tree of the run is
sampled every 0.2 s; a step's CPU is what the tree used between its start and its end), the
peak memory of the tree, and inside the dbt step the seconds dbt's nodes took by kind (from
dbt's ``run_results.json``). Read the CPU seconds and the ratios more than the wall times on a
shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from demo_company.writer import ensure_demo
from orchestration.lib.settings import PROJECT_ROOT

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.2


@dataclass
class Sample:
    at: float  # time.time()
    cpu: float  # seconds of CPU the tree used so far
    rss: int  # bytes resident in the tree now


@dataclass
class Measured:
    engine: str
    scale: float
    day: int
    wall: float
    cpu: float
    peak_rss: int
    steps: dict[str, tuple[float, float]] = field(default_factory=dict)  # wall, CPU
    dbt_nodes: dict[str, float] = field(default_factory=dict)  # kind: seconds


def _stat(pid: int) -> tuple[int, float, int] | None:
    """Parent PID, CPU seconds (own and of reaped children) and resident bytes of ``pid``."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return int(fields[1]), (utime + stime + cutime + cstime) / TICKS, int(fields[21]) * PAGE


def sample_tree(*roots: int) -> Sample:
    """CPU and memory of the ``roots`` and every process below them."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            stats[int(entry)] = stat
    children = defaultdict(list)
    for pid, (parent, _, _) in stats.items():
        children[parent].append(pid)
    cpu, rss, todo = 0.0, 0, list(roots)
    while todo:
        pid = todo.pop()
        if pid in stats:
            cpu += stats[pid][1]
            rss += stats[pid][2]
            todo.extend(children[pid])
    return Sample(time.time(), cpu, rss)


def cpu_at(samples: list[Sample], moment: float) -> float:
    """The tree's CPU seconds at ``moment``, interpolated between samples."""
    before = [s for s in samples if s.at <= moment] or samples[:1]
    after = [s for s in samples if s.at >= moment] or samples[-1:]
    a, b = before[-1], after[0]
    if b.at == a.at:
        return a.cpu
    return a.cpu + (b.cpu - a.cpu) * (moment - a.at) / (b.at - a.at)


def step_times(home: Path, run_id: str) -> dict[str, tuple[float, float]]:
    """Start and end (time.time()) of each step of the run, from its Dagster instance."""
    spans: dict[str, list[float]] = {}
    # dagster.yaml places the event log under $DAGSTER_HOME.
    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        for record in instance.all_logs(run_id):
            event = record.dagster_event
            if event is None or not record.step_key:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                spans[record.step_key] = [record.timestamp, record.timestamp]
            elif event.event_type in (
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            ):
                spans.setdefault(record.step_key, [record.timestamp])[1:] = [record.timestamp]
    return {key: (span[0], span[-1]) for key, span in spans.items()}


def dbt_node_seconds(run_id: str) -> dict[str, float]:
    """Seconds dbt's nodes took in the run's two builds, by kind: seeds, models, tests
    (dagster-dbt gives each invocation a target folder named after the run)."""
    folders = (PROJECT_ROOT / "target").glob(f"dbt_models*-{run_id[:7]}*")
    results = [
        r for f in folders for r in json.loads((f / "run_results.json").read_text())["results"]
    ]
    seconds: dict[str, float] = defaultdict(float)
    for result in results:
        unique_id = result["unique_id"]
        kind = unique_id.split(".")[0]
        seconds["test" if kind == "unit_test" else kind] += result["execution_time"]
    return dict(seconds)


def run_day(
    env: dict, day: date, scale: float, number: int, home: Path, cluster: tuple[int, ...]
) -> Measured:
    """The run as of ``day``, its CPU and memory with those of the ``cluster``'s processes."""
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestration", "run", "--as-of", day.isoformat()],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started = time.time()
    samples = [sample_tree(process.pid, *cluster)]
    while process.poll() is None:
        time.sleep(SAMPLE_SECONDS)
        samples.append(sample_tree(process.pid, *cluster))
    output = process.stdout.read()
    if process.returncode != 0:
        raise SystemExit(f"the run as of {day} failed:\n{output}")
    run_id = re.search(r"\(run ([0-9a-f-]{36})\)", output).group(1)
    measured = Measured(
        "spark" if cluster else "duckdb",
        scale,
        number,
        wall=time.time() - started,
        # the cluster's processes count from the run's start; the run's own tree vanishes
        # from the last sample when it has just ended
        cpu=max(sample.cpu for sample in samples) - samples[0].cpu,
        peak_rss=max(sample.rss for sample in samples),
        dbt_nodes=dbt_node_seconds(run_id),
    )
    for step, (start, end) in step_times(home, run_id).items():
        measured.steps[step] = (end - start, cpu_at(samples, end) - cpu_at(samples, start))
    return measured


def measure(
    scale: float, as_of: date, folder: Path, spark: dict[str, str], cluster: tuple[int, ...]
) -> list[Measured]:
    demo, home = folder / "demo", folder / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", home / "dagster.yaml")
    unset = ("ERP_DATABASE_URL", "CRM_API_URL", "CRM_API_TOKEN", "WEB_EVENTS_PATH")
    env = {key: value for key, value in os.environ.items() if key not in unset}
    env.update(
        DEMO_SCALE=str(scale),
        DEMO_SEED="42",
        DEMO_PATH=str(demo),
        DAGSTER_HOME=str(home),
        WAREHOUSE_PATH=str(folder / "data" / "warehouse.duckdb"),
        SERVING_PATH=str(folder / "data" / "serving.duckdb"),
        DASHBOARD_PATH=str(folder / "dashboard" / "index.html"),
        ALERT_CHANNELS="",
        # Day 2 runs minutes after day 1, not a day: without the look-back, the incremental
        # marts recompute what they would the next day (the default day-long look-back would
        # take all of day 1's loads for changes).
        INCREMENTAL_LOOKBACK_MINUTES="0",
        **spark,
    )
    days = []
    for number, day in enumerate((as_of, as_of + timedelta(days=1)), start=1):
        started, cpu = time.time(), time.process_time()
        ensure_demo(demo, day, seed=42, scale=scale)
        demo_wall, demo_cpu = time.time() - started, time.process_time() - cpu
        measured = run_day(env, day, scale, number, home, cluster)
        measured.steps = {"demo company": (demo_wall, demo_cpu), **measured.steps}
        days.append(measured)
        print_day(measured)
    return days


def print_day(measured: Measured) -> None:
    print(
        f"\n{measured.engine}, scale {measured.scale:g}, day {measured.day}: "
        f"{measured.wall:.1f} s wall, "
        f"{measured.cpu:.1f} s CPU, peak memory {measured.peak_rss / 2**20:,.0f} MiB"
    )
    print(f"  {'step':<32} {'wall s':>8} {'CPU s':>8}")
    for step, (wall, cpu) in measured.steps.items():
        print(f"  {step:<32} {wall:8.1f} {cpu:8.1f}")
    nodes = ", ".join(f"{kind} {seconds:.1f} s" for kind, seconds in measured.dbt_nodes.items())
    print(f"  dbt node time by kind: {nodes}")


@contextmanager
def engine(name: str, folder: Path) -> Iterator[tuple[dict[str, str], tuple[int, ...]]]:
    """The settings of the engine ``name`` and the processes of its cluster (none for DuckDB):
    for Spark, a standalone master, two workers and the Thrift server on 127.0.0.1, as in
    `make test-spark` (tests/spark_cluster.py)."""
    if name == "duckdb":
        yield {}, ()
        return
    sys.path.insert(0, str(PROJECT_ROOT / "tests"))
    from spark_cluster import spark_cluster, spark_home

    with spark_cluster(folder / "spark", spark_home()) as cluster:
        settings = {
            "DBT_TARGET": "spark",
            "STORAGE_LOCATION": str(folder / "lake"),
            "SPARK_THRIFT_PORT": str(cluster.thrift_port),
        }
        yield settings, cluster.pids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--engines", nargs="+", choices=["duckdb", "spark"], default=["duckdb"])
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--folder", type=Path, help="where to build (default: a temporary one)")
    args = parser.parse_args()
    summary = []
    parent = args.folder or Path(tempfile.mkdtemp(prefix="radar-benchmark-"))
    try:
        for name in args.engines:
            with engine(name, parent / name) as (settings, cluster):
                for scale in args.scales:
                    folder = parent / name / f"scale-{scale:g}"
                    first, second = measure(scale, args.as_of, folder, settings, cluster)
                    summary.append((first, second))
    finally:
        if args.folder is None:
            shutil.rmtree(parent, ignore_errors=True)
    print(
        f"\n{'engine':>7} {'scale':>6} {'day 1 wall':>11} {'day 1 CPU':>10} {'day 2 wall':>11} "
        f"{'day 2 CPU':>10} {'day 2 / day 1 CPU':>18} {'peak MiB':>9}"
    )
    for first, second in summary:
        print(
            f"{first.engine:>7} {first.scale:6g} {first.wall:11.1f} {first.cpu:10.1f} "
            f"{second.wall:11.1f} {second.cpu:10.1f} {second.cpu / first.cpu:18.0%} "
            f"{max(first.peak_rss, second.peak_rss) / 2**20:9,.0f}"
        )


if __name__ == "__main__":
    main()
