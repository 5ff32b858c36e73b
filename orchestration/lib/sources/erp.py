"""The ERP, read through SQLAlchemy from any database URL, incrementally on ``updated_at``.

Hand-written rather than dlt's ``sql_table`` so the contract, not reflection, fixes the
columns and types, and so that no row is read wrong without a trace. Each value is typed by
the contract here, from what the database driver returns; a row that cannot be loaded as it
is goes to ``raw_erp.<table>_quarantine`` with the reason and the row as received:

- a NULL cursor (``updated_at``) or a NULL key column: an incremental read cannot place the
  row (without this, it would never be read at all); or a NULL in a column the contract says
  a row needs (``meta.needs``: an order's customer and day, a line's or a refund's order);
- a value the contract's type cannot hold (text in a numeric column, which SQLite allows; an
  amount with more decimals than the contract keeps; a date that is not one);
- a cursor more than a day in the future, which would move the cursor past rows not written
  yet (it loads once its time has come);
- a key (id and ``updated_at``) read more than once, which merging on the key would settle
  silently: copies of one row load once and the other copies are kept as a trace; different
  rows under one key are all held, since loading any would be a guess.

A quarantined row is read again on every run until it loads, whatever time the ERP gives it
when fixing it; quarantine keeps each row once, with the time it was first read.
The cursor only moves over rows that were loaded or quarantined. A missing optional table
lands empty with a warning; a missing required one stops the run, saying what to do.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from orchestration.lib.raw_contract import RawTable, source_tables
from orchestration.lib.sources._contract import Quarantine, contract_resource

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Rows fetched, typed and handed to dlt at a time: large enough that the per-batch work
# (Arrow conversion, a Parquet file) is small beside the rows, small enough to hold.
BATCH_ROWS = 50_000
CONTRACT_FILE = "dbt_project/models/staging/erp/_erp__sources.yml"
# Resource state: the latest cursor read, and the ids (key but the cursor) of the rows held in
# quarantine, read again on every run until they load.
CURSOR = "cursor"
HELD = "held_ids"
# Beyond this many held rows a table is not a few bad rows but a mapping to fix: the others
# are read again only once their updated_at moves, so the state and each run stay small.
MAX_HELD = 10_000

log = logging.getLogger(__name__)


class ContractError(ValueError):
    """The ERP lacks a table or columns that the raw contract requires."""


class ErpUnreachable(ValueError):
    """``ERP_DATABASE_URL`` does not lead to a database."""


@dlt.source(name="erp")
def erp_source(database_url: str | None = None, lookback_days: float = 3) -> Iterator[Any]:
    """One resource per ERP table; ``database_url`` None means the source is off."""
    if database_url is not None:
        check_database_url(database_url)
    lookback = timedelta(days=lookback_days)
    for table in source_tables("erp").values():
        rows = None if database_url is None else _reader(database_url, table, lookback)
        # The sorter lets one row of a key through a run (copies once, differing ones held).
        yield contract_resource(table, rows, quarantine=quarantine(table), unique_keys=True)


def check_database_url(database_url: str) -> None:
    """Fails on a URL to a SQLite file that does not exist, which SQLAlchemy would otherwise
    create empty, so that a typing error in the path reads as an ERP with no tables."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    if url.database.startswith("file:"):  # a SQLite URI: the file is what precedes the query
        path = Path(url.database.removeprefix("file:").split("?")[0])
    else:
        path = Path(url.database)
    if not path.is_file():
        raise ErpUnreachable(
            f"ERP_DATABASE_URL={database_url!r}: the SQLite file {path.resolve()} does not "
            "exist. Give the path of the ERP database, e.g. sqlite:////srv/erp/erp.sqlite "
            "(four slashes before an absolute path)."
        )


def quarantine(table: RawTable) -> Quarantine:
    """``<table>_quarantine``: the row as received (JSON text), its key, why it was not loaded
    and when it was first read; its cursor as typed, when it could be."""
    return Quarantine(
        table_name=f"{table.name}_quarantine",
        columns={
            "quarantine_key": pa.string(),
            "row_key": pa.string(),
            "reason": pa.string(),
            "raw_row": pa.string(),
            table.cursor: pa.timestamp("us", tz="UTC"),
            "read_at": pa.timestamp("us", tz="UTC"),
        },
        primary_key=("quarantine_key",),
        # A row read again (NULL cursor, look-back) keeps its first read_at and is not doubled.
        strategy="insert-only",
    )


