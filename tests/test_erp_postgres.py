"""The ERP extraction against a real PostgreSQL server (tests/postgres_server.py)."""

import sqlite3
from datetime import UTC, datetime

import duckdb
import psycopg
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed
from postgres_server import postgres_server

from orchestration.defs.ingest.assets import pipeline
from orchestration.lib.raw_contract import source_tables
from orchestration.lib.sources.erp import erp_source

TABLES = source_tables("erp")
PG_TYPES = {
    "bigint": "bigint",
    "integer": "integer",
    "varchar": "text",
    "double": "double precision",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}
PASSWORD = "s3cret"


@pytest.fixture(scope="module")
def postgres():
    """Yields a function giving the SQLAlchemy URL of a new database of a server of its own."""
    with postgres_server(PASSWORD) as database:
        yield lambda name: database(name).replace("postgresql://", "postgresql+psycopg://")


def connect(url):
    return psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))


def copy_demo_erp(sqlite_path, url):
    """The demo's ERP rows in PostgreSQL tables typed as the contract says (a contract column
    the demo lacks is NULL)."""
    with sqlite3.connect(sqlite_path) as demo, connect(url) as pg:
        for name, table in TABLES.items():
            spec = ", ".join(f"{c} {PG_TYPES.get(t, t)}" for c, t in table.columns.items())
            pg.execute(f"create table {name} ({spec})")
            present = {row[1] for row in demo.execute(f"pragma table_info({name})")}
            columns = [c for c in table.columns if c in present]
            if not columns:
                continue
            rows = demo.execute(f"select {', '.join(columns)} from {name}")
            with pg.cursor().copy(f"copy {name} ({', '.join(columns)}) from stdin") as copy:
                for row in rows:
                    copy.write_row(row)


def as_utc(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value


def source_rows(url, name):
    columns = ", ".join(TABLES[name].columns)
    with connect(url) as pg:
        rows = pg.execute(f"select {columns} from {name}").fetchall()
    return sorted(tuple(as_utc(v) for v in row) for row in rows)


def raw_rows(warehouse, name, latest=False):
    table = TABLES[name]
    columns = ", ".join(table.columns)
    entity = ", ".join(k for k in table.primary_key if k != table.cursor)
    sql = f"select {columns} from raw_erp.{name}"
    if latest:  # the current version of each entity, as the ERP holds it now
        sql += f" qualify row_number() over (partition by {entity} order by updated_at desc) = 1"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    return sorted(tuple(as_utc(v) for v in row) for row in rows)


def test_the_erp_is_read_from_postgresql_and_a_rerun_adds_only_the_new_versions(
    postgres, small_demo, warehouse
):
    url = postgres("erp")
    copy_demo_erp(small_demo.erp_db, url)
    pipeline("erp", warehouse).run(erp_source(url))
    for name in TABLES:
        assert raw_rows(warehouse, name) == source_rows(url, name), name
    before = {name: len(raw_rows(warehouse, name)) for name in TABLES}
    assert before["order_lines"] > 1000

    with connect(url) as pg:
        pg.execute(
            "update orders set status = 'cancelled', updated_at = '2026-07-01 09:00:00' "
            "where order_id in (select order_id from orders order by order_id limit 3)"
        )
        pg.execute(
            "update order_lines set quantity = quantity + 1, updated_at = '2026-07-01 09:05:00' "
            "where order_line_id = (select max(order_line_id) from order_lines)"
        )
        pg.execute(
            "insert into orders (order_id, customer_id, order_date, status, currency, "
            "updated_at) select max(order_id) + 1, min(customer_id), '2026-07-01', "
            "'completed', 'EUR', '2026-07-01 09:10:00' from orders"
        )
    pipeline("erp", warehouse).run(erp_source(url))

    after = {name: len(raw_rows(warehouse, name)) for name in TABLES}
    assert after == before | {
        "orders": before["orders"] + 4,
        "order_lines": before["order_lines"] + 1,
    }
    for name in TABLES:  # no duplicate version, and the latest one is the ERP's row
        assert len(set(raw_rows(warehouse, name))) == after[name]
        assert raw_rows(warehouse, name, latest=True) == source_rows(url, name), name


def test_postgresql_rows_that_cannot_be_placed_are_quarantined(postgres, warehouse):
    url = postgres("erp_with_bad_rows")
    with connect(url) as pg:
        for name, table in TABLES.items():
            spec = ", ".join(f"{c} {PG_TYPES.get(t, t)}" for c, t in table.columns.items())
            pg.execute(f"create table {name} ({spec})")
        pg.execute(
            "insert into order_lines (order_line_id, order_id, unit_price, updated_at) values "
            "(1, 1, 9.99, '2026-06-01 10:00'), (1, 1, 9.99, '2026-06-01 10:00'), "
            "(2, 1, 5.00, null)"
        )
    pipeline("erp", warehouse).run(erp_source(url))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = con.execute("select order_line_id, unit_price from raw_erp.order_lines").fetchall()
        reasons = con.execute(
            "select reason from raw_erp.order_lines_quarantine order by reason"
        ).fetchall()
    assert [(i, str(p)) for i, p in loaded] == [(1, "9.99")]
    assert [r.split(":")[0] for (r,) in reasons] == ["duplicate key", "updated_at is NULL"]


def test_a_missing_required_table_names_the_database_without_its_password(postgres, warehouse):
    url = postgres("erp_without_orders")
    with pytest.raises(PipelineStepFailed) as failure:
        pipeline("erp", warehouse).run(erp_source(url).with_resources("orders"))
    message = str(failure.value)
    assert "no table 'orders'" in message
    assert url.replace(PASSWORD, "***") in message and PASSWORD not in message
