"""Extraction of the HR survey exports into raw_hr, from real CSV files: the small_demo's and
hand-written ones."""

import logging
import shutil
from datetime import date, datetime

import duckdb

from demo_company.writer import read_manifest
from orchestration.defs.ingest.assets import pipeline
from orchestration.defs.ingest.systems import SourceSystems
from orchestration.lib.raw_contract import source_tables
from orchestration.lib.settings import load_settings
from orchestration.lib.sources.hr import hr_source

HEADER = "response_id,survey_id,survey_month,department,invited_count,score,submitted_at"
TABLE = source_tables("hr")["pulse_responses"]


def query(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def counts(warehouse):
    return query(
        warehouse, "select count(*), count(distinct response_id) from raw_hr.pulse_responses"
    )[0]


def test_every_response_of_the_demo_exports_lands_once_typed_by_the_contract(small_demo, warehouse):
    pipeline("hr", warehouse).run(hr_source(str(small_demo.hr_dir)))
    expected = read_manifest(small_demo)["rows"]["hr_responses"]
    assert counts(warehouse) == (expected, expected)
    types = dict(
        query(
            warehouse,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_hr' and table_name = 'pulse_responses'",
        )
    )
    assert types["survey_month"] == "DATE" and types["score"] == "BIGINT"
    assert types["submitted_at"] == "TIMESTAMP WITH TIME ZONE"
    assert query(
        warehouse,
        "select count(distinct _file_name), min(_file_name), max(_file_name) "
        "from raw_hr.pulse_responses",
    ) == [(36, "pulse_2023-07.csv", "pulse_2026-06.csv")]


def test_a_rerun_loads_no_duplicate_and_reads_only_the_last_export_and_new_ones_again(
    small_demo, warehouse, tmp_path
):
    exports = tmp_path / "hr"
    shutil.copytree(small_demo.hr_dir, exports)
    pipeline("hr", warehouse).run(hr_source(str(exports)))
    first = counts(warehouse)
    pipeline("hr", warehouse).run(hr_source(str(exports)))
    assert counts(warehouse) == first

    # The open survey's export grows and the next month's arrives; a closed month's export
    # touched afterwards is not read again (the cursor is past it).
    last = exports / "pulse_2026-06.csv"
    last.write_text(
        last.read_text() + "late-1,pulse-2026-06,2026-06-01,sales,24,9,2026-06-12T10:00:00Z\n"
    )
    (exports / "pulse_2026-07.csv").write_text(
        f"{HEADER}\nnext-1,pulse-2026-07,2026-07-01,support,18,7,2026-07-06T09:30:00Z\n"
    )
    old = exports / "pulse_2023-07.csv"
    old.write_text(
        old.read_text() + "ignored,pulse-2023-07,2023-07-01,sales,20,5,2023-07-05T09:00:00Z\n"
    )
    pipeline("hr", warehouse).run(hr_source(str(exports)))
    assert counts(warehouse) == (first[0] + 2, first[1] + 2)
    ids = {r for (r,) in query(warehouse, "select response_id from raw_hr.pulse_responses")}
    assert {"late-1", "next-1"} <= ids and "ignored" not in ids

    # An export sent late, named before the last one read: read, since raw does not hold it.
    (exports / "pulse_2026-05_resend.csv").write_text(
        f"{HEADER}\nresent-1,pulse-2026-05,2026-05-01,sales,20,8,2026-05-06T09:30:00Z\n"
    )
    pipeline("hr", warehouse).run(hr_source(str(exports)))
    ids = {r for (r,) in query(warehouse, "select response_id from raw_hr.pulse_responses")}
    assert "resent-1" in ids and "ignored" not in ids


def test_unreadable_rows_are_quarantined_with_their_reason(warehouse, tmp_path):
    exports = tmp_path / "hr"
    exports.mkdir()
    rows = [
        HEADER,
        "r1,pulse-2026-06,2026-06-01,sales,24,9,2026-06-01T09:10:00Z",
        "r2,pulse-2026-06,2026-06-01,sales,24,11,2026-06-01T09:11:00Z",
        ",pulse-2026-06,2026-06-01,sales,24,8,2026-06-01T09:12:00Z",
        "r4,pulse-2026-06,2026-06-01,sales,24,8,yesterday",
        "r5,pulse-2026-06,2026-06-01,sales,24,seven,2026-06-01T09:14:00Z",
        "r6,pulse-2026-06,2026-06-01,sales,24",
        "",
        '"r7",pulse-2026-06,2026-06-01,"sup\nport",18,0,2026-06-02 14:00:00',
    ]
    (exports / "pulse_2026-06.csv").write_text("\n".join(rows) + "\n")
    pipeline("hr", warehouse).run(hr_source(str(exports)))
    assert query(
        warehouse,
        "select response_id, department, score, submitted_at at time zone 'UTC' "
        "from raw_hr.pulse_responses order by 1",
    ) == [
        ("r1", "sales", 9, datetime(2026, 6, 1, 9, 10)),
        ("r7", "sup\nport", 0, datetime(2026, 6, 2, 14, 0)),
    ]
    quarantined = query(
        warehouse,
        "select line_number, reason, raw_line from raw_hr.pulse_responses_quarantine order by 1",
    )
    assert [(number, reason) for number, reason, _ in quarantined] == [
        (3, "score is not between 0 and 10: '11'"),
        (4, "missing response_id"),
        (5, "submitted_at is not an ISO 8601 timestamp: 'yesterday'"),
        (6, "score is not a whole number: 'seven'"),
        (7, "5 fields where the header has 7"),
    ]
    assert quarantined[0][2] == rows[2]


def test_a_semicolon_export_with_a_byte_order_mark_and_year_months_reads_the_same(
    warehouse, tmp_path
):
    export = tmp_path / "pulse_2026-06.csv"
    export.write_text(
        "\ufeff" + HEADER.replace(",", ";") + "\nr1;pulse-2026-06;2026-06;finance;8;7;"
        "2026-06-01T11:00:00+02:00\n",
        encoding="utf-8",
    )
    pipeline("hr", warehouse).run(hr_source(str(export)))
    assert query(
        warehouse,
        "select response_id, survey_month, invited_count, epoch(submitted_at) "
        "from raw_hr.pulse_responses",
    ) == [("r1", date(2026, 6, 1), 8, 1780304400.0)]


def test_the_source_switched_off_lands_the_contracts_table_empty(warehouse):
    pipeline("hr", warehouse).run(hr_source(None))
    columns = query(
        warehouse,
        "select column_name from information_schema.columns "
        "where table_schema = 'raw_hr' and table_name = 'pulse_responses'",
    )
    assert set(TABLE.columns) <= {c for (c,) in columns}
    assert query(warehouse, "select count(*) from raw_hr.pulse_responses") == [(0,)]


def test_hr_survey_path_unset_means_the_demo_off_means_off_and_else_the_users_exports(
    tmp_path, monkeypatch
):
    assert load_settings({}).hr.mode == "demo"
    assert load_settings({"HR_SURVEY_PATH": "off"}).hr.mode == "off"
    assert load_settings({"HR_SURVEY_PATH": "/exports/pulse"}).hr.location == "/exports/pulse"

    monkeypatch.delenv("HR_SURVEY_PATH", raising=False)
    monkeypatch.setenv("DEMO_PATH", str(tmp_path / "demo"))
    monkeypatch.setenv("AS_OF", "2026-06-30")
    monkeypatch.setenv("DEMO_SCALE", "0.1")
    log = logging.getLogger("test")
    with SourceSystems().location("hr", log) as location:
        assert location == str(tmp_path / "demo" / "hr")
    monkeypatch.setenv("HR_SURVEY_PATH", "off")
    with SourceSystems().location("hr", log) as location:
        assert location is None
