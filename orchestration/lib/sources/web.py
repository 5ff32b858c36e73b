"""Web analytics events from a landing folder of JSON-lines or Parquet files.

Each run reads the files raw does not hold yet, whatever their names (a file landed late), and
the last one it holds (files are named so that they sort by time) again, since it may have
grown; merging on ``event_id`` keeps that idempotent.

Every value is checked against the contract's type, line by line: a line (or Parquet row) that
cannot be loaded goes to ``events_quarantine`` with the file, its line number, the field at
fault and the reason, never dropped, and the rest of the file loads. So each non-blank line of
a JSON-lines file, and each row of a Parquet file, is either loaded or quarantined: blank lines
hold no event and are skipped; a Parquet file that cannot be opened is one quarantined entry,
line 0. A whole number where text is expected is kept as its digits (numeric ids are common);
any other value of another type (a decimal number, a boolean, an object, a list) is quarantined.
Fields outside the contract are kept as text columns, a value that is not text as its JSON.
An event_id read on an earlier line of the run, or loaded from another file by an earlier run,
is quarantined with where it was first read, so no event silently replaces another.

A clean file, every line of which loads as it is, is read whole by Arrow's JSON or Parquet
reader, with the same result; a file with any other line is read line by line, as above.
"""

from __future__ import annotations

import codecs
import itertools
import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from orchestration.lib.raw_contract import RawTable, source_tables
from orchestration.lib.sources._contract import (
    BATCH_ROWS,
    Fault,
    Item,
    contract_resource,
    destination_client,
    file_quarantine,
    files_to_read,
    landed_files,
    load_checked,
)

SUFFIXES = (".jsonl", ".json", ".parquet")
REQUIRED = ("event_id", "event_type", "occurred_at")

log = logging.getLogger(__name__)


@dlt.source(name="web")
def web_source(events_path: str | None = None) -> Iterator[Any]:
    """The events resource; ``events_path`` None means the source is off."""
    (table,) = source_tables("web").values()
    rows = None if events_path is None else _reader(Path(events_path), table)
    yield contract_resource(table, rows, quarantine=file_quarantine(table))


def check_event(record: Any, columns: dict[str, str]) -> tuple[dict | None, str | None, str]:
    """``record`` typed by the contract's ``columns`` (name → dbt type), or why it cannot be:
    ``(typed record, None, "")`` or ``(None, the fields at fault, the reason)``."""
    if not isinstance(record, dict):
        return None, None, "not a JSON object"
    typed: dict[str, Any] = {}
    faults: list[tuple[str, str]] = []
    for name, value in record.items():
        data_type = columns.get(name)
        if type(value) is str and data_type == "varchar":
            typed[name] = value  # the common case, first
        elif value is None or value == "":
            typed[name] = None if data_type not in (None, "varchar") else value
        elif data_type is None:
            typed[name] = _as_text(value)
        else:
            try:
                typed[name] = _typed_value(data_type, value)
            except ValueError as error:
                faults.append((name, f"{name} {error}"))
    missing = [name for name in REQUIRED if record.get(name) in (None, "")]
    if missing:
        faults.insert(0, (", ".join(missing), f"missing {', '.join(missing)}"))
    if faults:
        return None, ", ".join(field for field, _ in faults), "; ".join(r for _, r in faults)
    return typed, None, ""


def _typed_value(data_type: str, value: Any) -> Any:
    """``value`` as the contract's ``data_type``; ValueError says what it is instead."""
    if isinstance(value, bytes):  # a Parquet column of raw bytes, usually text
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"is not UTF-8: byte {error.start + 1} is invalid") from None
    kind = type(value)
    if data_type == "varchar":
        if kind is str:
            return value
        if kind is int:
            return str(value)
    elif data_type == "timestamp":
        if kind is str:
            try:
                instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(f"is not an ISO 8601 timestamp: {value!r}") from None
            return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
        if isinstance(value, datetime):  # pandas' Timestamp too, from a Parquet column
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    elif data_type in ("bigint", "integer"):
        if kind is int:
            return value
    elif data_type == "double":
        if kind in (int, float):
            return float(value)
    elif data_type == "boolean":
        if kind is bool:
            return value
    elif data_type == "date":
        if kind is date:
            return value
        if kind is str:
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"is not an ISO date: {value!r}") from None
    elif data_type.startswith("decimal") and kind in (int, float, str, Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"is not a number: {value!r}") from None
        if number.is_finite():
            return number
    raise ValueError(f"is {_kind(value)}, {_EXPECTED.get(data_type, data_type)} expected")