def _reader(
    database_url: str, table: RawTable, lookback: timedelta
) -> Callable[[Any], Iterator[Any]]:
    def read(_: None) -> Iterator[Any]:
        engine = sa.create_engine(database_url)
        try:
            source = _source_table(engine, table, database_url)
            if source is None:
                return
            # The cursor lives in the resource state, saved with the load it belongs to: a run
            # that fails moves nothing. Kept here rather than by dlt's incremental, which would
            # drop the rows read below it (a NULL cursor set late to an old time).
            state = dlt.current.resource_state()
            last = datetime.fromisoformat(state[CURSOR]) if CURSOR in state else None
            since = EPOCH if last is None else last - lookback
            sorter = _Sorter(table, quarantine(table), datetime.now(UTC))
            queries = _queries(source, table, _naive_utc(since), state)
            with engine.connect() as connection:
                for query in queries:
                    yield from sorter.batches(_partitions(connection, query))
            # Only as far as the rows loaded or quarantined.
            latest = max(filter(None, (last, sorter.latest)), default=None)
            if latest is not None:
                state[CURSOR] = latest.isoformat()
            state[HELD] = [list(ids) for ids in sorter.held]
            if sorter.overflow:
                log.warning(
                    "ERP table %s: %d quarantined rows will be read again only once their %s "
                    "changes (beyond the %d read again on every run): see the reasons in "
                    "raw_erp.%s and fix the mapping.",
                    table.name,
                    sorter.overflow,
                    table.cursor,
                    MAX_HELD,
                    sorter.quarantine.table_name,
                )
            if sorter.reasons:
                log.info(
                    "ERP table %s: %d rows quarantined in raw_erp.%s (%s)",
                    table.name,
                    sum(sorter.reasons.values()),
                    sorter.quarantine.table_name,
                    ", ".join(f"{n} {reason}" for reason, n in sorter.reasons.most_common()),
                )
        finally:
            engine.dispose()

    return read


def _queries(source: sa.Table, table: RawTable, since: datetime, state: dict) -> list[sa.Select]:
    """What one run reads, in three parts that share no row:

    - rows with a NULL cursor, every run (they are quarantined until the ERP sets it);
    - the rows of the ids held in quarantine at the last run, whatever their cursor now: the
      ERP may fix them without a newer ``updated_at``;
    - the rows written since the cursor (minus the look-back), the incremental read proper.

    Rows come as the driver returns them: SQLAlchemy's own conversions would fail the whole
    read on one bad value (text in a numeric SQLite column, say). Ordered by cursor then key,
    copies of one key come together; the database sorts only among rows of one cursor value.
    """
    raw = sa.types.NullType()
    columns = [sa.type_coerce(source.c[name], raw).label(name) for name in table.columns]
    cursor = source.c[table.cursor]
    entity = [source.c[name] for name in table.primary_key if name != table.cursor]
    queries = [sa.select(*columns).where(cursor.is_(None)).order_by(*entity)]
    waiting = [tuple(key) for key in state.get(HELD, [])] if entity else []
    for start in range(0, len(waiting), 500):
        ids = waiting[start : start + 500]
        match = (
            entity[0].in_([i for (i,) in ids]) if len(entity) == 1 else sa.tuple_(*entity).in_(ids)
        )
        queries.append(sa.select(*columns).where(match, cursor < since).order_by(cursor, *entity))
    queries.append(sa.select(*columns).where(cursor >= since).order_by(cursor, *entity))
    return queries


