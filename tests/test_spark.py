"""The same daily job on a Spark cluster: a standalone master, two workers and the Thrift server
on 127.0.0.1, the raw tables as Parquet under a storage location, every dbt model and test and
the two Python tables built there, the four sources extracted side by side; as of two days in
turn, its marts, alerts, serving copy and radar equal the DuckDB run's on the same demo company
row for row, and dbt's unit tests pass there (`make test-spark`). The second day's run is killed
once first, while dbt builds: its steps and their dbt end with it."""

import contextlib
import json
import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from benchmark_scripts import benchmark
from radar_runs import (
    AS_OF,
    RUN_TIMEOUT,
    Run,
    assert_every_dbt_unit_test_passes,
    radar_env,
    wait_until,
)
from spark_cluster import WITHOUT_SPARK, spark_cluster, spark_home

from demo_company.writer import DemoPaths
from orchestration.lib.run_lock import process_stat
from orchestration.lib.serving import SERVED_SCHEMAS
from orchestration.lib.settings import PROJECT_ROOT

pytestmark = pytest.mark.spark

COPIES = ("warehouse.duckdb", "serving.duckdb")

# Columns in which two runs differ by design: when a row was loaded, a model fitted, the KPIs
# evaluated, an alert recorded or sent, and the channel each run sends its alerts to (a file of
# its own), which also names each message.
RUN_COLUMNS = (
    "_loaded_at",
    "model_fitted_at",
    "evaluated_at",
    "recorded_at",
    "next_attempt_at",
    "claimed_at",
    "sent_at",
    "channel",
    "message_id",
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    home = spark_home()
    assert home is not None, WITHOUT_SPARK
    with spark_cluster(tmp_path_factory.mktemp("spark"), home) as running:
        yield running


def test_the_thrift_server_can_build_hives_function_registry(cluster):
    """The pyspark 4 package leaves out classes that Hive's function registry needs, and its
    Thrift server builds the registry when it must close a session without the Hive client it
    used (as when two sessions close at once): the registry is loaded here by the server's own
    JVM (a projection of a local relation is evaluated there), first among this module's tests."""
    from pyhive import hive

    registry = "org.apache.hadoop.hive.ql.exec.FunctionRegistry"
    with contextlib.closing(hive.connect(host="127.0.0.1", port=cluster.thrift_port)) as con:
        cursor = con.cursor()
        cursor.execute(f"select reflect('java.lang.Class', 'forName', '{registry}') from values 1")
        assert cursor.fetchall() == [(f"class {registry}",)]


def spark_settings(cluster) -> dict[str, str]:
    """The settings of a run on ``cluster``, its raw data under the cluster's folder."""
    return {
        "DBT_TARGET": "spark",
        "STORAGE_LOCATION": str(cluster.root / "lake"),
        "SPARK_THRIFT_PORT": str(cluster.thrift_port),
    }


# Two days in turn, on the same warehouse: the second loads what the demo company changed
# since the first (dlt's merge moves rows to a later load, which the lake must follow) and
# builds the incremental marts of DuckDB on the first day's.
DAYS = (AS_OF, AS_OF + timedelta(days=1))


@pytest.fixture(scope="module")
def runs(cluster, small_demo, tmp_path_factory):
    """The job on the small demo company, on DuckDB and on the cluster, as of each of DAYS: each
    engine's folder, which keeps each day's warehouse and serving copy in a folder of its own."""
    demo = DemoPaths(tmp_path_factory.mktemp("demo") / "company")
    shutil.copytree(small_demo.directory, demo.directory)  # written again as of the second day
    # A line no reader can parse: held in a quarantine with its reason, which the radar notes.
    with (demo.web_dir / f"events_{AS_OF}.jsonl").open("a") as events:
        events.write("{not json\n")
    spark = spark_settings(cluster)
    roots = {engine: tmp_path_factory.mktemp(engine) for engine in ("duckdb", "spark")}
    for day in DAYS:
        for engine, settings in (("duckdb", {}), ("spark", spark)):
            root = roots[engine]
            env = radar_env(root, demo, AS_OF=day.isoformat(), **settings)
            killed = (
                kill_during_dbt(env, root / f"{day}-killed.out")
                if day == DAYS[1] and engine == "spark"
                else None
            )
            run = Run(env, root / f"{day}.out")
            assert run.finish(RUN_TIMEOUT * 3) == 0, run.text()[-5000:]
            assert ("Recovered from run" in run.text()) == bool(killed), run.text()[-5000:]
            if killed:
                # the killed run's dbt was stopped, not left to finish its build
                assert nodes_built(killed) < nodes_built(run)
            (root / str(day)).mkdir()
            for copy in COPIES:
                shutil.copy(root / "data" / copy, root / str(day) / copy)
    return roots


def kill_during_dbt(env: dict, out: Path) -> Run:
    """A run killed (``kill -9`` of its process) while dbt builds the marts: its steps, each in
    a process of its own, and the dbt they started end too."""
    killed = Run(env, out)
    try:
        wait_until(lambda: dbt_builds(killed), RUN_TIMEOUT * 3, "a dbt build of the run")
        killed.kill()
        wait_until(
            lambda: not session_processes(killed.process.pid),
            RUN_TIMEOUT,
            "the killed run's steps and their dbt to end",
        )
    finally:
        killed.stop()
    return killed


def nodes_built(run: Run) -> int:
    """How many nodes the first dbt build of a run reported on (none when it did not end)."""
    run_id = re.search(r"\(run ([\w-]+)\)", run.text())[1]
    (build,) = (PROJECT_ROOT / "target").glob(f"dbt_models-{run_id[:7]}-*")
    results = build / "run_results.json"
    return len(json.loads(results.read_text())["results"]) if results.exists() else 0


def dbt_builds(run: Run) -> bool:
    """Whether the run's first dbt build has started a node (failing the test if the run has
    ended): its log in its target folder says so."""
    if run.process.poll() is not None:
        pytest.fail(f"the run ended before it was killed:\n{run.text()}")
    run_id = re.search(r"\(run ([\w-]+)\)", run.text())
    logs = (PROJECT_ROOT / "target").glob(f"dbt_models-{run_id[1][:7]}-*/dbt.log") if run_id else []
    return any(" START " in log.read_text() for log in logs)


def session_processes(session: int) -> list[str]:
    """The command lines of the live processes of a session."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        fields = process_stat(int(proc.name))
        with contextlib.suppress(OSError):
            if fields and fields[0] != "Z" and int(fields[3]) == session:
                found.append(
                    (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
    return found


def test_on_spark_the_sources_are_extracted_side_by_side_and_the_radar_is_the_same(
    runs, monkeypatch
):
    home = runs["spark"] / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # set again by step_times, restored after
    for day in DAYS:
        run_id = re.search(r"\(run ([\w-]+)\)", (runs["spark"] / f"{day}.out").read_text())[1]
        with benchmark("pipeline") as pipeline:
            steps = pipeline.step_times(home, run_id)
        extraction = [steps[f"extract_{source}"] for source in ("erp", "crm", "web", "hr")]
        overlapping = [
            (a, b)
            for i, a in enumerate(extraction)
            for b in extraction[i + 1 :]
            if a[0] < b[1] and b[0] < a[1]
        ]
        assert overlapping, steps
        # The radar with its alerts and its notes on the quarantined rows, which on Spark lie
        # in the files each source lands in.
        radar = {
            engine: (root / f"{day}.out").read_text().split("KPI radar as of")[1]
            for engine, root in runs.items()
        }
        radar = {engine: text.split("CEO dashboard")[0] for engine, text in radar.items()}
        assert "1 row held in raw_web." in radar["duckdb"]
        assert radar["spark"] == radar["duckdb"]


def test_every_dbt_unit_test_passes_on_the_cluster(runs, cluster, tmp_path):
    """dbt's unit tests, each model's logic on fixed rows, pass on Spark as on DuckDB
    (tests/test_end_to_end.py); their fixtures take their columns' types from the tables the
    runs built on the cluster."""
    assert_every_dbt_unit_test_passes({**os.environ, **spark_settings(cluster)}, tmp_path)


def columns(path: Path) -> list[tuple[str, str, str, str, str | None]]:
    """Schema, table, column, type and comment of every column of the served schemas, and
    each table's comment as a column named ''."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select schema_name, table_name, column_name, data_type, comment, column_index"
            f" from duckdb_columns() where schema_name in {SERVED_SCHEMAS}"
            " union all select schema_name, table_name, '', '', comment, 0"
            f" from duckdb_tables() where schema_name in {SERVED_SCHEMAS}"
            " order by schema_name, table_name, column_index"
        ).fetchall()


