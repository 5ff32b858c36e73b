"""Extraction of each source into raw, against real parts: the small_demo CRM API on loopback, a
SQLite ERP and a folder of event files."""

import json
import shutil
import sqlite3

import dagster as dg
import duckdb
import pytest
from dagster_dlt import DagsterDltResource
from dlt.pipeline.exceptions import PipelineStepFailed
from radar_runs import project_instance
from samples import WEB_EVENT

from demo_company.crm_server import CrmServer
from orchestration.defs.ingest.assets import crm_raw, pipeline
from orchestration.defs.ingest.systems import SourceSystems
from orchestration.defs.reporting_day import ReportingDay
from orchestration.lib.raw_contract import source_tables
from orchestration.lib.sources.crm import crm_source
from orchestration.lib.sources.erp import ContractError, erp_source
from orchestration.lib.sources.web import web_source

CRM_OBJECTS = list(source_tables("crm"))


def query(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def crm_store_counts(crm_db):
    with sqlite3.connect(crm_db) as db:
        return {
            name: db.execute(f"select count(*) from {name}").fetchall()[0][0]
            for name in CRM_OBJECTS
        }


def raw_counts(warehouse, schema, tables):
    return {
        name: query(warehouse, f"select count(*), count(distinct {key}) from {schema}.{name}")[0]
        for name, key in tables
    }


def test_the_crm_is_read_page_by_page_and_lands_every_object_once(small_demo, warehouse):
    with CrmServer(small_demo.crm_db, token="secret") as server:
        pipeline("crm", warehouse).run(crm_source(server.url, "secret"))
        served = server.requests
    expected = crm_store_counts(small_demo.crm_db)
    landed = raw_counts(warehouse, "raw_crm", [(name, "id") for name in CRM_OBJECTS])
    assert landed == {name: (n, n) for name, n in expected.items()}
    # 100 objects a page, live and archived objects listed apart
    assert served >= sum(-(-n // 100) for n in expected.values())


def test_a_429_with_retry_after_and_a_500_are_retried_until_the_load_completes(
    small_demo, warehouse
):
    with CrmServer(small_demo.crm_db) as server:
        server.inject_fault(429, retry_after=1)
        server.inject_fault(500)
        pipeline("crm", warehouse).run(crm_source(server.url).with_resources("companies"))
    landed = query(warehouse, "select count(*) from raw_crm.companies")[0][0]
    assert landed == crm_store_counts(small_demo.crm_db)["companies"]


def test_reading_the_crm_again_loads_no_duplicate_and_asks_only_for_recent_changes(
    small_demo, warehouse
):
    with CrmServer(small_demo.crm_db) as server:
        pipeline("crm", warehouse).run(crm_source(server.url))
        first = server.requests
        before = raw_counts(warehouse, "raw_crm", [(name, "id") for name in CRM_OBJECTS])
        pipeline("crm", warehouse).run(crm_source(server.url))
        second = server.requests - first
    assert raw_counts(warehouse, "raw_crm", [(name, "id") for name in CRM_OBJECTS]) == before
    assert second < first / 2


def test_a_wrong_crm_token_fails_with_the_apis_answer(small_demo, warehouse):
    with (
        CrmServer(small_demo.crm_db, token="secret") as server,
        pytest.raises(PipelineStepFailed, match="401"),
    ):
        pipeline("crm", warehouse).run(crm_source(server.url, "wrong").with_resources("deals"))


def test_the_erp_keeps_every_version_received_and_a_rerun_loads_no_duplicate(
    small_demo, warehouse, tmp_path
):
    erp = tmp_path / "erp.sqlite"
    shutil.copy(small_demo.erp_db, erp)
    url = f"sqlite:///{erp}"
    tables = [(t.name, entity_key(t)) for t in source_tables("erp").values()]
    pipeline("erp", warehouse).run(erp_source(url))
    first = raw_counts(warehouse, "raw_erp", tables)
    assert all(rows == ids > 0 for rows, ids in first.values())

    pipeline("erp", warehouse).run(erp_source(url))
    assert raw_counts(warehouse, "raw_erp", tables) == first

    with sqlite3.connect(erp) as db:
        db.execute(
            "update orders set status = 'cancelled', updated_at = '2026-07-01 09:00:00' "
            "where order_id = (select min(order_id) from orders)"
        )
    pipeline("erp", warehouse).run(erp_source(url))
    rows, ids = raw_counts(warehouse, "raw_erp", tables)["orders"]
    assert (rows, ids) == (first["orders"][0] + 1, first["orders"][1])
    versions = query(
        warehouse,
        "select status from raw_erp.orders where order_id = "
        "(select min(order_id) from raw_erp.orders) order by updated_at",
    )
    assert versions[-1] == ("cancelled",) and len(versions) == 2


def entity_key(table):
    """What identifies one entity of ``table`` across its versions: its key but the cursor."""
    return f"({', '.join(k for k in table.primary_key if k != table.cursor)})"


def test_an_erp_table_without_a_contract_column_fails_with_a_clear_message(warehouse, tmp_path):
    erp = tmp_path / "erp.sqlite"
    with sqlite3.connect(erp) as db:
        db.execute("create table customers (customer_id integer, updated_at timestamp)")
    with pytest.raises(PipelineStepFailed) as failure:
        pipeline("erp", warehouse).run(erp_source(f"sqlite:///{erp}").with_resources("customers"))
    assert isinstance(failure.value.__cause__, ContractError) or "lacks contract columns" in str(
        failure.value
    )
    assert "segment" in str(failure.value)


def test_unreadable_web_lines_are_quarantined_with_their_reason(warehouse, tmp_path):
    landing = tmp_path / "web"
    landing.mkdir()
    good = WEB_EVENT
    lines = [json.dumps(good), "{not json", json.dumps({**good, "event_id": ""})]
    (landing / "events_2026-06-30.jsonl").write_text("\n".join(lines) + "\n")
    pipeline("web", warehouse).run(web_source(str(landing)))
    assert query(warehouse, "select event_id, _file_name from raw_web.events") == [
        ("e1", "events_2026-06-30.jsonl")
    ]
    quarantined = query(
        warehouse, "select line_number, field, reason from raw_web.events_quarantine order by 1"
    )
    assert [number for number, _, _ in quarantined] == [2, 3]
    assert quarantined[0][1:2] == (None,) and quarantined[0][2].startswith("invalid JSON")
    assert quarantined[1][1:] == ("event_id", "missing event_id")


def test_a_source_switched_off_lands_the_contracts_tables_empty(warehouse):
    pipeline("erp", warehouse).run(erp_source(None))
    for table in source_tables("erp").values():
        columns = query(
            warehouse,
            "select column_name from information_schema.columns "
            f"where table_schema = 'raw_erp' and table_name = '{table.name}'",
        )
        assert set(table.columns) <= {c for (c,) in columns}
        assert query(warehouse, f"select count(*) from raw_erp.{table.name}") == [(0,)]
        assert query(warehouse, f"select count(*) from raw_erp.{table.name}_quarantine") == [(0,)]


def test_the_demo_crm_is_served_apart_for_the_job_and_every_crm_table_lands(
    small_demo, tmp_path, monkeypatch
):
    monkeypatch.setenv("DEMO_PATH", str(small_demo.directory))
    monkeypatch.setenv("DEMO_SCALE", "0.2")
    monkeypatch.setenv("AS_OF", "2026-06-30")
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.delenv("CRM_API_URL", raising=False)
    with project_instance() as instance:
        result = dg.materialize(
            [crm_raw],
            instance=instance,
            resources={
                "dlt": DagsterDltResource(),
                "systems": SourceSystems(),
                "reporting_day": ReportingDay(),
            },
        )
    assert result.success
    landed = {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert landed == set(source_tables("crm"))
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw_crm.contacts").fetchone()[0] > 0
