"""Where the daily job's time and memory go, on its first day and on the next.

    python benchmarks/pipeline.py [--scales 1 10 40] [--engines duckdb spark]
                                  [--until-unfit] [--budget-minutes 60]
                                  [--as-of 2026-06-30] [--folder DIR]

For each engine (DuckDB, or Spark on a local standalone cluster started for the benchmark as in
`make test-spark`; its processes' CPU and memory count with the run's) and demo scale, in a
folder of its own: the demo company is written as of the day, then
`python -m orchestration run` runs as of that day on an empty warehouse (day 1) and as of the
next day on the same warehouse (day 2, the demo written again as of it). Prints, per scale and
day, the wall and CPU seconds of the run and of each step (the process tree of the run is
sampled every 0.2 s; a step's CPU is what the tree used between its start and its end), the
peak memory of the tree and of each step, and inside the dbt step the seconds dbt's nodes took
by kind (from dbt's ``run_results.json``). Read the CPU seconds and the ratios more than the
wall times on a shared machine.

A scale fits the machine when both days' runs succeed, each within the budget (default: an
hour, a night's window with room to spare); a run past it is stopped. With ``--until-unfit``
the scale doubles after the last one given until a scale does not fit, and the summary says
where each engine stopped fitting and why (a run killed for memory fails like any other: the
summary then shows its peak beside the machine's memory).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from orchestration.lib.settings import PROJECT_ROOT

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.2
MACHINE_MEMORY = os.sysconf("SC_PHYS_PAGES") * PAGE


@dataclass
class Sample:
    at: float  # time.time()
    cpu: float  # seconds of CPU the tree used so far
    rss: int  # bytes resident in the tree now


@dataclass
class Step:
    wall: float
    cpu: float
    peak_rss: int


@dataclass
class Measured:
    engine: str
    scale: float
    day: int
    wall: float
    cpu: float
    peak_rss: int
    steps: dict[str, Step] = field(default_factory=dict)
    dbt_nodes: dict[str, float] = field(default_factory=dict)  # kind: seconds
    failure: str | None = None  # why the day did not fit the machine


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


def peak_between(samples: list[Sample], start: float, end: float) -> int:
    """The tree's largest resident memory sampled from ``start`` to ``end`` (or, for a span
    shorter than the sampling, at the sample nearest its end)."""
    within = [s.rss for s in samples if start <= s.at <= end]
    return max(within) if within else min(samples, key=lambda s: abs(s.at - end)).rss


@dataclass
class Sampled:
    returncode: int | None  # None: stopped at the budget
    output: str
    started: float
    samples: list[Sample]

    def step(self) -> Step:
        """The whole process as one step."""
        samples = self.samples
        return Step(
            samples[-1].at - self.started,
            max(s.cpu for s in samples) - samples[0].cpu,
            max(s.rss for s in samples),
        )


def sampled(command: list[str], env: dict, cluster: tuple[int, ...], budget: float) -> Sampled:
    """Runs ``command`` from the project's folder, sampling its tree with the ``cluster``'s
    processes; stops its process group past ``budget`` seconds."""
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    started = time.time()
    samples = [sample_tree(process.pid, *cluster)]
    while process.poll() is None:
        if time.time() - started > budget:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            reader.join()
            return Sampled(None, "".join(output), started, samples)
        time.sleep(SAMPLE_SECONDS)
        samples.append(sample_tree(process.pid, *cluster))
    reader.join()
    return Sampled(process.returncode, "".join(output), started, samples)


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
    env: dict,
    day: date,
    scale: float,
    number: int,
    home: Path,
    cluster: tuple[int, ...],
    budget: float,
) -> Measured:
    """The demo company and the run as of ``day``, their CPU and memory with those of the
    ``cluster``'s processes; each is stopped past ``budget`` seconds."""
    write_demo = (
        "import sys; from datetime import date; from pathlib import Path; "
        "from demo_company.writer import ensure_demo; "
        "ensure_demo(Path(sys.argv[1]), date.fromisoformat(sys.argv[2]), seed=42, "
        "scale=float(sys.argv[3]))"
    )
    demo_command = [sys.executable, "-c", write_demo, env["DEMO_PATH"], day.isoformat(), str(scale)]
    demo = sampled(demo_command, env, (), budget)
    engine = "spark" if cluster else "duckdb"
    if demo.returncode != 0:
        return _failed(engine, scale, number, demo, "writing the demo company", budget)
    run_command = [sys.executable, "-m", "orchestration", "run", "--as-of", day.isoformat()]
    run = sampled(run_command, env, cluster, budget)
    if run.returncode != 0:
        return _failed(engine, scale, number, run, "the run", budget)
    run_id = re.search(r"\(run ([0-9a-f-]{36})\)", run.output).group(1)
    whole = run.step()
    measured = Measured(
        engine,
        scale,
        number,
        whole.wall,
        whole.cpu,
        whole.peak_rss,
        steps={"demo company": demo.step()},
        dbt_nodes=dbt_node_seconds(run_id),
    )
    samples = run.samples
    for name, (start, end) in step_times(home, run_id).items():
        measured.steps[name] = Step(
            end - start,
            cpu_at(samples, end) - cpu_at(samples, start),
            peak_between(samples, start, end),
        )
    return measured