def differences(left: Path, right: Path, schema: str, table: str) -> tuple[int, int, int]:
    """Rows only in ``left``, only in ``right`` (EXCEPT ALL both ways: money to the cent, other
    numbers to 1e-9, RUN_COLUMNS left out), and the rows of ``left``."""
    with contextlib.closing(duckdb.connect()) as con:
        con.execute(f"attach '{left}' as l (read_only); attach '{right}' as r (read_only)")
        columns = con.execute(
            "select column_name, data_type from duckdb_columns()"
            " where database_name = 'l' and schema_name = ? and table_name = ?"
            " order by column_index",
            [schema, table],
        ).fetchall()
        compared = ", ".join(
            f'round("{name}", 2)'
            if kind.startswith("DECIMAL")
            else f'round("{name}", 9)'
            if kind in ("DOUBLE", "FLOAT")
            else f'"{name}"'
            for name, kind in columns
            if name not in RUN_COLUMNS
        )
        a = f'select {compared} from l."{schema}"."{table}"'
        b = f'select {compared} from r."{schema}"."{table}"'
        (only_left,) = con.execute(f"select count(*) from ({a} except all {b})").fetchone()
        (only_right,) = con.execute(f"select count(*) from ({b} except all {a})").fetchone()
        (rows,) = con.execute(f"select count(*) from ({a})").fetchone()
        return only_left, only_right, rows


@pytest.mark.parametrize("day", DAYS, ids=str)
@pytest.mark.parametrize("copy", COPIES)
def test_every_mart_alert_and_reference_table_equals_the_duckdb_runs(runs, day, copy):
    duck, spark = (runs[engine] / str(day) / copy for engine in ("duckdb", "spark"))
    assert columns(spark) == columns(duck)
    tables = sorted({(schema, table) for schema, table, *_ in columns(duck)})
    assert sum(bool(comment) for *_, comment, _ in columns(duck)) > 100
    assert len(tables) > 15
    unequal = {}
    for schema, table in tables:
        only_duck, only_spark, rows = differences(duck, spark, schema, table)
        if only_duck or only_spark:
            unequal[f"{schema}.{table}"] = (only_duck, only_spark, rows)
    assert unequal == {}
