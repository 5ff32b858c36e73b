"""Extraction of the ERP from real SQLite files shaped by the raw contract: every contract table
lands (empty or absent ones too), and no row is read wrong without a trace in quarantine."""

import json
import logging
import sqlite3

import dagster as dg
import duckdb
import pytest
import sqlalchemy as sa
from dagster_dlt import DagsterDltResource
from dlt.pipeline.exceptions import PipelineStepFailed
from radar_runs import project_instance

from orchestration.defs.ingest.assets import erp_raw, pipeline
from orchestration.defs.ingest.systems import SourceSystems
from orchestration.defs.reporting_day import ReportingDay
from orchestration.lib.raw_contract import source_tables
from orchestration.lib.sources import erp as erp_reader
from orchestration.lib.sources.erp import ErpUnreachable, erp_source

TABLES = source_tables("erp")
REQUIRED = [name for name, table in TABLES.items() if table.required]
OPTIONAL = [name for name, table in TABLES.items() if not table.required]
SQLITE_TYPES = {"bigint": "INTEGER", "integer": "INTEGER", "varchar": "TEXT", "double": "REAL"}
# What DuckDB reports for each contract type once landed.
DUCKDB_TYPES = {
    "bigint": "BIGINT",
    "integer": "BIGINT",
    "varchar": "VARCHAR",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP WITH TIME ZONE",
}


def contract_erp(path, tables=tuple(TABLES), rows=None):
    """A SQLite ERP with the contract's ``tables`` and their columns, holding ``rows``
    (table → list of dicts, absent columns NULL). SQLite stores what it is given, text in a
    numeric column included, as a careless ERP would."""
    with sqlite3.connect(path) as db:
        for name in tables:
            columns = TABLES[name].columns
            spec = ", ".join(f"{c} {SQLITE_TYPES.get(t, t.upper())}" for c, t in columns.items())
            db.execute(f"create table {name} ({spec})")
        for name, records in (rows or {}).items():
            insert(db, name, records)
    return f"sqlite:///{path}"


def insert(db, name, records):
    columns = list(TABLES[name].columns)
    db.executemany(
        f"insert into {name} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
        [[record.get(c) for c in columns] for record in records],
    )


def line(order_line_id, updated_at="2026-06-01 10:00:00", **values):
    return {
        "order_line_id": order_line_id,
        "order_id": 1,
        "product_id": 7,
        "quantity": 2,
        "unit_price": "10.50",
        "discount_amount": 0,
        "tax_amount": "2.10",
        "updated_at": updated_at,
        **values,
    }


def query(warehouse, sql):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def column_types(warehouse, table):
    return dict(
        query(
            warehouse,
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = 'raw_erp' and table_name = '{table}'",
        )
    )


def expected_type(data_type):
    if data_type.startswith("decimal"):
        return data_type.upper().replace(" ", "")
    return DUCKDB_TYPES[data_type]


def quarantined(warehouse, table="order_lines"):
    return query(
        warehouse,
        f"select row_key, reason, raw_row, read_at from raw_erp.{table}_quarantine order by 3",
    )


def test_an_erp_whose_tables_are_empty_lands_every_table_with_the_contracts_columns_and_types(
    warehouse, tmp_path
):
    pipeline("erp", warehouse).run(erp_source(contract_erp(tmp_path / "erp.sqlite")))
    for name, table in TABLES.items():
        types = column_types(warehouse, name)
        assert {c: types.get(c) for c in table.columns} == {
            c: expected_type(t) for c, t in table.columns.items()
        }
        assert query(warehouse, f"select count(*) from raw_erp.{name}") == [(0,)]
        assert query(warehouse, f"select count(*) from raw_erp.{name}_quarantine") == [(0,)]


def test_an_absent_optional_table_lands_empty_with_a_warning_naming_it(warehouse, tmp_path, caplog):
    url = contract_erp(tmp_path / "erp.sqlite", tables=REQUIRED, rows={"order_lines": [line(1)]})
    with caplog.at_level(logging.WARNING, logger="orchestration.lib.sources"):
        pipeline("erp", warehouse).run(erp_source(url))
    assert query(warehouse, "select count(*) from raw_erp.order_lines") == [(1,)]
    for name in OPTIONAL:
        assert set(TABLES[name].columns) <= set(column_types(warehouse, name))
        assert query(warehouse, f"select count(*) from raw_erp.{name}") == [(0,)]
        (warning,) = [r.getMessage() for r in caplog.records if f"'{name}'" in r.getMessage()]
        assert "optional" in warning and "empty" in warning and str(tmp_path) in warning


