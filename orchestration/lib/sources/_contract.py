"""What every raw resource shares: the contract's table, keys and types, merged by key."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import dlt
from dlt.extract.resource import DltResource

from orchestration.lib.raw_contract import RawTable

Rows = Callable[[Any], Iterator[Any]]


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