_EXPECTED = {
    "varchar": "text",
    "timestamp": "an ISO 8601 timestamp",
    "bigint": "a whole number",
    "integer": "a whole number",
    "double": "a number",
    "boolean": "true or false",
    "date": "an ISO date",
}


def _kind(value: Any) -> str:
    """What ``value`` is, for a reason: its kind and, when short, the value."""
    kinds = {
        dict: "an object",
        list: "a list",
        bool: "a boolean",
        int: "a whole number",
        float: "a decimal number",
        datetime: "a timestamp",
        date: "a date",
    }
    text = json.dumps(value, default=_json_value)
    shown = f" ({text})" if len(text) <= 60 else ""
    return kinds.get(type(value), type(value).__name__) + shown


def _json_value(value: Any) -> Any:
    """A value JSON cannot write as itself (read from Parquet), as text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return str(value)


def _as_text(value: Any) -> str:
    """A value of a field outside the contract, kept as text: as is, else as its JSON."""
    if type(value) is str:
        return value
    if isinstance(value, bytes | date | Decimal):
        return _json_value(value)
    return json.dumps(value, default=_json_value, ensure_ascii=False)


class _Events:
    """Reads each file's lines (or rows) as typed events or faults, remembering the event ids
    of the run so that a second line with an id already read is quarantined, not merged over
    the first."""

    def __init__(self, table: RawTable) -> None:
        self.columns = dict(table.columns)
        self.times = [name for name, data_type in table.columns.items() if data_type == "timestamp"]
        self.simple = {name for name, data_type in table.columns.items() if data_type == "varchar"}
        self.simple.update(self.times)
        self.seen: dict[str, tuple[str, int, int]] = {}
        self.schema = table.arrow_schema()
        self.file_column = table.cursor
        # Parquet files read whole: their rows' content is hashed only when an id comes again.
        self.whole_parquet: dict[str, Path] = {}
        # What a clean line holds: text or null for each contract field but the file name.
        self.parse = pj.ParseOptions(
            explicit_schema=pa.schema(
                (name, pa.string()) for name in self.columns if name != table.cursor
            ),
            unexpected_field_behavior="error",
        )

    def typed(self, record: Any) -> dict | None:
        """The common case, quickly: every field in the contract, every value text, the
        required ones set, timestamps in ISO 8601. None: ``check_event`` says what is wrong."""
        if type(record) is not dict or not record.keys() <= self.simple:
            return None
        try:
            "".join(record.values())  # the quickest test that every value is text
        except TypeError:
            return None
        if not all(map(record.get, REQUIRED)):
            return None
        for name in self.times:
            value = record.get(name)
            if value:
                try:
                    instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    return None
                record[name] = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
            elif value is not None:
                record[name] = None
        return record

    def check(self, file: str, number: int, record: Any, raw_line: str, content: int) -> Item:
        """The typed event of a line, or why it cannot load; ``content``: a hash of the line,
        telling a copy from another event under the same id."""
        typed = self.typed(record)
        if typed is None:
            typed, field, reason = check_event(record, self.columns)
            if typed is None:
                return Fault(number, reason, raw_line, field)
        event_id = typed["event_id"]
        first = self.seen.setdefault(event_id, (file, number, content))
        if first[1] == number and first[0] == file:
            return number, typed
        where = f"line {first[1]} of {first[0]}"
        if self._content(first) == content:
            return Fault(number, f"a copy of {where}, loaded once", raw_line, "event_id")
        reason = f"event_id {event_id!r} is already at {where}, with other values"
        return Fault(number, reason, raw_line, "event_id")

    def _content(self, first: tuple[str, int, int | None]) -> int:
        """The content hash of the line ``first`` names (file, number, hash or None)."""
        file, number, content = first
        if content is not None:
            return content
        row = _rows(pq.read_table(self.whole_parquet[file]).slice(number - 1, 1))[0]
        return hash(repr(row))

    def clean_parquet(self, path: Path, loaded: _Loaded) -> pa.Table | None:
        """A Parquet file read whole, when every row is an event that loads as it is (text
        columns of valid UTF-8 in the contract's fields, timestamps as timestamps of at most
        microseconds or ISO 8601 text, the required fields set, an event_id read nowhere
        else); None otherwise, and it is read row by row (``parquet_rows``)."""
        try:
            events = pq.ParquetFile(path, page_checksum_verification=True).read()
            events.validate(full=True)  # text that is not UTF-8, among others
        except (pa.ArrowException, OSError, ValueError):
            return None
        fields = set(self.columns) - {self.file_column}
        if not set(events.column_names) <= fields or not events.num_rows:
            return None
        columns = {}
        for name in events.column_names:
            column = events[name]
            kind = column.type
            if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
                column = column.cast(pa.string())  # a column of nulls only: nulls of text
            elif not (pa.types.is_timestamp(kind) and kind.unit != "ns" and name in self.times):
                return None
            columns[name] = column
        self.whole_parquet[path.name] = path
        return self._whole(path, columns, itertools.repeat(None), loaded)

    def clean_json_lines(self, path: Path, newest: bool, loaded: _Loaded) -> pa.Table | None:
        """A JSON-lines file read whole by Arrow's JSON reader, when every line is an event
        that loads as it is (UTF-8, a JSON object of text or null values in the contract's
        fields, the required ones set, timestamps in ISO 8601, an event_id read nowhere
        else); None otherwise, and the file is read line by line (``json_lines``), which
        says what is wrong with each line that cannot load."""
        lines, _ = _lines(path, newest)
        data = b"\n".join(lines)
        try:
            text = data.decode("utf-8")
            events = pj.read_json(pa.BufferReader(data), parse_options=self.parse)
        except (UnicodeDecodeError, pa.ArrowInvalid):
            return None
        texts = text.split("\n")
        if texts[-1] == "":
            texts.pop()
        if not texts or len(texts) != events.num_rows or not all(map(str.strip, texts)):
            return None  # blank lines: the line numbers are not the row numbers
        columns = {name: events[name] for name in events.column_names}
        return self._whole(path, columns, map(hash, texts), loaded)

    def _whole(
        self, path: Path, columns: dict[str, Any], contents: Iterator[int | None], loaded: _Loaded
    ) -> pa.Table | None:
        """The events of a file read whole, from its ``columns`` (text, or timestamps for the
        time fields) and each line's content hash (None: hashed when needed); None when a
        required field is missing or empty, a time is not one, or an event_id was read before
        (the file is then read line by line, which says where)."""
        for name in REQUIRED:
            column = columns.get(name)
            if column is None or column.null_count:
                return None
            if pa.types.is_string(column.type) and pc.any(pc.equal(column, "")).as_py():
                return None
        utc = pa.timestamp("us", tz="UTC")
        for name in self.times:
            column = columns.get(name)
            try:
                if column is None:
                    continue
                if pa.types.is_string(column.type):
                    column = _instants(pc.if_else(pc.equal(column, ""), None, column))
                elif column.type.tz is None:  # naive timestamps are UTC, as the contract says
                    column = column.cast(pa.timestamp("us")).cast(utc)
                columns[name] = column.cast(utc)
            except pa.ArrowInvalid:
                return None
        ids = columns["event_id"].to_pylist()
        if len(set(ids)) != len(ids) or not self.seen.keys().isdisjoint(ids):
            return None
        # The run's event ids, where the line-by-line read records them.
        places = zip(itertools.repeat(path.name), itertools.count(1), contents)
        self.seen.update(zip(ids, places, strict=False))
        if loaded.elsewhere(path.name, ids):
            return None
        n = len(ids)
        columns[self.file_column] = pa.repeat(path.name, n)
        return pa.Table.from_arrays(
            [columns.get(f.name, pa.nulls(n, f.type)) for f in self.schema], schema=self.schema
        )

    def json_lines(self, path: Path, newest: bool) -> Iterator[Item]:
        """The non-blank lines of a JSON-lines file, numbered from 1.

        Read as bytes: a line that is not UTF-8 keeps its bytes, and the position of its first
        invalid byte in the file says where it is wrong.
        """
        name = path.name
        lines, bom = _lines(path, newest)
        try:
            text = b"\n".join(lines).decode("utf-8")
        except UnicodeDecodeError:
            texts = self._decoded(lines, bom)
        else:
            texts = enumerate(text.split("\n"), start=1)
        for number, line in texts:
            if type(line) is not str:
                yield line
                continue
            if not line or line.isspace():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                reason = f"invalid JSON: {error.msg} at column {error.colno}"
                yield Fault(number, reason, line.removesuffix("\r"))
                continue
            if "\\u" in line and not _encodable(record):
                reason = "a \\u escape that is no character (a lone surrogate)"
                yield Fault(number, reason, line.removesuffix("\r"))
                continue
            yield self.check(name, number, record, line.removesuffix("\r"), hash(line))

    @staticmethod
    def _decoded(lines: list[bytes], offset: int) -> Iterator[tuple[int, str | Fault]]:
        """Each line decoded, or the fault of a line that is not UTF-8; ``offset``: where in
        the file the first line starts."""
        for number, raw in enumerate(lines, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as error:
                line = raw.removesuffix(b"\r")
                reason = f"invalid UTF-8 at byte {error.start + 1} of the line"
                text = line.decode("utf-8", errors="backslashreplace")
                yield number, Fault(number, reason, text, None, line, offset + error.start)
            offset += len(raw) + 1

    def parquet_rows(self, path: Path) -> Iterator[Item]:
        """The rows of a Parquet file, numbered from 1, row group by row group: a row group
        that cannot be read is quarantined row by row, a file that cannot be opened whole."""
        try:
            # Pages written with a checksum are verified: a damaged page is an error, not data.
            file = pq.ParquetFile(path, page_checksum_verification=True)
        except (pa.ArrowException, OSError, ValueError) as error:
            yield Fault(0, f"unreadable Parquet file: {error}")
            return
        number = 0
        for group in range(file.num_row_groups):
            size = file.metadata.row_group(group).num_rows
            try:
                rows = _rows(file.read_row_group(group))
            except (pa.ArrowException, OSError, ValueError) as error:
                reason = f"unreadable Parquet row group {group}: {error}"
                yield from (Fault(number + n, reason) for n in range(1, size + 1))
                number += size
                continue
            for row in rows:
                number += 1
                item = self.check(path.name, number, row, "", hash(repr(row)))
                if isinstance(item, Fault):
                    content = json.dumps(row, default=_json_value, ensure_ascii=False)
                    item = Fault(item.number, item.reason, content, item.field)
                yield item


def _rows(table: pa.Table) -> list[dict]:
    """The rows of a row group; its text columns as bytes when one is not UTF-8, so that the
    check names the rows at fault and the others load."""
    try:
        return table.to_pylist()
    except UnicodeDecodeError:
        binary = [
            pa.binary() if pa.types.is_string(t) or pa.types.is_large_string(t) else t
            for t in table.schema.types
        ]
        return table.cast(pa.schema(list(zip(table.schema.names, binary, strict=True)))).to_pylist()


def _lines(path: Path, newest: bool) -> tuple[list[bytes], int]:
    """The lines of a JSON-lines file as bytes, and the length of its byte-order mark."""
    data = path.read_bytes()
    # Editors on Windows start a UTF-8 file with a byte-order mark.
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    lines = data[bom:].split(b"\n")
    if newest and lines[-1].strip() and not _complete(lines[-1]):
        # The newest file may be being written: a last line cut short is read next run.
        log.info("%s: its last line is incomplete, read on the next run", path.name)
        lines.pop()
    return lines, bom


def _instants(text: pa.Array) -> pa.Array:
    """ISO 8601 text as UTC timestamps, naive ones taken as UTC: Arrow's parser wants all
    with a zone offset or all without."""
    utc = pa.timestamp("us", tz="UTC")
    try:
        return text.cast(utc)
    except pa.ArrowInvalid:
        return text.cast(pa.timestamp("us")).cast(utc)


def _complete(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _encodable(record: Any) -> bool:
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reader(folder: Path, table: RawTable):
    def read(_: None) -> Iterator[Any]:
        if not folder.is_dir():
            raise FileNotFoundError(f"WEB_EVENTS_PATH {folder} is not a folder")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)
        events = _Events(table)
        # Clean files are handed to dlt several at a time: its cost is per batch, not per row.
        clean_files: list[pa.Table] = []
        with destination_client() as client:
            landed = landed_files(client, table)
            # A first read has nothing loaded to look up.
            loaded = _Loaded(table, client if landed else None)
            for path in files_to_read(files, landed):
                newest = path == files[-1]
                parquet = path.suffix.lower() == ".parquet"
                if parquet:
                    clean = events.clean_parquet(path, loaded)
                else:
                    clean = events.clean_json_lines(path, newest, loaded)
                if clean is not None:
                    clean_files.append(clean)
                    if sum(len(t) for t in clean_files) >= BATCH_ROWS:
                        yield pa.concat_tables(clean_files)
                        clean_files = []
                    continue
                items = events.parquet_rows(path) if parquet else events.json_lines(path, newest)
                yield from load_checked(table, path, loaded.held_back(path.name, items))
        if clean_files:
            yield pa.concat_tables(clean_files)

    return read


class _Loaded:
    """The events already in the warehouse: an event_id loaded from another file in an
    earlier run is quarantined, never merged over the event loaded first."""

    def __init__(self, table: RawTable, client: Any) -> None:
        self.table = table
        self.client = client  # the warehouse's SQL client; None when nothing is loaded yet

    def held_back(self, file: str, items: Iterator[Item]) -> Iterator[Item]:
        """``items`` of ``file``, an event whose event_id was loaded from another file as a
        fault, checked a batch at a time."""
        if self.client is None:
            yield from items
            return
        while batch := list(itertools.islice(items, BATCH_ROWS)):
            ids = [item[1]["event_id"] for item in batch if not isinstance(item, Fault)]
            elsewhere = self.elsewhere(file, ids) if ids else {}
            for item in batch:
                if isinstance(item, Fault) or item[1]["event_id"] not in elsewhere:
                    yield item
                    continue
                number, event = item
                event_id = event["event_id"]
                reason = f"event_id {event_id!r} is already loaded from {elsewhere[event_id]}"
                content = json.dumps(event, default=_json_value, ensure_ascii=False)
                yield Fault(number, reason, content, "event_id")

    def elsewhere(self, file: str, ids: list[str]) -> dict[str, str]:
        """Of ``ids``, those loaded from another file than ``file``, with the file."""
        if self.client is None:
            return {}
        events = self.client.make_qualified_table_name(self.table.name)
        try:
            rows = self.client.execute_sql(
                f"select event_id, min(_file_name) from {events} "
                "where _file_name <> ? and event_id in (select unnest(?::varchar[])) group by 1",
                file,
                ids,
            )
        except DatabaseUndefinedRelation:  # the first run: nothing loaded yet
            self.client = None
            return {}
        return dict(rows)