def test_an_absent_required_table_stops_the_run_naming_it_the_database_and_what_to_do(
    warehouse, tmp_path
):
    url = contract_erp(tmp_path / "erp.sqlite", tables=["customers", "order_lines"])
    with pytest.raises(PipelineStepFailed) as failure:
        pipeline("erp", warehouse).run(erp_source(url))
    message = str(failure.value)
    assert "no table 'orders'" in message and "requires" in message
    assert str(tmp_path / "erp.sqlite") in message
    assert "_erp__sources.yml" in message and "ERP_DATABASE_URL" in message


def test_a_sqlite_url_to_a_missing_file_is_an_error_and_creates_no_database(tmp_path):
    missing = tmp_path / "typo" / "erp.sqlite"
    with pytest.raises(ErpUnreachable, match="does not exist"):
        erp_source(f"sqlite:///{missing}")
    assert not missing.exists()


@pytest.mark.parametrize(
    "url", ["postgresql+psycopg://erp@127.0.0.1/erp", "mysql+pymysql://erp@127.0.0.1/erp"]
)
def test_the_postgresql_and_mysql_drivers_ship_with_the_project(url):
    engine = sa.create_engine(url)  # loads the driver, connects to nothing
    assert engine.dialect.dbapi is not None
    engine.dispose()


def test_a_row_with_a_null_updated_at_is_quarantined_once_and_read_again_on_every_run(
    warehouse, tmp_path
):
    erp = tmp_path / "erp.sqlite"
    url = contract_erp(erp, rows={"order_lines": [line(1), line(2, updated_at=None)]})
    pipeline("erp", warehouse).run(erp_source(url))
    assert query(warehouse, "select order_line_id from raw_erp.order_lines") == [(1,)]
    ((key, reason, raw_row, first_read),) = quarantined(warehouse)
    assert json.loads(key) == {"order_line_id": 2, "updated_at": None}
    assert reason.startswith("updated_at is NULL")
    assert json.loads(raw_row)["unit_price"] == 10.5  # as SQLite returns it

    pipeline("erp", warehouse).run(erp_source(url))
    assert [r[3] for r in quarantined(warehouse)] == [first_read]
    trace = pipeline("erp", warehouse).last_trace.last_normalize_info.row_counts
    assert trace["order_lines_quarantine"] == 1  # seen again, not stored twice

    # Once the ERP sets it, the row loads, even at a time the cursor has long passed.
    with sqlite3.connect(erp) as db:
        db.execute("update order_lines set updated_at = '2020-01-01' where order_line_id = 2")
    pipeline("erp", warehouse).run(erp_source(url))
    assert query(warehouse, "select order_line_id from raw_erp.order_lines order by 1") == [
        (1,),
        (2,),
    ]
    assert len(quarantined(warehouse)) == 1  # the trace of the NULL version stays


def test_a_row_read_again_unchanged_keeps_the_load_that_brought_it_and_a_changed_one_is_replaced(
    warehouse, tmp_path
):
    """The look-back reads the last days' rows on every run: only a row whose values changed
    under its key (or a new version) may tell the marts to recompute its days."""
    erp = tmp_path / "erp.sqlite"
    url = contract_erp(erp, rows={"order_lines": [line(1), line(2)]})

    def loads():
        return query(
            warehouse,
            "select order_line_id, quantity, updated_at::varchar, _dlt_load_id "
            "from raw_erp.order_lines order by 1, 3",
        )

    pipeline("erp", warehouse).run(erp_source(url))
    first = loads()
    pipeline("erp", warehouse).run(erp_source(url))
    assert loads() == first
    with sqlite3.connect(erp) as db:
        db.execute("update order_lines set quantity = 3 where order_line_id = 1")
        db.execute(
            "update order_lines set quantity = 4, updated_at = '2026-06-02 10:00:00' "
            "where order_line_id = 2"
        )
    pipeline("erp", warehouse).run(erp_source(url))
    (load,) = {row[3] for row in loads()} - {row[3] for row in first}
    assert loads() == [
        (1, 3, "2026-06-01 10:00:00+00", load),  # changed under its key: replaced
        first[1],  # the earlier version of line 2, as it was
        (2, 4, "2026-06-02 10:00:00+00", load),  # a new version
    ]


