"""What every raw resource shares: the contract's table, keys and types, merged by key."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import dlt
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


def contract_resource(table: RawTable, rows: Rows | None, cursor: Any) -> DltResource:
    """A dlt resource for ``table``: typed by the contract, merged on its key.

    Raw keeps every version received because the key includes ``updated_at``; merging on it
    makes a re-run (or a look-back window read twice) load no duplicate. With ``rows`` None the
    source is switched off and the table is created empty, so the models that read it build.
    """

    @dlt.resource(
        name=table.name,
        primary_key=list(table.primary_key),
        write_disposition="merge",
        columns=table.dlt_columns(),
    )
    def resource(cursor: dlt.sources.incremental[Any] = cursor) -> Iterator[Any]:
        if rows is None:
            yield dlt.mark.materialize_table_schema()
            return
        yield from rows(cursor)

    return resource


def quarantine_hints(table: RawTable) -> Any:
    """Where a file source keeps the lines it cannot load: ``<table>_quarantine``, with the
    file, the line number, the reason and the line as received."""
    return dlt.mark.make_hints(
        table_name=f"{table.name}_quarantine",
        write_disposition="merge",
        primary_key=["_file_name", "line_number"],
        columns={
            "_file_name": {"data_type": "text"},
            "line_number": {"data_type": "bigint"},
            "reason": {"data_type": "text"},
            "raw_line": {"data_type": "text"},
        },
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
        yield dlt.mark.with_hints(bad, quarantine_hints(table))