def _partitions(connection: sa.Connection, query: sa.Select) -> Iterator[Sequence[Sequence]]:
    """The rows of ``query`` as the driver returns them, ``BATCH_ROWS`` at a time.

    SQLite's driver rows are taken from its cursor as they are: it has no server-side cursor
    to stream through, and making SQLAlchemy rows of them would cost a third of the read.
    Other databases stream through SQLAlchemy's server-side cursors.
    """
    if connection.dialect.name != "sqlite":
        yield from connection.execution_options(yield_per=BATCH_ROWS).execute(query).partitions()
        return
    result = connection.execute(query)
    try:
        while rows := result.cursor.fetchmany(BATCH_ROWS):
            yield rows
    finally:
        result.close()


def _source_table(engine: sa.Engine, table: RawTable, database_url: str) -> sa.Table | None:
    """The ERP's table of that name, checked against the contract; None when it is optional
    and absent (it then lands empty)."""
    where = sa.make_url(database_url).render_as_string(hide_password=True)
    if not sa.inspect(engine).has_table(table.name):
        if table.required:
            raise ContractError(
                f"The ERP at {where} has no table {table.name!r}, which the raw contract "
                f"requires. Create it there (or a view of that name) with the columns listed "
                f"in {CONTRACT_FILE}, or set ERP_DATABASE_URL to the database that holds it."
            )
        log.warning(
            "ERP table %r is not in %s: it is optional, so raw_erp.%s is landed empty and the "
            "marts built on it will be empty.",
            table.name,
            where,
            table.name,
        )
        return None
    source = sa.Table(table.name, sa.MetaData(), autoload_with=engine)
    missing = sorted(set(table.columns) - set(source.c.keys()))
    if missing:
        raise ContractError(
            f"ERP table {table.name!r} at {where} lacks contract columns {missing}; "
            f"see {CONTRACT_FILE}"
        )
    return source


