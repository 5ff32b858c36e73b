"""The file sources (web events, HR pulse exports) land their table and its quarantine whatever
the folder holds: nothing yet, or several files with unreadable lines."""

import json

import duckdb
import pytest
from samples import WEB_EVENT

from orchestration.defs.ingest.assets import pipeline
from orchestration.lib.raw_contract import source_tables
from orchestration.lib.sources.hr import hr_source
from orchestration.lib.sources.web import web_source


def query(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def columns(warehouse, schema, table):
    return {
        name
        for (name,) in query(
            warehouse,
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{table}'",
        )
    }


@pytest.mark.parametrize(("source", "make_source"), [("web", web_source), ("hr", hr_source)])
def test_a_configured_but_empty_folder_lands_the_table_and_its_quarantine_empty(
    source, make_source, warehouse, tmp_path
):
    pipeline(source, warehouse).run(make_source(str(tmp_path)))
    (table,) = source_tables(source).values()
    schema = f"raw_{source}"
    assert set(table.columns) <= columns(warehouse, schema, table.name)
    assert columns(warehouse, schema, f"{table.name}_quarantine") >= {"reason", "raw_line"}
    for name in (table.name, f"{table.name}_quarantine"):
        assert query(warehouse, f"select count(*) from {schema}.{name}") == [(0,)]


def test_a_quarantined_line_does_not_send_the_next_files_events_to_quarantine(warehouse, tmp_path):
    for day, event_id in (("2026-06-29", "e1"), ("2026-06-30", "e2")):
        lines = [json.dumps({**WEB_EVENT, "event_id": event_id}), "{not json"]
        (tmp_path / f"events_{day}.jsonl").write_text("\n".join(lines) + "\n")
    pipeline("web", warehouse).run(web_source(str(tmp_path)))
    assert query(warehouse, "select event_id from raw_web.events order by 1") == [("e1",), ("e2",)]
    assert query(
        warehouse, "select _file_name, line_number from raw_web.events_quarantine order by 1"
    ) == [("events_2026-06-29.jsonl", 2), ("events_2026-06-30.jsonl", 2)]
    assert columns(warehouse, "raw_web", "events_quarantine").isdisjoint({"event_id", "channel"})
