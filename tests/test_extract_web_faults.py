"""Faults in web event files, on real files through the real dlt pipeline: a value of the wrong
type, a line that is not UTF-8, a Parquet file that is damaged or mistyped. Each lands in
raw_web.events_quarantine with its file, line, field and reason; the rest loads; and the
events loaded plus the lines quarantined are always the lines the files held."""

import base64
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from samples import WEB_EVENT

from orchestration.defs.ingest.assets import pipeline
from orchestration.lib.sources.web import web_source

QUARANTINE = (
    "select _file_name, line_number, field, reason from raw_web.events_quarantine order by 1, 2"
)


@pytest.fixture
def landing(tmp_path):
    """The landing folder of the event files, apart from the warehouse."""
    folder = tmp_path / "web"
    folder.mkdir()
    return folder


def query(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def line(**values) -> bytes:
    return json.dumps({**WEB_EVENT, **values}).encode() + b"\n"


def extract(folder: Path, warehouse: Path) -> None:
    pipeline("web", warehouse).run(web_source(str(folder)))


def held(folder: Path) -> int:
    """What the files hold: their non-blank lines, the rows of the Parquet files."""
    total = 0
    for path in folder.iterdir():
        if path.suffix == ".parquet":
            total += pq.ParquetFile(path).metadata.num_rows
        else:
            total += sum(1 for raw in path.read_bytes().split(b"\n") if raw.strip())
    return total


def assert_all_accounted_for(folder: Path, warehouse: Path) -> None:
    loaded = query(warehouse, "select count(*) from raw_web.events")[0][0]
    quarantined, distinct = query(
        warehouse,
        "select count(*), count(distinct (_file_name, line_number)) from raw_web.events_quarantine",
    )[0]
    assert loaded + quarantined == held(folder)
    assert distinct == quarantined


def test_a_value_of_the_wrong_type_is_quarantined_with_its_field_and_the_rest_loads(
    warehouse, landing
):
    name = "events_2026-06-30.jsonl"
    (landing / name).write_bytes(
        line(event_id="e1")
        + line(event_id=31)  # a numeric id is kept as its digits
        + line(event_id="e3", channel={"name": "organic"})
        + line(event_id="e4", page_path=["/", "/pricing"])
        + line(event_id="e5", occurred_at="yesterday")
        + line(event_id="e6", occurred_at=1782813600)
        + line(event_id="e7", visitor_id=True, contact_id=1.5)
        + b"\n"  # blank: holds no event
        + line(event_id="e9", utm={"source": "newsletter"})  # outside the contract: as JSON text
    )
    extract(landing, warehouse)
    assert query(warehouse, "select event_id, utm from raw_web.events order by 1") == [
        ("31", None),
        ("e1", None),
        ("e9", '{"source": "newsletter"}'),
    ]
    assert query(warehouse, QUARANTINE) == [
        (name, 3, "channel", 'channel is an object ({"name": "organic"}), text expected'),
        (name, 4, "page_path", 'page_path is a list (["/", "/pricing"]), text expected'),
        (name, 5, "occurred_at", "occurred_at is not an ISO 8601 timestamp: 'yesterday'"),
        (
            name,
            6,
            "occurred_at",
            "occurred_at is a whole number (1782813600), an ISO 8601 timestamp expected",
        ),
        (
            name,
            7,
            "visitor_id, contact_id",
            "visitor_id is a boolean (true), text expected; "
            "contact_id is a decimal number (1.5), text expected",
        ),
    ]
    raw = query(warehouse, "select raw_line from raw_web.events_quarantine where line_number = 3")
    assert json.loads(raw[0][0])["event_id"] == "e3"
    assert_all_accounted_for(landing, warehouse)


def test_lines_that_are_not_utf8_keep_their_bytes_and_offset_and_never_collide(warehouse, landing):
    name = "events_2026-06-30.jsonl"
    first = line(event_id="e1")
    # Two lines that differ only in an invalid byte: replaced, they would read as one event.
    bad_ff = line(event_id="e2-\N{DEGREE SIGN}").replace(b"\\u00b0", b"\xff")
    bad_fe = line(event_id="e2-\N{DEGREE SIGN}").replace(b"\\u00b0", b"\xfe")
    accented = json.dumps({**WEB_EVENT, "event_id": "e4", "page_path": "/café"}, ensure_ascii=False)
    (landing / name).write_bytes(first + bad_ff + bad_fe + accented.encode() + b"\n")
    extract(landing, warehouse)
    assert query(warehouse, "select event_id, page_path from raw_web.events order by 1") == [
        ("e1", "/"),
        ("e4", "/café"),
    ]
    quarantined = query(
        warehouse,
        "select line_number, field, reason, raw_base64, byte_offset, raw_line "
        "from raw_web.events_quarantine order by 1",
    )
    column = bad_ff.index(b"\xff")
    assert [row[:3] for row in quarantined] == [
        (2, None, f"invalid UTF-8 at byte {column + 1} of the line"),
        (3, None, f"invalid UTF-8 at byte {column + 1} of the line"),
    ]
    assert [base64.b64decode(row[3]) + b"\n" for row in quarantined] == [bad_ff, bad_fe]
    assert [row[4] for row in quarantined] == [
        len(first) + column,
        len(first) + len(bad_ff) + column,
    ]
    assert '"e2-\\xff"' in quarantined[0][5]
    assert_all_accounted_for(landing, warehouse)


def test_an_unreadable_parquet_file_is_quarantined_whole_and_the_other_files_load(
    warehouse, landing
):
    (landing / "events_2026-06-29.parquet").write_bytes(b"PAR1 not really a parquet file")
    (landing / "events_2026-06-30.jsonl").write_bytes(line(event_id="e1") + line(event_id="e2"))
    extract(landing, warehouse)
    assert query(warehouse, "select event_id from raw_web.events order by 1") == [("e1",), ("e2",)]
    ((file, number, field, reason),) = query(warehouse, QUARANTINE)
    assert (file, number, field) == ("events_2026-06-29.parquet", 0, None)
    assert reason.startswith("unreadable Parquet file: ")


def test_a_damaged_parquet_row_group_is_quarantined_row_by_row_and_the_others_load(
    warehouse, landing
):
    path = landing / "events_2026-06-30.parquet"
    rows = [{**WEB_EVENT, "event_id": f"e{n}"} for n in range(1, 5)]
    pq.write_table(
        pa.Table.from_pylist(rows),
        path,
        row_group_size=2,
        write_page_checksum=True,
        compression="none",
        use_dictionary=False,
    )
    column = pq.ParquetFile(path).metadata.row_group(1).column(0)
    data = bytearray(path.read_bytes())
    data[column.data_page_offset + column.total_compressed_size - 2] ^= 0xFF
    path.write_bytes(bytes(data))
    extract(landing, warehouse)
    assert query(warehouse, "select event_id from raw_web.events order by 1") == [("e1",), ("e2",)]
    quarantined = query(warehouse, QUARANTINE)
    assert [row[:3] for row in quarantined] == [
        ("events_2026-06-30.parquet", 3, None),
        ("events_2026-06-30.parquet", 4, None),
    ]
    assert all(row[3].startswith("unreadable Parquet row group 1: ") for row in quarantined)
    assert_all_accounted_for(landing, warehouse)


def test_a_mistyped_parquet_file_quarantines_its_rows_at_fault_with_their_content(
    warehouse, landing
):
    name = "events_2026-06-30.parquet"
    table = pa.table(
        {
            "event_id": pa.array([1, 2, 3], pa.int64()),
            "event_type": ["page_view"] * 3,
            "occurred_at": ["2026-06-30T10:00:00Z", "not a time", "2026-06-30T10:02:00Z"],
            "channel": pa.array(
                [None, None, {"name": "organic"}], pa.struct([("name", pa.string())])
            ),
        }
    )
    pq.write_table(table, landing / name)
    extract(landing, warehouse)
    assert query(warehouse, "select event_id, occurred_at::varchar from raw_web.events") == [
        ("1", "2026-06-30 10:00:00+00")
    ]
    quarantined = query(
        warehouse,
        "select _file_name, line_number, field, reason, raw_line "
        "from raw_web.events_quarantine order by 2",
    )
    assert [row[:4] for row in quarantined] == [
        (name, 2, "occurred_at", "occurred_at is not an ISO 8601 timestamp: 'not a time'"),
        (name, 3, "channel", 'channel is an object ({"name": "organic"}), text expected'),
    ]
    assert json.loads(quarantined[0][4]) == {
        "event_id": 2,
        "event_type": "page_view",
        "occurred_at": "not a time",
        "channel": None,
    }
    assert json.loads(quarantined[1][4])["channel"] == {"name": "organic"}
    assert_all_accounted_for(landing, warehouse)


def test_a_parquet_text_column_that_is_not_utf8_quarantines_only_its_rows(warehouse, landing):
    path = landing / "events_2026-06-30.parquet"
    rows = [{**WEB_EVENT, "event_id": f"e{n}", "page_path": f"/p{n}"} for n in range(1, 4)]
    pq.write_table(pa.Table.from_pylist(rows), path, compression="none", use_dictionary=False)
    path.write_bytes(path.read_bytes().replace(b"/p2", b"/\xff2", 1))
    extract(landing, warehouse)
    assert query(warehouse, "select event_id from raw_web.events order by 1") == [("e1",), ("e3",)]
    assert query(warehouse, QUARANTINE) == [
        (path.name, 2, "page_path", "page_path is not UTF-8: byte 2 is invalid")
    ]
    assert_all_accounted_for(landing, warehouse)


def test_loaded_plus_quarantined_is_what_the_files_held_run_after_run(warehouse, landing):
    (landing / "events_2026-06-28.jsonl").write_bytes(
        line(event_id="e1")
        + b"\n  \n"
        + b"{not json\n"
        + line(event_id="e2", occurred_at="2026-06-28T10:00:00Z")
        + line(event_id="e2", occurred_at="2026-06-28T11:00:00Z")  # another event, same id
        + b'{"event_id": "e3\\ud800", "event_type": "page_view", '
        b'"occurred_at": "2026-06-28T10:00:00Z"}\n'
    )
    pq.write_table(
        pa.Table.from_pylist([{**WEB_EVENT, "event_id": 4}, {**WEB_EVENT, "event_id": 5}]),
        landing / "events_2026-06-29.parquet",
    )
    newest = landing / "events_2026-06-30.jsonl"
    newest.write_bytes(line(event_id="e1") + line(event_id="e6") + line(event_id="e7")[:40])
    extract(landing, warehouse)
    assert query(warehouse, "select event_id from raw_web.events order by 1") == [
        ("4",),
        ("5",),
        ("e1",),
        ("e2",),
        ("e6",),
    ]
    assert query(warehouse, QUARANTINE) == [
        (
            "events_2026-06-28.jsonl",
            4,
            None,
            "invalid JSON: Expecting property name enclosed in double quotes at column 2",
        ),
        (
            "events_2026-06-28.jsonl",
            6,
            "event_id",
            "event_id 'e2' is already at line 5 of events_2026-06-28.jsonl, with other values",
        ),
        (
            "events_2026-06-28.jsonl",
            7,
            None,
            "a \\u escape that is no character (a lone surrogate)",
        ),
        (
            "events_2026-06-30.jsonl",
            1,
            "event_id",
            "a copy of line 1 of events_2026-06-28.jsonl, loaded once",
        ),
    ]
    # The newest file's last line was being written: the next run reads it whole.
    newest.write_bytes(line(event_id="e1") + line(event_id="e6") + line(event_id="e7"))
    extract(landing, warehouse)
    extract(landing, warehouse)
    assert query(warehouse, "select count(*) from raw_web.events where event_id = 'e7'") == [(1,)]
    assert len(query(warehouse, QUARANTINE)) == 4
    assert_all_accounted_for(landing, warehouse)


def test_an_event_id_read_again_with_other_values_is_quarantined_not_merged_over_the_first(
    warehouse, landing
):
    first = "events_2026-06-29.jsonl"
    (landing / first).write_bytes(
        line(event_id="e1", page_path="/a")
        + line(event_id="e1", page_path="/b")
        + line(event_id="e1", page_path="/a")
    )
    (landing / "events_2026-06-29b.jsonl").write_bytes(line(event_id="e2"))
    extract(landing, warehouse)
    # A later run, reading only the last file again and a new one: the event loaded first stays.
    (landing / "events_2026-06-30.jsonl").write_bytes(line(event_id="e1", page_path="/c"))
    extract(landing, warehouse)
    assert query(
        warehouse, "select event_id, page_path, _file_name from raw_web.events order by 1"
    ) == [("e1", "/a", first), ("e2", "/", "events_2026-06-29b.jsonl")]
    assert query(warehouse, QUARANTINE) == [
        (first, 2, "event_id", f"event_id 'e1' is already at line 1 of {first}, with other values"),
        (first, 3, "event_id", f"a copy of line 1 of {first}, loaded once"),
        ("events_2026-06-30.jsonl", 1, "event_id", f"event_id 'e1' is already loaded from {first}"),
    ]
    raw = query(warehouse, "select raw_line from raw_web.events_quarantine where line_number = 1")
    assert json.loads(raw[0][0])["page_path"] == "/c"
    assert_all_accounted_for(landing, warehouse)


def test_a_last_line_still_being_written_is_read_whole_by_the_next_run(warehouse, landing):
    newest = landing / "events_2026-06-30.jsonl"
    newest.write_bytes(line(event_id="e1") + line(event_id="e2")[:30])
    extract(landing, warehouse)
    assert query(warehouse, "select event_id from raw_web.events") == [("e1",)]
    assert query(warehouse, "select line_number, reason from raw_web.events_quarantine") == []
    newest.write_bytes(line(event_id="e1") + line(event_id="e2"))
    extract(landing, warehouse)
    assert query(warehouse, "select event_id from raw_web.events order by 1") == [("e1",), ("e2",)]
    assert query(warehouse, "select line_number, reason from raw_web.events_quarantine") == []
    assert_all_accounted_for(landing, warehouse)


def test_a_file_landing_late_under_an_earlier_name_is_read_and_read_files_are_not(
    warehouse, landing
):
    (landing / "events_2026-06-29.jsonl").write_bytes(line(event_id="e1"))
    (landing / "events_2026-06-30.jsonl").write_bytes(line(event_id="e2"))
    extract(landing, warehouse)
    # A resend of the 28th, after the 30th was read; and an upper-case suffix.
    (landing / "events_2026-06-28_resend.jsonl").write_bytes(line(event_id="e0"))
    (landing / "EVENTS_2026-07-01.JSONL").write_bytes(line(event_id="e3"))
    extract(landing, warehouse)
    assert query(warehouse, "select event_id, _file_name from raw_web.events order by 1") == [
        ("e0", "events_2026-06-28_resend.jsonl"),
        ("e1", "events_2026-06-29.jsonl"),
        ("e2", "events_2026-06-30.jsonl"),
        ("e3", "EVENTS_2026-07-01.JSONL"),
    ]
    assert query(warehouse, QUARANTINE) == []
    assert_all_accounted_for(landing, warehouse)
