"""What every raw resource shares: the contract's table, keys and types, merged by key, and a
quarantine table for the rows that cannot be loaded."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.extract.resource import DltResource

from orchestration.lib.raw_contract import RawTable

Rows = Callable[[Any], Iterator[Any]]


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


def file_quarantine(table: RawTable) -> Quarantine:
    """Where a file source keeps the lines it cannot load: the file (the cursor), the line
    number, the reason and the line as received."""
    return Quarantine(
        table_name=f"{table.name}_quarantine",
        columns={
            "_file_name": pa.string(),
            "line_number": pa.int64(),
            "reason": pa.string(),
            "raw_line": pa.string(),
        },
        primary_key=("_file_name", "line_number"),
    )


def contract_resource(
    table: RawTable, rows: Rows | None, cursor: Any = None, quarantine: Quarantine | None = None
) -> DltResource:
    """A dlt resource for ``table``: typed by the contract, merged on its key.

    Raw keeps every version received because the key includes ``updated_at``; merging on it
    makes a re-run (or a look-back window read twice) load no duplicate. With ``rows`` None the
    source is switched off. ``cursor``: dlt's incremental, or None for a reader that keeps its
    own in the resource state.

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
        resource, name=table.name, primary_key=list(table.primary_key), write_disposition="merge"
    )


def load_file(
    table: RawTable,
    path: Path,
    records: Iterable[tuple[int, str, Any, str | None]],
    typed: Callable[[dict], dict] = lambda record: record,
) -> Iterator[Any]:
    """One file's ``(line number, line, record, reason)`` as dlt items: the loadable records
    as one Arrow batch of the contract's types, the others in quarantine with their reason."""
    good, bad = [], []
    for number, line, record, reason in records:
        if reason is None:
            good.append(typed(record) | {"_file_name": path.name})
        else:
            bad.append(
                {"_file_name": path.name, "line_number": number, "reason": reason, "raw_line": line}
            )
    if good:
        yield table.to_arrow(good)
    if bad:
        yield file_quarantine(table).batch(bad)