class _Sorter:
    """Turns rows as the driver returns them into Arrow batches of the contract's types and
    quarantine batches, counting the reasons.

    A batch is typed whole columns at a time (``_columns``) when every value is of the kind
    its column expects and no row breaks a rule; a batch with any fault is typed again row
    by row (``_rows``), which says which rows cannot load and why.
    """

    def __init__(self, table: RawTable, quarantine: Quarantine, read_at: datetime) -> None:
        self.table = table
        self.quarantine = quarantine
        self.read_at = read_at
        self.names = list(table.columns)
        self.typers = [_typer(name, data_type) for name, data_type in table.columns.items()]
        self.schema = table.arrow_schema()
        self.types = list(table.columns.values())
        self.cursor_at = self.names.index(table.cursor)
        self.key_at = [self.names.index(name) for name in table.primary_key]
        self.id_at = [at for at in self.key_at if at != self.cursor_at]
        self.needs_at = [self.names.index(name) for name in table.needs]
        self.reasons: Counter[str] = Counter()
        self.latest: datetime | None = None  # the latest cursor among the rows read
        # A day ahead: an ERP writing local time in a zone ahead of UTC is not in the future.
        self.horizon = read_at + timedelta(days=1)
        # The ids of rows held until the ERP fixes them, to read again whatever their cursor,
        # and how many more there were.
        self.held: set[tuple] = set()
        self.overflow = 0

    def batches(self, partitions: Iterable[Sequence[Sequence]]) -> Iterator[Any]:
        """The dlt items of ``partitions``: lists of rows ordered by cursor then key."""
        key = itemgetter(*self.key_at)
        carried: list[Sequence] = []
        for partition in partitions:
            rows = [*carried, *partition] if carried else list(partition)
            if not rows:
                continue
            # Copies of one key come together but may straddle two partitions: the rows of
            # the last key wait for the next, so that they are sorted together.
            last, split = key(rows[-1]), len(rows) - 1
            while split > 0 and key(rows[split - 1]) == last:
                split -= 1
            carried = rows[split:]
            if split:
                yield from self._batch(rows[:split])
        if carried:
            yield from self._batch(carried)

    def _batch(self, rows: list[Sequence]) -> Iterator[Any]:
        table = self._columns(rows)
        if table is None:
            yield from self._rows(rows)
            return
        self._saw(pc.max(table[self.table.cursor]).as_py())
        yield table

    def _columns(self, rows: list[Sequence]) -> pa.Table | None:
        """``rows`` typed a column at a time, or None when any row cannot load as it is: a
        value not of its column's kind, a NULL key or cursor, a cursor in the future, a key
        read twice."""
        arrays = []
        for values, field, data_type, typer in zip(
            zip(*rows, strict=True), self.schema, self.types, self.typers, strict=True
        ):
            try:
                array = _column(values, field.type, data_type)
            except (pa.ArrowException, ValueError, TypeError, OverflowError):
                array = None
            if array is None:  # values of other kinds (text in a number column, say)
                try:
                    typed = [None if v is None else typer(v) for v in values]
                    array = pa.array(typed, type=field.type)
                except (pa.ArrowException, ValueError, TypeError, OverflowError):
                    return None
            arrays.append(array)
        if any(arrays[at].null_count for at in (*self.key_at, *self.needs_at)):
            return None
        if pc.max(arrays[self.cursor_at]).as_py() > self.horizon:
            return None
        if len(rows) > 1:
            same = [pc.equal(arrays[at][1:], arrays[at][:-1]) for at in self.key_at]
            if pc.any(functools.reduce(pc.and_, same)).as_py():
                return None
        return pa.Table.from_arrays(arrays, schema=self.schema)

    def _rows(self, rows: Iterable[Sequence]) -> Iterator[Any]:
        good: list[list] = []
        bad: list[dict] = []
        for _, copies in groupby(rows, key=itemgetter(*self.key_at)):
            self._sort(list(copies), good, bad)
            if len(good) >= BATCH_ROWS:
                yield from self._flush(good, bad)
                good, bad = [], []
        yield from self._flush(good, bad)

    def _sort(self, copies: list[Sequence], good: list[list], bad: list[dict]) -> None:
        """One key's rows (more than one when duplicated) into ``good`` and ``bad``."""
        if len(copies) == 1:  # the common case: no JSON text needed
            try:
                good.append(self._typed(copies[0]))
            except ValueError as error:
                bad.append(self._held(copies[0], str(error)))
            return
        typable: list[tuple[int, str, Sequence, list]] = []
        texts = sorted(((self._json(raw), raw) for raw in copies), key=itemgetter(0))
        for copy, (text, raw) in enumerate(texts, start=1):
            try:
                typable.append((copy, text, raw, self._typed(raw)))
            except ValueError as error:
                bad.append(self._held(raw, str(error), text, copy))
        if not typable:
            return
        names = " and ".join(self.table.primary_key)
        if len({text for _, text, _, _ in typable}) == 1:
            # Copies of one row: it loads once, the other copies are kept as a trace.
            good.append(typable[0][3])
            reason = f"duplicate key: a copy of a row loaded with the same {names}"
            bad += [
                self._quarantined(raw, reason, text, copy) for copy, text, raw, _ in typable[1:]
            ]
            return
        # Different rows under one key: loading any would be a guess, so all are held until
        # the ERP keeps one.
        reason = (
            f"duplicate key: {len(typable)} different rows have the same {names}; none is "
            "loaded until the ERP keeps one"
        )
        bad += [self._held(raw, reason, text, copy) for copy, text, raw, _ in typable]

    def _held(self, raw: Sequence, reason: str, text: str | None = None, copy: int = 1) -> dict:
        """``raw`` quarantined, its id read again on every run until the row loads: the ERP
        may fix it without a newer cursor (a NULL ``updated_at`` set to the creation time, a
        wrong amount corrected in place, the wrong copy deleted)."""
        ids = tuple(raw[at] for at in self.id_at)
        if ids and None not in ids:
            if len(self.held) < MAX_HELD:
                self.held.add(ids)
            else:
                self.overflow += 1
        return self._quarantined(raw, reason, text, copy)

    def _typed(self, raw: Sequence) -> list:
        if raw[self.cursor_at] is None:
            raise ValueError(
                f"{self.table.cursor} is NULL: an incremental read cannot place the row, so it is "
                "read again on every run until the ERP sets it"
            )
        typed = [None if v is None else typer(v) for typer, v in zip(self.typers, raw, strict=True)]
        for at in self.key_at:
            if typed[at] is None:
                raise ValueError(f"{self.names[at]} is NULL: the row has no key")
        for at in self.needs_at:
            if typed[at] is None:
                raise ValueError(
                    f"{self.names[at]} is NULL: the row counts nowhere without it; it loads "
                    "once the ERP sets it"
                )
        if typed[self.cursor_at] > self.horizon:
            raise ValueError(
                f"{self.table.cursor} is in the future: loading the row would move the cursor "
                "past rows not written yet; it loads once that time has come"
            )
        return typed

    def _json(self, raw: Sequence) -> str:
        return _json(dict(zip(self.names, raw, strict=True)))

    def _quarantined(
        self, raw: Sequence, reason: str, text: str | None = None, copy: int = 1
    ) -> dict:
        """The quarantine row of ``raw``; ``copy`` tells identical copies of a row apart."""
        text = self._json(raw) if text is None else text
        self.reasons[reason.split(":")[0]] += 1
        try:
            value = raw[self.cursor_at]
            cursor = None if value is None else self.typers[self.cursor_at](value)
        except ValueError:
            cursor = None
        identity = f"{reason}\n{copy}\n{text}".encode()
        return {
            "quarantine_key": hashlib.sha256(identity).hexdigest(),
            "row_key": _json({self.names[at]: raw[at] for at in self.key_at}),
            "reason": reason,
            "raw_row": text,
            self.table.cursor: cursor,
            "read_at": self.read_at,
        }

    def _flush(self, good: list[list], bad: list[dict]) -> Iterator[Any]:
        if good:
            try:
                batch = self._arrow(good)
            except (pa.ArrowException, ValueError, TypeError, OverflowError):
                # Typing should have caught it; find the rows Arrow refuses, one by one.
                batch = self._arrow_row_by_row(good, bad)
            self._saw(pc.max(batch[self.table.cursor]).as_py())
            yield batch
        if bad:
            for row in bad:
                if row[self.table.cursor] is not None and row[self.table.cursor] <= self.horizon:
                    self._saw(row[self.table.cursor])
            yield self.quarantine.batch(bad)

    def _saw(self, cursor: datetime | None) -> None:
        if cursor is not None and (self.latest is None or cursor > self.latest):
            self.latest = cursor

    def _arrow(self, rows: list[list]) -> pa.Table:
        """Typed rows as an Arrow table of the contract's schema, built column by column."""
        schema = self.table.arrow_schema()
        columns = list(zip(*rows, strict=True)) or [[] for _ in schema]
        arrays = [pa.array(v, type=f.type) for v, f in zip(columns, schema, strict=True)]
        return pa.Table.from_arrays(arrays, schema=schema)

    def _arrow_row_by_row(self, rows: list[list], bad: list[dict]) -> pa.Table:
        loadable = []
        for row in rows:
            try:
                self._arrow([row])
            except (pa.ArrowException, ValueError, TypeError, OverflowError) as error:
                bad.append(self._held(row, f"not loadable: {error}"))
                continue
            loadable.append(row)
        return self._arrow(loadable)


