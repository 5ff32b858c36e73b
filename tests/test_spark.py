"""The same daily job on a Spark cluster: a standalone master, two workers and the Thrift server
on 127.0.0.1, the raw tables as Parquet under a storage location, every dbt model and test and
the two Python tables built there; its marts, alerts and serving copy equal the DuckDB run's on
the same demo company row for row (`make test-spark`)."""

import contextlib
from pathlib import Path

import duckdb
import pytest
from radar_runs import RUN_TIMEOUT, Run, radar_env
from spark_cluster import spark_cluster, spark_home

from orchestration.lib.serving import SERVED_SCHEMAS

pytestmark = pytest.mark.spark

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
    assert home is not None, "the Spark tests need pyspark (make test-spark) and Java 17"
    with spark_cluster(tmp_path_factory.mktemp("spark"), home) as running:
        yield running


@pytest.fixture(scope="module")
def runs(cluster, small_demo, tmp_path_factory):
    """The job on the small demo company, on DuckDB and on the cluster: each run's data folder."""
    folders = {}
    for engine, settings in (
        ("duckdb", {}),
        (
            "spark",
            {
                "DBT_TARGET": "spark",
                "STORAGE_LOCATION": str(cluster.root / "lake"),
                "SPARK_THRIFT_PORT": str(cluster.thrift_port),
            },
        ),
    ):
        root = tmp_path_factory.mktemp(engine)
        run = Run(radar_env(root, small_demo, **settings), root / "run.out")
        assert run.finish(RUN_TIMEOUT * 3) == 0, run.text()[-5000:]
        folders[engine] = root / "data"
    return folders


def columns(path: Path) -> list[tuple[str, str, str, str]]:
    """Schema, table, column and type of every column of the served schemas."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select schema_name, table_name, column_name, data_type from duckdb_columns()"
            f" where schema_name in {SERVED_SCHEMAS} order by schema_name, table_name,"
            " column_index"
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


@pytest.mark.parametrize("copy", ["warehouse.duckdb", "serving.duckdb"])
def test_every_mart_alert_and_reference_table_equals_the_duckdb_runs(runs, copy):
    duck, spark = runs["duckdb"] / copy, runs["spark"] / copy
    assert columns(spark) == columns(duck)
    tables = sorted({(schema, table) for schema, table, *_ in columns(duck)})
    assert len(tables) > 15
    unequal = {}
    for schema, table in tables:
        only_duck, only_spark, rows = differences(duck, spark, schema, table)
        if only_duck or only_spark:
            unequal[f"{schema}.{table}"] = (only_duck, only_spark, rows)
    assert unequal == {}
