"""The serving copy BI tools read: published whole, readable while the pipeline runs."""

import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from radar_runs import dbt_command, project_instance

from orchestration.definitions import defs
from orchestration.defs.reporting_day import ReportingDay
from orchestration.defs.serving.publish import WAREHOUSE_COPY, warehouse_copy
from orchestration.defs.transform.dbt import dbt_models
from orchestration.lib.serving import STORAGE_VERSION, draft_path, publish

AS_OF = date(2026, 6, 30)
RESOURCES = {"reporting_day": ReportingDay()}
NEXT_DAY = AS_OF + timedelta(days=1)

# A BI tool in a process of its own (Superset's worker, say) holding the serving file open.
HOLDER = """
import sys
import sqlalchemy as sa

query = sa.text("select max(value_date) from marts.fct_customer_value_daily")
with sa.create_engine(sys.argv[1]).connect() as con:
    print(con.execute(query).scalar_one(), flush=True)
    sys.stdin.readline()
    print(con.execute(query).scalar_one(), flush=True)
"""


ONE_ROW = """
import json, sys
import sqlalchemy as sa

with sa.create_engine(sys.argv[1]).connect() as con:
    print(json.dumps(list(con.execute(sa.text(sys.argv[2])).one()), default=str))
"""


LEAVE_A_LOG = """
import os, sys
import duckdb

con = duckdb.connect(sys.argv[1])
con.execute("set checkpoint_threshold = '1GB'")
con.execute("create table main.notes as select 'mine' as note")
os._exit(0)
"""


def read_only_url(path: Path) -> str:
    """The SQLAlchemy URL the README gives for Superset (duckdb-engine)."""
    return f"duckdb:///{path.resolve()}?access_mode=read_only"


def one_row(path: Path, sql: str) -> list:
    """A row (dates as text), read in a process of its own, as a BI tool opening the file now
    would."""
    out = subprocess.run(
        [sys.executable, "-c", ONE_ROW, read_only_url(path), sql],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def small_warehouse(path: Path, day: date) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(
            """
            create schema if not exists marts;
            create schema if not exists raw_erp;
            create schema if not exists reference;
            create or replace table marts.fct_daily (
                value_date date not null, revenue decimal(18, 2), labels varchar[]
            );
            comment on table marts.fct_daily is 'One row per day.';
            comment on column marts.fct_daily.revenue is 'Net revenue of the day.';
            create or replace view marts.latest as select max(value_date) as value_date
                from marts.fct_daily;
            create or replace table raw_erp.orders as select 1 as id;
            create or replace table reference.kpi_catalogue as select 'acv' as kpi_name;
            """
        )
        con.execute(
            "insert into marts.fct_daily select d::date, 1.25, ['a'] "
            "from range(?::date - 2, ?::date + 1, interval 1 day) as t(d)",
            [day, day],
        )


def test_publishing_copies_the_served_schemas_with_their_types_and_comments(tmp_path):
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "bi" / "serving.duckdb"
    small_warehouse(warehouse, AS_OF)
    publication = publish(warehouse, target)
    assert publication.row_counts == {
        "marts.fct_daily": 3,
        "marts.latest": 1,
        "reference.kpi_catalogue": 1,
    }
    assert sorted(p.name for p in target.parent.iterdir()) == ["serving.duckdb"]
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute(
            "select schema_name from duckdb_schemas() where database_name = 'serving' "
            "and schema_name <> 'main' order by 1"
        ).fetchall() == [("marts",), ("monitoring",), ("reference",)]
        assert con.execute(
            "select comment from duckdb_tables() where table_name = 'fct_daily'"
        ).fetchall() == [("One row per day.",)]
        assert con.execute(
            "select column_name, data_type, comment from duckdb_columns() "
            "where table_name = 'fct_daily' order by column_index"
        ).fetchall() == [
            ("value_date", "DATE", None),
            ("revenue", "DECIMAL(18,2)", "Net revenue of the day."),
            ("labels", "VARCHAR[]", None),
        ]
        # Written in a format BI tools embedding an older DuckDB can open.
        assert con.execute(
            "select tags['storage_version'] from duckdb_databases() where database_name = 'serving'"
        ).fetchone() == (f"{STORAGE_VERSION}+",)


def test_a_reader_holding_the_old_file_keeps_its_build_and_new_readers_get_the_new_one(
    tmp_path,
):
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    small_warehouse(warehouse, AS_OF)
    publish(warehouse, target)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLDER.replace("fct_customer_value_daily", "fct_daily"),
            read_only_url(target),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == str(AS_OF)
        small_warehouse(warehouse, NEXT_DAY)
        publish(warehouse, target)  # while another process holds the file open
        assert one_row(target, "select max(value_date) from marts.fct_daily") == [str(NEXT_DAY)]
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == str(AS_OF)
    finally:
        holder.kill()
        holder.wait()
    assert not draft_path(target).exists()


def test_an_interrupted_publication_leaves_the_previous_copy_in_place(tmp_path):
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    small_warehouse(warehouse, AS_OF)
    publish(warehouse, target)
    before = target.read_bytes()
    with pytest.raises(duckdb.Error):
        publish(tmp_path / "missing" / "warehouse.duckdb", target)
    assert target.read_bytes() == before
    assert not draft_path(target).exists()


def test_a_log_left_beside_the_serving_file_is_not_replayed_against_the_next_build(tmp_path):
    warehouse, target = tmp_path / "warehouse.duckdb", tmp_path / "serving.duckdb"
    small_warehouse(warehouse, AS_OF)
    publish(warehouse, target)
    # A client that wrongly opened the serving file read-write, wrote and died leaves its log,
    # which DuckDB refuses to replay against another file ("WAL does not match").
    subprocess.run(
        [sys.executable, "-c", LEAVE_A_LOG, str(target)],
        check=True,
    )
    assert (tmp_path / "serving.duckdb.wal").exists()
    publish(warehouse, target)
    assert not (tmp_path / "serving.duckdb.wal").exists()
    assert one_row(target, "select count(*) from marts.fct_daily") == [3]


def report_check(instance, severity: dg.AssetCheckSeverity, passed: bool) -> dg.AssetCheckKey:
    key = next(iter(sorted(dbt_models.check_keys, key=lambda k: k.to_user_string())))
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=key.asset_key, check_name=key.name, passed=passed, severity=severity
        )
    )
    return key