def test_a_held_row_of_a_table_keyed_on_several_columns_loads_once_fixed(warehouse, tmp_path):
    erp = tmp_path / "erp.sqlite"
    rate = {"rate_date": "2026-06-01", "base_currency": "EUR", "currency": "USD", "rate": 1.08}
    later = {**rate, "rate_date": "2026-06-02", "updated_at": "2026-06-20 00:00:00"}
    url = contract_erp(erp, rows={"exchange_rates": [rate, later]})
    pipeline("erp", warehouse).run(erp_source(url).with_resources("exchange_rates"))
    with sqlite3.connect(erp) as db:
        db.execute("update exchange_rates set updated_at = '2026-06-01' where updated_at is null")
    pipeline("erp", warehouse).run(erp_source(url).with_resources("exchange_rates"))
    assert query(warehouse, "select rate_date::varchar from raw_erp.exchange_rates order by 1") == [
        ("2026-06-01",),
        ("2026-06-02",),
    ]


def test_copies_of_a_row_load_once_and_different_rows_under_one_key_are_all_held(
    warehouse, tmp_path
):
    erp = tmp_path / "erp.sqlite"
    rows = [line(1), line(1), line(2), line(2, quantity=3), line(3, "2026-06-20 10:00:00")]
    url = contract_erp(erp, rows={"order_lines": rows})
    pipeline("erp", warehouse).run(erp_source(url))
    assert query(warehouse, "select order_line_id from raw_erp.order_lines order by 1") == [
        (1,),
        (3,),
    ]
    reasons = sorted(
        (json.loads(key)["order_line_id"], r) for key, r, _, _ in quarantined(warehouse)
    )
    assert [(i, r.split(";")[0]) for i, r in reasons] == [
        (1, "duplicate key: a copy of a row loaded with the same order_line_id and updated_at"),
        (2, "duplicate key: 2 different rows have the same order_line_id and updated_at"),
        (2, "duplicate key: 2 different rows have the same order_line_id and updated_at"),
    ]

    pipeline("erp", warehouse).run(erp_source(url))  # read again: nothing new, no new trace
    assert len(quarantined(warehouse)) == 3
    assert query(warehouse, "select count(*) from raw_erp.order_lines") == [(2,)]

    # The ERP keeps one of the two rows; it loads, though the cursor has passed its time.
    with sqlite3.connect(erp) as db:
        db.execute("delete from order_lines where order_line_id = 2 and quantity = 3")
    pipeline("erp", warehouse).run(erp_source(url))
    assert query(
        warehouse, "select order_line_id, quantity from raw_erp.order_lines order by 1"
    ) == [(1, 2), (2, 2), (3, 2)]


def test_a_row_without_a_value_it_needs_to_count_is_quarantined_until_the_erp_sets_it(
    warehouse, tmp_path
):
    erp = tmp_path / "erp.sqlite"
    order = {"order_id": 5, "order_date": "2026-06-01", "status": "completed"}
    orders = [{**order, "customer_id": 1, "updated_at": "2026-06-01 10:00:00"}]
    orders.append({**order, "order_id": 6, "updated_at": "2026-06-01 11:00:00"})
    lines = [line(1, order_id=None)]
    url = contract_erp(erp, rows={"orders": orders, "order_lines": lines})
    pipeline("erp", warehouse).run(erp_source(url))
    assert query(warehouse, "select order_id from raw_erp.orders") == [(5,)]
    ((_, reason, _, _),) = quarantined(warehouse, "orders")
    assert reason == (
        "customer_id is NULL: the row counts nowhere without it; it loads once the ERP sets it"
    )
    assert quarantined(warehouse)[0][1].startswith("order_id is NULL: the row counts nowhere")
    with sqlite3.connect(erp) as db:
        db.execute("update orders set customer_id = 2 where order_id = 6")
    pipeline("erp", warehouse).run(erp_source(url))
    assert query(warehouse, "select order_id from raw_erp.orders order by 1") == [(5,), (6,)]


