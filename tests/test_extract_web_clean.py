"""A clean JSON-lines or Parquet file is read whole by Arrow and loads what reading it line by
line loads; a file with any line that cannot load as it is is read line by line."""

import codecs
import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from samples import WEB_EVENT

from orchestration.lib.raw_contract import source_tables
from orchestration.lib.sources._contract import load_checked
from orchestration.lib.sources.web import _Events, _Loaded

TABLE = source_tables("web")["events"]


def line(**values) -> str:
    return json.dumps({**WEB_EVENT, **values})


def read_whole(path, events=None):
    events = events or _Events(TABLE)
    return events.clean_json_lines(path, newest=False, loaded=_Loaded(TABLE, None))


def read_line_by_line(path):
    (table,) = load_checked(TABLE, path, _Events(TABLE).json_lines(path, newest=False))
    return table


def test_a_clean_file_read_whole_loads_what_reading_it_line_by_line_loads(tmp_path):
    path = tmp_path / "events_2026-06-01.jsonl"
    lines = [
        line(event_id="e1", occurred_at="2026-06-01T10:00:00Z"),
        line(event_id="e2", occurred_at="2026-06-01T12:00:00+02:00", contact_id=""),
        line(event_id="e3", page_path=None),
    ]
    path.write_bytes(codecs.BOM_UTF8 + "\r\n".join(lines).encode() + b"\r\n")
    whole = read_whole(path)
    assert whole is not None
    assert whole.equals(read_line_by_line(path))
    assert whole["occurred_at"][1].as_py() == datetime(2026, 6, 1, 10, tzinfo=UTC)
    assert whole["_file_name"].to_pylist() == [path.name] * 3


@pytest.mark.parametrize(
    "bad",
    [
        '{"event_id": "e9", "event_type": ',  # not JSON
        line(event_id="e9", quantity=3),  # a field outside the contract
        line(event_id="e9", visitor_id=42),  # a number where text is expected
        line(event_id="e9", occurred_at="yesterday"),  # not a timestamp
        line(event_id="e9", event_type=""),  # a required field empty
        line(event_id="e1"),  # an event_id read on an earlier line
        "",  # a blank line: line numbers are no longer row numbers
    ],
)
def test_a_file_with_a_line_that_cannot_load_as_it_is_is_left_to_the_line_by_line_read(
    tmp_path, bad
):
    path = tmp_path / "events_2026-06-01.jsonl"
    path.write_text("\n".join([line(event_id="e1"), bad, line(event_id="e2")]) + "\n")
    assert read_whole(path) is None


def test_an_event_id_of_an_earlier_file_of_the_run_leaves_the_next_file_to_the_line_by_line_read(
    tmp_path,
):
    first, second = tmp_path / "events_2026-06-01.jsonl", tmp_path / "events_2026-06-02.jsonl"
    first.write_text(line(event_id="e1") + "\n")
    second.write_text(line(event_id="e2") + "\n" + line(event_id="e1") + "\n")
    events = _Events(TABLE)
    assert read_whole(first, events) is not None
    assert read_whole(second, events) is None
    assert events.seen["e1"][:2] == (first.name, 1)


def parquet(path, rows, schema=None):
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def read_parquet_row_by_row(path, events=None):
    items = (events or _Events(TABLE)).parquet_rows(path)
    return [getattr(item, "data", item) for item in load_checked(TABLE, path, items)]


def test_a_clean_parquet_file_read_whole_loads_what_reading_it_row_by_row_loads(tmp_path):
    path = tmp_path / "events_2026-06-01.parquet"
    schema = pa.schema(
        [(name, pa.string()) for name in WEB_EVENT if name != "occurred_at"]
        + [("occurred_at", pa.timestamp("ms"))]
    )
    rows = [
        {**WEB_EVENT, "event_id": f"e{n}", "occurred_at": datetime(2026, 6, 1, 10, n)}
        for n in range(3)
    ]
    parquet(path, rows, schema)
    events = _Events(TABLE)
    whole = events.clean_parquet(path, _Loaded(TABLE, None))
    (by_row,) = read_parquet_row_by_row(path)
    assert whole is not None
    assert whole.equals(by_row)
    assert whole["occurred_at"][2].as_py() == datetime(2026, 6, 1, 10, 2, tzinfo=UTC)
    assert events.seen["e1"] == (path.name, 2, None)


def test_a_row_copying_one_of_a_parquet_file_read_whole_is_quarantined_as_a_copy(tmp_path):
    first, second = tmp_path / "events_2026-06-01.parquet", tmp_path / "events_2026-06-02.parquet"
    parquet(first, [{**WEB_EVENT, "event_id": "e1"}, {**WEB_EVENT, "event_id": "e2"}])
    parquet(second, [{**WEB_EVENT, "event_id": "e3"}, {**WEB_EVENT, "event_id": "e2"}])
    events = _Events(TABLE)
    assert events.clean_parquet(first, _Loaded(TABLE, None)) is not None
    assert events.clean_parquet(second, _Loaded(TABLE, None)) is None
    loaded, held = read_parquet_row_by_row(second, events)
    assert loaded["event_id"].to_pylist() == ["e3"]
    assert held["reason"].to_pylist() == [f"a copy of line 2 of {first.name}, loaded once"]


@pytest.mark.parametrize(
    "column",
    [
        pa.array([1, 2], pa.int64()),  # numbers where text is expected
        pa.array(["a", None], pa.string()),  # a missing event_id
        pa.array([b"\xff", b"b"], pa.binary()),  # bytes
    ],
)
def test_a_parquet_file_with_a_row_that_cannot_load_as_it_is_is_left_to_row_by_row(
    tmp_path, column
):
    path = tmp_path / "events_2026-06-01.parquet"
    table = pa.Table.from_pylist([{**WEB_EVENT, "event_id": f"e{n}"} for n in range(2)])
    pq.write_table(table.set_column(0, "event_id", column), path)
    assert _Events(TABLE).clean_parquet(path, _Loaded(TABLE, None)) is None
