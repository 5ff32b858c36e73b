"""The raw tables written to the storage location for Spark: each load once, whole files only;
the marts copied back into the DuckDB file with their comments."""

from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.lib.lake import Published, Served, mirror, publish_raw
from orchestration.lib.warehouse import spark_type


@dataclass
class Declared:
    """A Spark that records what it is asked to declare."""

    storage: str
    tables: list = field(default_factory=list)

    def declare(self, schema, table, columns, folder):
        self.tables.append((schema, table, [(f.name, spark_type(f.type)) for f in columns], folder))


@pytest.fixture
def raw(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            """
            create schema raw_erp;
            create table raw_erp.orders (order_id bigint, net_amount decimal(18, 2),
                updated_at timestamptz, _dlt_load_id varchar);
            insert into raw_erp.orders values
                (1, 10.00, '2026-06-29 10:00+00', '1750000000.1'),
                (2, 20.50, '2026-06-29 11:00+00', '1750000000.1'),
                (1, 12.00, '2026-06-30 09:00+00', '1750086400.2');
            create table raw_erp.orders_quarantine (row_json varchar, reason varchar,
                _dlt_load_id varchar);
            create table raw_erp._dlt_loads (load_id varchar);
            create table raw_erp._radar_origin (origin varchar);
            insert into raw_erp._radar_origin values ('demo');
            """
        )
    return warehouse


def test_each_load_is_one_parquet_file_and_every_table_is_declared_with_its_columns(raw, tmp_path):
    lake = Declared(str(tmp_path / "lake"))

    published = publish_raw(raw, "raw_erp", lake)

    assert published == [Published("orders", 2, 3), Published("orders_quarantine", 0, 0)]
    folder = tmp_path / "lake" / "raw_erp" / "orders"
    assert sorted(p.name for p in folder.iterdir()) == [
        "1750000000.1-2rows.parquet",
        "1750086400.2-1rows.parquet",
    ]
    first = pq.read_table(folder / "1750000000.1-2rows.parquet")
    assert first.column("order_id").to_pylist() == [1, 2]
    assert lake.tables == [
        (
            "raw_erp",
            "orders",
            [
                ("order_id", "bigint"),
                ("net_amount", "decimal(18,2)"),
                ("updated_at", "timestamp"),
                ("_dlt_load_id", "string"),
            ],
            "raw_erp/orders",
        ),
        (
            "raw_erp",
            "orders_quarantine",
            [("row_json", "string"), ("reason", "string"), ("_dlt_load_id", "string")],
            "raw_erp/orders_quarantine",
        ),
    ]


def lake_rows(folder) -> list[tuple]:
    table = pq.read_table(folder)
    columns = (table.column(c).to_pylist() for c in ("order_id", "_dlt_load_id"))
    return sorted(zip(*columns, strict=True))


def test_a_load_already_in_the_lake_is_not_written_again_and_a_half_written_one_is_redone(
    raw, tmp_path
):
    lake = Declared(str(tmp_path / "lake"))
    publish_raw(raw, "raw_erp", lake)
    folder = tmp_path / "lake" / "raw_erp" / "orders"
    (folder / "1750086400.2-1rows.parquet").unlink()
    (folder / ".1750086400.2.tmp").write_bytes(b"cut short")  # a run that died mid-write
    with duckdb.connect(str(raw)) as con:
        con.execute("insert into raw_erp.orders values (3, 5.00, now(), '1750172800.3')")

    published = publish_raw(raw, "raw_erp", lake)

    assert published[0] == Published("orders", 2, 2)
    assert sorted(p.name for p in folder.iterdir() if p.suffix == ".parquet") == [
        "1750000000.1-2rows.parquet",
        "1750086400.2-1rows.parquet",
        "1750172800.3-1rows.parquet",
    ]
    assert publish_raw(raw, "raw_erp", lake)[0] == Published("orders", 0, 0)


def test_rows_a_merge_moved_to_a_later_load_are_in_the_lake_once_with_their_new_load(raw, tmp_path):
    lake = Declared(str(tmp_path / "lake"))
    publish_raw(raw, "raw_erp", lake)
    with duckdb.connect(str(raw)) as con:
        # dlt's merge: order 2 read again in a later load replaces its row, with the new load id;
        # and every row of the second load read again as well
        con.execute(
            "update raw_erp.orders set _dlt_load_id = '1750172800.3'"
            " where order_id = 2 or _dlt_load_id = '1750086400.2'"
        )

    published = publish_raw(raw, "raw_erp", lake)

    folder = tmp_path / "lake" / "raw_erp" / "orders"
    assert published[0] == Published("orders", 4, 3)  # two written, two removed
    assert lake_rows(folder) == [(1, "1750000000.1"), (1, "1750172800.3"), (2, "1750172800.3")]


@dataclass
class Built:
    """A Spark whose every query answers the same rows."""

    rows: pa.Table

    def read(self, sql):
        return self.rows


def test_a_mart_copied_from_spark_replaces_the_last_copy_and_carries_its_comments(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create table marts.fct_kpi_daily (stale integer)")
    served = Served(
        "marts",
        "fct_kpi_daily",
        "Each KPI's value per day.",
        (("kpi_name", "The KPI's name, as in the catalogue's 'kpi_name'."),),
    )

    mirror(Built(pa.table({"kpi_name": ["nps"], "value": [41.5]})), warehouse, [served])

    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("from marts.fct_kpi_daily").fetchall() == [("nps", 41.5)]
        assert con.execute(
            "select comment from duckdb_tables() where table_name = 'fct_kpi_daily'"
        ).fetchall() == [("Each KPI's value per day.",)]
        assert con.execute(
            "select column_name, comment from duckdb_columns()"
            " where table_name = 'fct_kpi_daily' order by column_index"
        ).fetchall() == [
            ("kpi_name", "The KPI's name, as in the catalogue's 'kpi_name'."),
            ("value", None),
        ]