def test_values_the_contract_cannot_hold_are_quarantined_and_the_rest_of_the_table_loads(
    warehouse, tmp_path
):
    bad = {
        3: {"unit_price": "abc"},
        4: {"tax_amount": "1.005"},
        5: {"quantity": 2.5},
        6: {"updated_at": "yesterday"},
    }
    later = line(7, updated_at="2026-06-20 10:00:00")  # moves the cursor past the others
    rows = [line(1), line(2, unit_price=12.2), *(line(n, **v) for n, v in bad.items()), later]
    erp = tmp_path / "erp.sqlite"
    url = contract_erp(erp, rows={"order_lines": rows})
    pipeline("erp", warehouse).run(erp_source(url))
    assert query(
        warehouse, "select order_line_id, unit_price::varchar from raw_erp.order_lines order by 1"
    ) == [(1, "10.50"), (2, "12.20"), (7, "10.50")]
    reasons = {json.loads(key)["order_line_id"]: r for key, r, _, _ in quarantined(warehouse)}
    assert reasons == {
        3: "unit_price is not a number with at most 2 decimals that decimal(18,2) holds: 'abc'",
        4: "tax_amount is not a number with at most 2 decimals that decimal(18,2) holds: 1.005",
        5: "quantity is not a whole number: 2.5",
        6: "updated_at is not a timestamp: 'yesterday'",
    }

    # Corrected in place, without a newer updated_at: the held row loads all the same.
    with sqlite3.connect(erp) as db:
        db.execute("update order_lines set unit_price = 11 where order_line_id = 3")
    pipeline("erp", warehouse).run(erp_source(url))
    loaded = query(warehouse, "select order_line_id from raw_erp.order_lines order by 1")
    assert [i for (i,) in loaded] == [1, 2, 3, 7]


def test_past_the_limit_of_held_rows_the_run_says_the_others_wait_for_a_new_updated_at(
    warehouse, tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr(erp_reader, "MAX_HELD", 2)
    rows = [line(n, unit_price="n/a") for n in range(1, 6)]
    url = contract_erp(tmp_path / "erp.sqlite", rows={"order_lines": rows})
    with caplog.at_level(logging.WARNING, logger="orchestration.lib.sources"):
        pipeline("erp", warehouse).run(erp_source(url).with_resources("order_lines"))
    assert len(quarantined(warehouse)) == 5
    (warning,) = [r.getMessage() for r in caplog.records if "read again only" in r.getMessage()]
    assert warning.startswith("ERP table order_lines: 3 quarantined rows")
    state = pipeline("erp", warehouse).state["sources"]["erp"]["resources"]["order_lines"]
    assert len(state["held_ids"]) == 2


def test_a_row_dated_in_the_future_is_quarantined_and_the_cursor_does_not_jump_past_later_rows(
    warehouse, tmp_path
):
    erp = tmp_path / "erp.sqlite"
    url = contract_erp(erp, rows={"order_lines": [line(1), line(2, updated_at="2999-01-01")]})
    pipeline("erp", warehouse).run(erp_source(url))
    ((_, reason, _, _),) = quarantined(warehouse)
    assert reason.startswith("updated_at is in the future")

    with sqlite3.connect(erp) as db:
        insert(db, "order_lines", [line(3, updated_at="2026-06-02 08:00:00")])
    pipeline("erp", warehouse).run(erp_source(url))
    assert query(warehouse, "select order_line_id from raw_erp.order_lines order by 1") == [
        (1,),
        (3,),
    ]


def test_the_extraction_run_counts_quarantined_rows_per_table_and_names_absent_tables(
    tmp_path, monkeypatch
):
    rows = {"order_lines": [line(1), line(2, updated_at=None), line(3, unit_price="n/a")]}
    url = contract_erp(tmp_path / "erp.sqlite", tables=REQUIRED, rows=rows)
    monkeypatch.setenv("ERP_DATABASE_URL", url)
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    with project_instance() as instance:
        result = dg.materialize(
            [erp_raw],
            instance=instance,
            resources={
                "dlt": DagsterDltResource(),
                "systems": SourceSystems(),
                "reporting_day": ReportingDay(),
            },
        )
        warnings = [
            e.message for e in instance.all_logs(result.run_id) if e.level == logging.WARNING
        ]
    counts = {
        e.asset_key.path[-1]: e.materialization.metadata["quarantined_rows"].value
        for e in result.get_asset_materialization_events()
    }
    assert counts == {name: 2 if name == "order_lines" else 0 for name in TABLES}
    (warning,) = [w for w in warnings if "order_lines_quarantine" in w]
    assert "2 rows" in warning
    for name in OPTIONAL:
        (warning,) = [w for w in warnings if f"'{name}'" in w]
        assert "landed empty" in warning
