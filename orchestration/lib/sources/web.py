"""Web analytics events from a landing folder of JSON-lines or Parquet files.

The cursor is the file name (files are named so that they sort by time); the last file read
is read again, since it may have grown, and merging on ``event_id`` keeps that idempotent.
Lines that cannot be read are kept in ``events_quarantine`` with the reason, never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import dlt
import duckdb

from orchestration.lib.raw_contract import RawTable, source_tables
from orchestration.lib.sources._contract import (
    contract_resource,
    file_quarantine,
    incremental_cursor,
    load_file,
)

SUFFIXES = (".jsonl", ".json", ".parquet")
REQUIRED = ("event_id", "event_type", "occurred_at")


@dlt.source(name="web")
def web_source(events_path: str | None = None) -> Iterator[Any]:
    """The events resource; ``events_path`` None means the source is off."""
    (table,) = source_tables("web").values()
    cursor = incremental_cursor(table.cursor, "")
    rows = None if events_path is None else _reader(Path(events_path), table)
    yield contract_resource(table, rows, cursor, file_quarantine(table))


def check_event(record: Any) -> str | None:
    """Why an event cannot be loaded, or None when it can."""
    if not isinstance(record, dict):
        return "not a JSON object"
    missing = [key for key in REQUIRED if record.get(key) in (None, "")]
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        datetime.fromisoformat(str(record["occurred_at"]).replace("Z", "+00:00"))
    except ValueError:
        return f"occurred_at is not an ISO 8601 timestamp: {record['occurred_at']!r}"
    return None


def _reader(folder: Path, table: RawTable):
    def read(cursor: dlt.sources.incremental[Any]) -> Iterator[Any]:
        if not folder.is_dir():
            raise FileNotFoundError(f"WEB_EVENTS_PATH {folder} is not a folder")
        files = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES)
        for path in (p for p in files if p.name >= cursor.last_value):
            yield from load_file(table, path, _records(path), typed=_typed)

    return read


def _typed(record: dict) -> dict:
    occurred_at = str(record["occurred_at"]).replace("Z", "+00:00")
    return {**record, "occurred_at": datetime.fromisoformat(occurred_at)}


def _records(path: Path) -> Iterator[tuple[int, str, Any, str | None]]:
    if path.suffix == ".parquet":
        relation = duckdb.sql("select * from read_parquet(?)", params=[str(path)])
        columns = relation.columns
        for number, values in enumerate(relation.fetchall(), start=1):
            record = dict(zip(columns, values, strict=True))
            yield number, "", record, check_event(record)
        return
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                yield number, line.rstrip("\n"), None, f"invalid JSON: {error.msg}"
                continue
            yield number, line.rstrip("\n"), record, check_event(record)