@pytest.fixture
def settings_env(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("SERVING_PATH", str(tmp_path / "serving.duckdb"))
    small_warehouse(tmp_path / "warehouse.duckdb", AS_OF)
    return tmp_path


def test_the_copy_is_not_published_while_a_dbt_test_of_error_severity_fails(settings_env):
    with project_instance() as instance:
        failed = report_check(instance, dg.AssetCheckSeverity.ERROR, passed=False)
        result = dg.materialize(
            [warehouse_copy], instance=instance, resources=RESOURCES, raise_on_error=False
        )
    assert not result.success
    failure = result.failure_data_for_node("serving__warehouse_copy").error
    assert "Not publishing the serving copy" in failure.message
    assert failed.asset_key.to_user_string() in failure.message
    assert not (settings_env / "serving.duckdb").exists()


def test_a_failed_warning_does_not_hold_the_copy_back_and_its_metadata_says_what_was_published(
    settings_env,
):
    with project_instance() as instance:
        report_check(instance, dg.AssetCheckSeverity.WARN, passed=False)
        result = dg.materialize([warehouse_copy], instance=instance, resources=RESOURCES)
    (event,) = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["path"].value == str(settings_env / "serving.duckdb")
    assert metadata["rows/marts.fct_daily"].value == 3
    assert metadata["tables"].value == 3


def test_the_copy_waits_for_the_served_marts_and_the_kpi_alerts():
    graph = defs.resolve_asset_graph()
    parents = graph.get(WAREHOUSE_COPY).parent_keys
    assert dg.AssetKey(["monitoring", "kpi_alerts"]) in parents
    assert {
        dg.AssetKey(["marts", "fct_customer_value_daily"]),
        dg.AssetKey(["marts", "fct_kpi_daily"]),
        dg.AssetKey(["reference", "kpi_catalogue"]),
    } <= parents
    assert not any(key.path[0] in ("staging", "intermediate") for key in parents)


READER = """
import json, os, sys, time
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

url, serving, stop, out = sys.argv[1:5]
engine = sa.create_engine(url, poolclass=NullPool)
with open(out, "w") as log:
    while not os.path.exists(stop):
        if not os.path.exists(serving):  # before the first build is published
            time.sleep(0.05)
            continue
        try:
            with engine.connect() as con:
                first, last, days = con.execute(sa.text(
                    "select min(value_date), max(value_date), count(*) "
                    "from marts.fct_customer_value_daily where dimension = 'total'"
                )).one()
                time.sleep(0.01)  # room for a publication between the two reads
                kpi_last = con.execute(
                    sa.text("select max(kpi_date) from marts.fct_kpi_daily")
                ).scalar_one()
            whole = days == (last - first).days + 1
            log.write(json.dumps({"read": [str(last), str(kpi_last), whole]}) + "\\n")
        except Exception as error:
            log.write(json.dumps({"error": repr(error)}) + "\\n")
        log.flush()
        time.sleep(0.05)  # a dashboard's pace, leaving the CPU to the job
"""


class Reader:
    """A BI tool in a process of its own, querying the marts through duckdb-engine, read-only,
    one short connection per read.

    A connection is closed after each read: in one process DuckDB hands a new connection the
    database an open one already holds, so only a reader that lets go sees the next build.
    """

    def __init__(self, path: Path, workdir: Path):
        self.log = workdir / "reads.jsonl"
        self.stop_file = workdir / "stop"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                READER,
                read_only_url(path),
                str(path),
                str(self.stop_file),
                str(self.log),
            ]
        )

    def _entries(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    @property
    def reads(self) -> list[tuple[date, date, bool]]:
        return [
            (date.fromisoformat(last), date.fromisoformat(kpi_last), whole)
            for entry in self._entries()
            if "read" in entry
            for last, kpi_last, whole in [entry["read"]]
        ]

    @property
    def errors(self) -> list[str]:
        return [entry["error"] for entry in self._entries() if "error" in entry]

    def stop(self):
        self.stop_file.touch()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    """The daily job twice (the second a day later), read all along by a BI tool."""
    root = tmp_path_factory.mktemp("serving")
    serving = root / "serving.duckdb"
    env = {
        "WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "SERVING_PATH": str(serving),
        "DEMO_PATH": str(root / "demo"),
        "DEMO_SEED": "42",
        "DEMO_SCALE": "0.2",
        "ALERT_CHANNELS": f"jsonl://{root / 'alerts.jsonl'}",
    }
    reader = Reader(serving, root)
    results = []
    with pytest.MonkeyPatch.context() as patch, project_instance() as instance:
        for name in ("ERP_DATABASE_URL", "CRM_API_URL", "WEB_EVENTS_PATH", "HR_SURVEY_PATH"):
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        job = defs.resolve_job_def("daily_radar")
        holder, held = None, []
        try:
            for day in (AS_OF, NEXT_DAY):
                patch.setenv("AS_OF", day.isoformat())
                if serving.exists():
                    holder = subprocess.Popen(
                        [sys.executable, "-c", HOLDER, read_only_url(serving)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    held.append(holder.stdout.readline().strip())
                results.append(job.execute_in_process(instance=instance, raise_on_error=False))
            if holder is not None and holder.poll() is None:
                holder.stdin.write("\n")
                holder.stdin.flush()
                held.append(holder.stdout.readline().strip())
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(r[0] == NEXT_DAY for r in reader.reads):
                time.sleep(0.1)
        finally:
            reader.stop()
            if holder is not None:
                holder.kill()
                holder.wait()
        yield {
            "root": root,
            "results": results,
            "reader": reader,
            "held": held,
        }


def failed_steps(result: dg.ExecuteInProcessResult) -> list[str]:
    return [event.step_key for event in result.all_events if event.is_step_failure]


@pytest.mark.e2e
def test_the_job_publishes_the_serving_copy_on_each_run(two_builds):
    assert len(two_builds["results"]) == 2
    for result in two_builds["results"]:
        published = [
            e for e in result.get_asset_materialization_events() if e.asset_key == WAREHOUSE_COPY
        ]
        assert len(published) == 1, failed_steps(result)
        metadata = published[0].materialization.metadata
        assert metadata["path"].value == str(two_builds["root"] / "serving.duckdb")
        assert metadata["rows/marts.fct_customer_value_daily"].value > 0
        assert "rows/monitoring.kpi_alerts" in metadata
        assert "rows/reference.kpi_catalogue" in metadata
    assert sorted(p.name for p in two_builds["root"].glob("serving*")) == ["serving.duckdb"]


@pytest.mark.e2e
def test_every_read_during_two_runs_sees_one_whole_build(two_builds):
    reader = two_builds["reader"]
    assert reader.errors == []
    assert len(reader.reads) >= 20, len(reader.reads)
    # Within each read, both marts and the day count come from the same build...
    inconsistent = [read for read in reader.reads if read[0] != read[1] or not read[2]]
    assert inconsistent == []
    # ...and the reader saw the first build, then the second, never going back.
    days = [read[0] for read in reader.reads]
    assert set(days) == {AS_OF, NEXT_DAY}
    assert days == sorted(days)


@pytest.mark.e2e
def test_a_bi_tool_holding_the_file_open_never_blocks_the_job_and_keeps_its_build(two_builds):
    # Both runs succeed, the second while another process held the serving file open.
    assert [failed_steps(result) for result in two_builds["results"]] == [[], []]
    assert two_builds["held"] == [str(AS_OF), str(AS_OF)]
    serving = two_builds["root"] / "serving.duckdb"
    assert one_row(serving, "select max(value_date) from marts.fct_customer_value_daily") == [
        str(NEXT_DAY)
    ]


@pytest.mark.e2e
def test_dbt_docs_generate_works_against_the_built_warehouse(two_builds, tmp_path):
    root = two_builds["root"]
    subprocess.run(
        dbt_command(
            "--quiet", "docs", "generate", target=tmp_path / "docs", logs=tmp_path / "logs"
        ),
        env={**os.environ, "WAREHOUSE_PATH": str(root / "warehouse.duckdb")},
        check=True,
    )
    catalog = json.loads((tmp_path / "docs" / "catalog.json").read_text())
    columns = catalog["nodes"]["model.customer_value_radar.fct_kpi_daily"]["columns"]
    assert columns["kpi_date"]["type"] == "DATE"
    assert (tmp_path / "docs" / "index.html").exists()