def _failed(
    engine: str, scale: float, number: int, process: Sampled, what: str, budget: float
) -> Measured:
    whole = process.step()
    if process.returncode is None:
        failure = f"{what} did not finish within {budget / 60:.0f} minutes"
    else:
        tail = process.output.strip().splitlines()[-3:]
        failure = f"{what} failed (exit {process.returncode}): " + " | ".join(tail)
    return Measured(engine, scale, number, whole.wall, whole.cpu, whole.peak_rss, failure=failure)


def measure(
    scale: float,
    as_of: date,
    folder: Path,
    spark: dict[str, str],
    cluster: tuple[int, ...],
    budget: float,
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
        measured = run_day(env, day, scale, number, home, cluster, budget)
        days.append(measured)
        print_day(measured)
        if measured.failure:
            break
    return days


def print_day(measured: Measured) -> None:
    print(
        f"\n{measured.engine}, scale {measured.scale:g}, day {measured.day}: "
        f"{measured.wall:.1f} s wall, "
        f"{measured.cpu:.1f} s CPU, peak memory {measured.peak_rss / 2**20:,.0f} MiB"
    )
    if measured.failure:
        print(f"  does not fit: {measured.failure}")
        return
    print(f"  {'step':<44} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9}")
    for name, step in measured.steps.items():
        print(f"  {name:<44} {step.wall:8.1f} {step.cpu:8.1f} {step.peak_rss / 2**20:9,.0f}")
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
    from spark_cluster import WITHOUT_SPARK, spark_cluster, spark_home

    home = spark_home()
    if home is None:
        raise SystemExit(WITHOUT_SPARK)
    with spark_cluster(folder / "spark", home) as cluster:
        settings = {
            "DBT_TARGET": "spark",
            "STORAGE_LOCATION": str(folder / "lake"),
            "SPARK_THRIFT_PORT": str(cluster.thrift_port),
        }
        yield settings, cluster.pids


def scales_to_run(given: list[float], until_unfit: bool) -> Iterator[float]:
    """The scales given, then (``until_unfit``) each double of the last, without end: the
    caller stops at the first that does not fit."""
    yield from given
    scale = given[-1]
    while until_unfit:
        scale *= 2
        yield scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0])
    parser.add_argument("--engines", nargs="+", choices=["duckdb", "spark"], default=["duckdb"])
    parser.add_argument(
        "--until-unfit", action="store_true", help="double the last scale until one does not fit"
    )
    parser.add_argument("--budget-minutes", type=float, default=60.0, help="per day's run")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--folder", type=Path, help="where to build (default: a temporary one)")
    args = parser.parse_args()
    summary: list[list[Measured]] = []
    parent = args.folder or Path(tempfile.mkdtemp(prefix="radar-benchmark-"))
    try:
        for name in args.engines:
            with engine(name, parent / name) as (settings, cluster):
                for scale in scales_to_run(args.scales, args.until_unfit):
                    folder = parent / name / f"scale-{scale:g}"
                    days = measure(
                        scale, args.as_of, folder, settings, cluster, args.budget_minutes * 60
                    )
                    summary.append(days)
                    if not fits(days):
                        break
    finally:
        if args.folder is None:
            shutil.rmtree(parent, ignore_errors=True)
    print_summary(summary)


def fits(days: list[Measured]) -> bool:
    return not any(day.failure for day in days)


def print_summary(summary: list[list[Measured]]) -> None:
    print(
        f"\n{'engine':>7} {'scale':>6} {'day 1 wall':>11} {'day 1 CPU':>10} {'day 2 wall':>11} "
        f"{'day 2 CPU':>10} {'day 2 / day 1 CPU':>18} {'peak MiB':>9}"
    )
    for days in summary:
        first, peak = days[0], max(day.peak_rss for day in days) / 2**20
        if not fits(days):
            print(f"{first.engine:>7} {first.scale:6g} does not fit, peak {peak:,.0f} MiB")
            continue
        second = days[1]
        print(
            f"{first.engine:>7} {first.scale:6g} {first.wall:11.1f} {first.cpu:10.1f} "
            f"{second.wall:11.1f} {second.cpu:10.1f} {second.cpu / first.cpu:18.0%} {peak:9,.0f}"
        )
    print(f"\nthe machine: {os.cpu_count()} cores, {MACHINE_MEMORY / 2**20:,.0f} MiB of memory")
    for name in dict.fromkeys(days[0].engine for days in summary):
        runs = [days for days in summary if days[0].engine == name]
        fitting = [days[0].scale for days in runs if fits(days)]
        largest = f"fits up to scale {max(fitting):g}" if fitting else "fits no scale tried"
        failed = [day for days in runs for day in days if day.failure]
        if failed:
            print(
                f"{name}: {largest}; at scale {failed[0].scale:g}, day {failed[0].day}: "
                f"{failed[0].failure}"
            )
        else:
            print(f"{name}: {largest}, the largest tried")


if __name__ == "__main__":
    main()
