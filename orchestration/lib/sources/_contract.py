"""What every raw resource shares: the contract's table, keys and types, merged by key, and a
quarantine table for the rows that cannot be loaded."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.common.configuration.container import Container
from dlt.common.pipeline import PipelineContext
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.extract.resource import DltResource

from orchestration.lib.raw_contract import RawTable

Rows = Callable[[Any], Iterator[Any]]

# Rows of one file handed to dlt in one Arrow batch: a large Parquet file is not held whole.
BATCH_ROWS = 100_000


def incremental_cursor(column: str, initial_value: Any, lag: float | None = None) -> Any:
    """An incremental cursor on ``column``, read again over ``lag`` (seconds) for late writes.

    dlt's own de-duplication at the cursor boundary is off (``primary_key=()``): many rows
    share a cursor value (a whole web file, a batch of ERP updates) and merging on the
    contract's key already makes a second read load no duplicate.
    """
    return dlt.sources.incremental(column, initial_value=initial_value, lag=lag, primary_key=())


@dataclass(frozen=True)
class Quarantine:
    """Where a source keeps the rows it cannot load: ``<table>_quarantine``, with the reason.

    Its batches are Arrow tables carrying the cursor column, like the loadable batches: dlt's
    incremental sees every item of a resource and tracks Arrow and row items apart, so a batch
    of another kind or without the cursor would reset or fail the cursor.
    """

    table_name: str
    columns: dict[str, pa.DataType]
    primary_key: tuple[str, ...]
    # "insert-only" keeps the first time a row was quarantined when it is read again.
    strategy: str = "delete-insert"

    def batch(self, rows: list[dict]) -> Any:
        """``rows`` as a dlt item bound for the quarantine table.

        As a table variant: plain ``with_hints`` would rename the resource itself, and the
        next loadable batch would land in quarantine too.
        """
        hints = dlt.mark.make_hints(
            table_name=self.table_name,
            write_disposition={"disposition": "merge", "strategy": self.strategy},
            primary_key=list(self.primary_key),
        )
        schema = pa.schema(
            [
                pa.field(name, data_type, nullable=name not in self.primary_key)
                for name, data_type in self.columns.items()
            ]
        )
        table = pa.Table.from_pylist(rows, schema=schema)
        return dlt.mark.with_hints(table, hints, create_table_variant=True)


@contextmanager
def destination_client() -> Iterator[Any]:
    """The SQL client of the warehouse the running pipeline loads, open; None outside one."""
    context = Container()[PipelineContext]
    if not context.is_active():
        yield None
        return
    with context.pipeline().sql_client() as client:
        yield client


def landed_files(client: Any, table: RawTable) -> set[str]:
    """The files (``table.cursor``, their name) whose lines raw holds, loaded or quarantined."""
    names: set[str] = set()
    if client is None:
        return names
    for name in (table.name, f"{table.name}_quarantine"):
        relation = client.make_qualified_table_name(name)
        try:
            rows = client.execute_sql(f"select distinct {table.cursor} from {relation}")
        except DatabaseUndefinedRelation:  # the first run: nothing landed yet
            continue
        names.update(row[0] for row in rows)
    return names


def files_to_read(files: list[Path], landed: set[str]) -> list[Path]:
    """Of ``files``, sorted by name, those a run reads: each not landed yet (new, or arrived
    late under an earlier name) and the last one landed, which may have grown since.

    >>> [p.name for p in files_to_read([Path(n) for n in "abcd"], {"a", "c"})]
    ['b', 'c', 'd']
    """
    last = max(landed, default="")
    return [path for path in files if path.name not in landed or path.name >= last]


def file_quarantine(table: RawTable) -> Quarantine:
    """Where a file source keeps the lines it cannot load, one row a line (or Parquet row): the
    file (the cursor) and the line number, its key, so different lines never collide; the
    field at fault (several: comma-separated; none when the whole line is unreadable), the
    reason and the line as received. A line that is not UTF-8 keeps its exact bytes in base64
    and the position in the file of its first invalid byte."""
    return Quarantine(
        table_name=f"{table.name}_quarantine",
        columns={
            "_file_name": pa.string(),
            "line_number": pa.int64(),
            "field": pa.string(),
            "reason": pa.string(),
            "raw_line": pa.string(),
            "raw_base64": pa.string(),
            "byte_offset": pa.int64(),
        },
        primary_key=("_file_name", "line_number"),
    )


@dataclass(frozen=True)
class Fault:
    """A line of a file (or a row of a Parquet file; 0: the whole file) that cannot be loaded."""

    number: int
    reason: str
    raw_line: str | None = None
    field: str | None = None
    raw_bytes: bytes | None = None
    byte_offset: int | None = None

    def row(self, file_name: str) -> dict:
        """The quarantine row of this fault in ``file_name``."""
        return {
            "_file_name": file_name,
            "line_number": self.number,
            "field": self.field,
            "reason": self.reason,
            "raw_line": self.raw_line,
            "raw_base64": None
            if self.raw_bytes is None
            else base64.b64encode(self.raw_bytes).decode("ascii"),
            "byte_offset": self.byte_offset,
        }


def contract_resource(
    table: RawTable,
    rows: Rows | None,
    cursor: Any = None,
    quarantine: Quarantine | None = None,
    parallelized: bool = False,
    unique_keys: bool = False,
) -> DltResource:
    """A dlt resource for ``table``: typed by the contract, merged on its key.

    Raw keeps every version received because the key includes ``updated_at``; merging on it
    makes a re-run (or a look-back window read twice) load no duplicate. With ``rows`` None the
    source is switched off. ``cursor``: dlt's incremental, or None for a reader that keeps its
    own in the resource state. ``parallelized``: dlt reads the resource in a thread of its
    pool, beside the source's other resources (a reader that waits on the network).

    A load replaces the rows it holds again: its ``_dlt_load_id`` is the load that last
    brought the row, and the incremental marts recompute what a row read again touches. With
    ``unique_keys`` (a reader that yields each key at most once a run) a row read again
    unchanged keeps the load that first brought it, and only a row whose values changed under
    its key is replaced (dlt's upsert, skipping unchanged rows); without it, the load is first
    de-duplicated by key (dlt's delete-insert).

    Every run lands the table, and its quarantine table, even when no row comes: dlt creates a
    table only for data it receives, and the models reading a source that is off, configured
    but empty, or lacking an optional table must still find the table with the contract's
    columns and types (an empty Arrow batch of the contract's schema carries them).
    """

    def items(cursor: Any) -> Iterator[Any]:
        if rows is not None:
            yield from rows(cursor)
        # Last: an empty batch before the first rows would trip dlt's incremental with a lag.
        yield table.to_arrow([])
        if quarantine is not None:
            yield quarantine.batch([])

    if cursor is None:

        def resource() -> Iterator[Any]:
            yield from items(None)
    else:

        def resource(cursor: dlt.sources.incremental[Any] = cursor) -> Iterator[Any]:
            yield from items(cursor)

    return dlt.resource(
        resource,
        name=table.name,
        primary_key=list(table.primary_key),
        write_disposition=(
            {"disposition": "merge", "strategy": "upsert", "skip_unchanged_rows": True}
            if unique_keys
            else "merge"
        ),
        parallelized=parallelized,
    )


# A line of a file: ``(line number, record of the contract's types)``, or why it cannot load.
Item = tuple[int, dict] | Fault


def load_file(
    table: RawTable,
    path: Path,
    records: Iterable[tuple[int, str, Any, str | None]],
    typed: Callable[[dict], dict] = lambda record: record,
) -> Iterator[Any]:
    """One file's ``(line number, line, record, reason)`` as dlt items: the loadable records
    as Arrow batches of the contract's types, the others in quarantine with their reason."""
    yield from load_checked(
        table,
        path,
        (
            (number, typed(record)) if reason is None else Fault(number, reason, line)
            for number, line, record, reason in records
        ),
    )


def load_checked(table: RawTable, path: Path, items: Iterable[Item]) -> Iterator[Any]:
    """One file's items as dlt items: the records in Arrow batches of at most ``BATCH_ROWS``,
    each ``Fault`` in quarantine.

    A record Arrow still cannot hold (a value its checks let through) is quarantined with
    Arrow's reason, never failing the file: the batch is converted again row by row.
    """
    name = path.name
    good: list[tuple[int, dict]] = []
    bad: list[dict] = []
    for item in items:
        if type(item) is Fault:
            bad.append(item.row(name))
            continue
        item[1]["_file_name"] = name
        good.append(item)
        if len(good) == BATCH_ROWS:
            yield from _batch(table, path, good, bad)
            good = []
    if good:
        yield from _batch(table, path, good, bad)
    if bad:
        yield file_quarantine(table).batch(bad)


def _batch(
    table: RawTable, path: Path, rows: list[tuple[int, dict]], bad: list[dict]
) -> Iterator[pa.Table]:
    try:
        yield table.to_arrow([record for _, record in rows])
        return
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        pass
    loadable = []
    for number, record in rows:
        try:
            table.to_arrow([record])
        except (pa.ArrowException, OverflowError, TypeError, ValueError) as error:
            content = json.dumps(record, default=str, ensure_ascii=False)
            bad.append(
                Fault(number, f"not of the contract's types: {error}", content).row(path.name)
            )
        else:
            loadable.append(record)
    if loadable:
        yield table.to_arrow(loadable)