def _json(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def _column(values: Sequence, arrow_type: pa.DataType, data_type: str) -> pa.Array | None:
    """``values`` of one column as Arrow, when they are all of the kind the driver gives for
    a clean column of ``data_type`` and convert whole as ``_typer``'s functions would convert
    each; None, or an exception, otherwise: they are then typed one by one."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if data_type == "varchar":
        return pa.array(values, pa.string()) if kinds <= {str} else None
    if data_type in ("bigint", "integer"):
        return pa.array(values, arrow_type) if kinds <= {int} else None
    if data_type == "double":
        return pa.array(values, pa.float64()) if kinds <= {int, float} else None
    if data_type == "boolean":
        return pa.array(values, pa.bool_()) if kinds <= {bool} else None
    if data_type in ("timestamp", "date") and kinds <= {str}:
        # Arrow's ISO 8601 parser; text it refuses (a zone offset, spaces) is typed one by one.
        text = pa.array(values, pa.string())
        if data_type == "date":
            return text.cast(pa.date32())
        try:  # naive timestamps are UTC, as the contract says
            return text.cast(pa.timestamp("us")).cast(arrow_type)
        except pa.ArrowInvalid:
            return text.cast(arrow_type)
    if data_type.startswith("decimal") and kinds <= {int, float}:
        return _decimals(pa.array(values, pa.float64()), arrow_type)
    return None


def _decimals(numbers: pa.Array, arrow_type: pa.Decimal128Type) -> pa.Array | None:
    """Doubles as the contract's decimals, as ``_decimal`` converts each: the value with the
    contract's decimals when the double is within binary noise of it; None when one is not
    (typed one by one, to say which)."""
    values = np.nan_to_num(numbers.to_numpy(zero_copy_only=False), nan=0.0)
    factor = 10.0**arrow_type.scale
    # Beyond 2**53 a double no longer holds every whole number: those are typed one by one.
    if not np.isfinite(values).all() or np.abs(values).max(initial=0) >= 2**53:
        return None
    units = np.rint(values * factor)
    rounded = units / factor
    limit = 10.0 ** (arrow_type.precision - arrow_type.scale)
    noise = np.abs(rounded - values) <= 1e-9 * np.maximum(1.0, np.abs(values))
    if not (noise & (np.abs(rounded) < limit)).all():
        return None
    # Each double is then within noise of its decimal, which Arrow's cast rounds it to.
    return numbers.cast(arrow_type)


def _naive_utc(value: datetime) -> datetime:
    # Databases store the contract's timestamps without a zone, in UTC.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


# Typing by the contract. Each function takes what a driver returns (SQLite gives text for
# dates and whatever was stored for numbers; PostgreSQL and MySQL give Python types) and
# returns the contract's type, or raises ValueError saying why it cannot without changing it.


def _typer(name: str, data_type: str) -> Callable[[Any], Any]:
    if data_type.startswith("decimal"):
        precision, scale = (int(n) for n in data_type[data_type.index("(") + 1 : -1].split(","))
        convert = _decimal(precision, scale)
        expected = f"a number with at most {scale} decimals that {data_type} holds"
    else:
        convert, expected = _CONVERTERS[data_type]

    def typed(value: Any) -> Any:
        try:
            return convert(value)
        except (ValueError, TypeError, ArithmeticError):
            raise ValueError(f"{name} is not {expected}: {value!r}") from None

    return typed


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _whole(value: Any) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise TypeError
    number = Decimal(value.strip() if isinstance(value, str) else str(value))
    if number != number.to_integral_value():
        raise ValueError
    return int(number)


def _double(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError
    return float(value.strip() if isinstance(value, str) else value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "t", "yes"):
        return True
    if text in ("0", "false", "f", "no"):
        return False
    raise ValueError


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        if value.time() != time(0):
            raise ValueError
        return value.date()
    if isinstance(value, date):
        return value
    return _day(datetime.fromisoformat(value.strip()))


def _instant(value: Any) -> datetime:
    if not isinstance(value, datetime):
        value = (
            datetime.combine(value, time(0))
            if isinstance(value, date)
            else datetime.fromisoformat(value.strip())
        )
    # Naive timestamps are UTC, as the contract says.
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _decimal(precision: int, scale: int) -> Callable[[Any], Decimal]:
    unit = Decimal(1).scaleb(-scale)
    limit = 10 ** (precision - scale)

    def convert(value: Any) -> Decimal:
        if type(value) is float:
            # SQLite's REAL carries binary noise beyond the cents: within it, the value is
            # the one with the contract's decimals; beyond it, loading would change it.
            rounded = round(value, scale)
            if not abs(rounded) < limit or abs(rounded - value) > 1e-9 * max(1.0, abs(value)):
                raise ValueError
            return Decimal(repr(rounded))
        if isinstance(value, bool):
            raise TypeError
        number = Decimal(value.strip() if isinstance(value, str) else value)
        if not number.is_finite() or abs(number) >= limit or number != number.quantize(unit):
            raise ValueError
        return number

    return convert


_CONVERTERS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "varchar": (_text, "text"),
    "bigint": (_whole, "a whole number"),
    "integer": (_whole, "a whole number"),
    "double": (_double, "a number"),
    "boolean": (_boolean, "true or false"),
    "date": (_day, "a date"),
    "timestamp": (_instant, "a timestamp"),
}
