"""The ERP, read through SQLAlchemy from any database URL, incrementally on ``updated_at``.

Hand-written rather than dlt's ``sql_table`` so the contract, not reflection, fixes the
columns and types, and so a table missing a contract column fails with a clear message.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import sqlalchemy as sa

from orchestration.lib.raw_contract import RawTable, source_tables
from orchestration.lib.sources._contract import contract_resource, incremental_cursor

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BATCH_ROWS = 20_000


class ContractError(ValueError):
    """A source table lacks columns that the raw contract requires."""


@dlt.source(name="erp")
def erp_source(database_url: str | None = None, lookback_days: float = 3) -> Iterator[Any]:
    """One resource per ERP table; ``database_url`` None means the source is off."""
    for table in source_tables("erp").values():
        cursor = incremental_cursor(table.cursor, EPOCH, lag=lookback_days * 86_400)
        rows = None if database_url is None else _reader(database_url, table)
        yield contract_resource(table, rows, cursor)


def _reader(database_url: str, table: RawTable):
    def read(cursor: dlt.sources.incremental[Any]) -> Iterator[list[dict]]:
        engine = sa.create_engine(database_url)
        try:
            source = sa.Table(table.name, sa.MetaData(), autoload_with=engine)
            missing = sorted(set(table.columns) - set(source.c.keys()))
            if missing:
                raise ContractError(
                    f"ERP table {table.name!r} lacks contract columns {missing}; "
                    "see dbt_project/models/staging/erp/_erp__sources.yml"
                )
            since = _naive_utc(cursor.last_value)
            query = (
                sa.select(*(source.c[name] for name in table.columns))
                .where(source.c[table.cursor] >= since)
                .order_by(source.c[table.cursor])
            )
            with engine.connect() as connection:
                result = connection.execution_options(yield_per=BATCH_ROWS).execute(query)
                for batch in result.mappings().partitions():
                    yield table.to_arrow([dict(row) for row in batch])
        finally:
            engine.dispose()

    return read


def _naive_utc(value: datetime) -> datetime:
    # Databases store the contract's timestamps without a zone, in UTC.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
