"""Employee pulse survey exports: a folder of CSV files (or one file) from the HR survey tool.

Each run reads the files raw does not hold yet, whatever their names (an export sent late),
and the last one it holds (one export a survey month, named so that names sort by time) again,
since the survey of the month may still be open and its export grows; merging on
``response_id`` keeps that idempotent. Rows that cannot be read are kept in
``pulse_responses_quarantine`` with the reason, never dropped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import dlt

from orchestration.lib.raw_contract import RawTable, source_tables
from orchestration.lib.sources._contract import (
    contract_resource,
    destination_client,
    file_quarantine,
    files_to_read,
    landed_files,
    load_file,
)

SUFFIX = ".csv"
REQUIRED = ("response_id", "survey_month", "department", "score", "submitted_at")


@dlt.source(name="hr")
def hr_source(export_path: str | None = None) -> Iterator[Any]:
    """The pulse responses resource; ``export_path`` None means the source is off."""
    (table,) = source_tables("hr").values()
    rows = None if export_path is None else _reader(Path(export_path), table)
    yield contract_resource(table, rows, quarantine=file_quarantine(table))


def typed_response(record: dict[str, str], table: RawTable) -> dict[str, Any]:
    """A CSV record typed by the contract; raises ValueError with the reason it cannot be."""
    record = {key: value.strip() for key, value in record.items() if key}
    missing = [key for key in REQUIRED if not record.get(key)]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    typed: dict[str, Any] = {key: value or None for key, value in record.items()}
    for name, data_type in table.columns.items():
        if typed.get(name) is not None:
            typed[name] = _parse(name, data_type, typed[name])
    if not 0 <= typed["score"] <= 10:
        raise ValueError(f"score is not between 0 and 10: {record['score']!r}")
    if typed.get("invited_count") is not None and typed["invited_count"] < 0:
        raise ValueError(f"invited_count is negative: {record['invited_count']!r}")
    return typed


def _parse(name: str, data_type: str, text: str) -> Any:
    try:
        if data_type in ("bigint", "integer"):
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if data_type == "date":
            # Survey tools often export the month alone (YYYY-MM): its first day.
            return date.fromisoformat(text if len(text) > 7 else f"{text}-01")
        if data_type == "timestamp":
            instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    except ValueError:
        kind = {"bigint": "a whole number", "integer": "a whole number", "date": "an ISO date"}
        expected = kind.get(data_type, "an ISO 8601 timestamp")
        raise ValueError(f"{name} is not {expected}: {text!r}") from None
    return text


def _reader(path: Path, table: RawTable):
    def read(_: None) -> Iterator[Any]:
        if path.is_file():
            files = [path]
        elif path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix.lower() == SUFFIX)
        else:
            raise FileNotFoundError(f"HR_SURVEY_PATH {path} is neither a folder nor a CSV file")
        with destination_client() as client:
            landed = landed_files(client, table)
        for file in files_to_read(files, landed):
            yield from load_file(table, file, _records(file, table))

    return read


class _Lines:
    """The physical lines of a file, remembering those the CSV reader consumed since asked.

    A quoted field may span lines, so a record's raw text is what the reader took for it.
    """

    def __init__(self, lines: io.TextIOBase) -> None:
        self._lines = lines
        self.consumed: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.consumed.append(line)
        return line

    def take(self) -> str:
        text, self.consumed = "".join(self.consumed), []
        return text.rstrip("\r\n")


def _records(path: Path, table: RawTable) -> Iterator[tuple[int, str, dict | None, str | None]]:
    """(first line number, raw text, typed record or None, reason it is unreadable or None)."""
    # utf-8-sig: spreadsheet tools start their CSV exports with a byte-order mark.
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as file:
        lines = _Lines(file)
        header_line = next(lines, "")
        # Spreadsheets in many European locales export with semicolons.
        delimiter = max(",;\t", key=header_line.count)
        header = [name.strip() for name in next(csv.reader([header_line], delimiter=delimiter))]
        lines.take()
        reader = csv.reader(lines, delimiter=delimiter)
        number = 2
        for values in reader:
            raw = lines.take()
            # the reader counts the lines it read, the header excepted
            first, number = number, reader.line_num + 2
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                reason = f"{len(values)} fields where the header has {len(header)}"
                yield first, raw, None, reason
                continue
            try:
                record = typed_response(dict(zip(header, values, strict=True)), table)
            except ValueError as error:
                yield first, raw, None, str(error)
                continue
            yield first, raw, record, None
