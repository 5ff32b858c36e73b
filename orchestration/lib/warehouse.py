"""Python's way into the warehouse, on either engine dbt targets: read the result of a query as
an Arrow table, and replace a table with an Arrow table.

* DuckDB (the default): the warehouse file, through DuckDB's own Arrow support.
* Spark: queries through the Thrift server dbt also uses; a table is written as Parquet under the
  storage location (a local or mounted path, or an object-store URL pyarrow can write) and then
  declared to Spark over that folder, so the cluster reads it where it lies.
"""

import contextlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from orchestration.lib.settings import Settings


class Warehouse(Protocol):
    def read(self, sql: str) -> pa.Table: ...

    def replace(self, schema: str, table: str, rows: pa.Table) -> None: ...


@dataclass(frozen=True)
class DuckDBWarehouse:
    path: Path

    def read(self, sql: str) -> pa.Table:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.sql(sql).to_arrow_table()

    def replace(self, schema: str, table: str, rows: pa.Table) -> None:
        """In one statement: a reader sees the old table or the new one."""
        with duckdb.connect(str(self.path)) as con:
            con.execute(f'create schema if not exists "{schema}"')
            con.register("computed", rows)
            con.execute(f'create or replace table "{schema}"."{table}" as select * from computed')


def spark_type(arrow: pa.DataType) -> str:
    """Spark SQL's name of an Arrow type of the warehouse's tables."""
    if pa.types.is_decimal(arrow):
        return f"decimal({arrow.precision},{arrow.scale})"
    if pa.types.is_timestamp(arrow):
        return "timestamp"
    names = {
        pa.int64(): "bigint",
        pa.int32(): "int",
        pa.float64(): "double",
        pa.bool_(): "boolean",
        pa.string(): "string",
        pa.large_string(): "string",
        pa.date32(): "date",
    }
    if arrow not in names:
        raise TypeError(f"no Spark type for {arrow}")
    return names[arrow]


@dataclass(frozen=True)
class SparkWarehouse:
    host: str
    port: int
    storage: str

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        from pyhive import hive

        with contextlib.closing(hive.connect(host=self.host, port=self.port)) as connection:
            yield connection.cursor()

    def read(self, sql: str) -> pa.Table:
        """The result as Spark writes it to Parquet (in parallel, whatever its size), read back
        with its types; timestamps as the wall-clock timestamps of Spark's UTC session."""
        filesystem, root = fs.FileSystem.from_uri(self.storage)
        folder = f"reads/{uuid.uuid4().hex}"
        self.export(sql, folder)
        try:
            rows = pq.read_table(f"{root}/{folder}", filesystem=filesystem)
        finally:
            filesystem.delete_dir(f"{root}/{folder}")
        return rows.cast(
            pa.schema(
                pa.field(f.name, pa.timestamp("us")) if pa.types.is_timestamp(f.type) else f
                for f in rows.schema
            )
        )

    def replace(self, schema: str, table: str, rows: pa.Table) -> None:
        """Writes ``rows`` to a new folder, points the table at it, then removes the older
        folders: a reader sees the old table or the new one."""
        filesystem, root = fs.FileSystem.from_uri(self.storage)
        version = uuid.uuid4().hex
        base = f"{root}/{schema}/{table}"
        filesystem.create_dir(f"{base}/{version}")
        # Spark reads Parquet timestamps as instants: written as UTC, they read as written
        # in its UTC session.
        on_disk = pa.schema(
            pa.field(f.name, pa.timestamp("us", "UTC")) if f.type == pa.timestamp("us") else f
            for f in rows.schema
        )
        pq.write_table(
            rows.cast(on_disk), f"{base}/{version}/part-0.parquet", filesystem=filesystem
        )
        self.declare(schema, table, rows.schema, f"{schema}/{table}/{version}")
        for older in filesystem.get_file_info(fs.FileSelector(base)):
            if Path(older.path).name != version:
                filesystem.delete_dir(older.path)

    def export(self, sql: str, folder: str) -> None:
        """Writes the result of ``sql`` as Parquet files to ``folder`` (relative to the storage
        location), replacing what it held."""
        location = f"{self.storage.rstrip('/')}/{folder}"
        with self._cursor() as cursor:
            cursor.execute(f"insert overwrite directory '{location}' using parquet {sql}")

    def declare(self, schema: str, table: str, columns: pa.Schema, folder: str) -> None:
        """Declares ``table`` to Spark as the Parquet files of ``folder`` (relative to the
        storage location) with ``columns``: moved there when it has these columns, else
        declared again (an external table: dropping it leaves its files)."""
        location = f"{self.storage.rstrip('/')}/{folder}"
        wanted = [(f.name, spark_type(f.type)) for f in columns]
        name = f"`{schema}`.`{table}`"
        with self._cursor() as cursor:
            cursor.execute(f"create database if not exists `{schema}`")
            cursor.execute(f"show tables in `{schema}` like '{table}'")
            if cursor.fetchall():
                cursor.execute(f"describe table {name}")
                if [tuple(row[:2]) for row in cursor.fetchall()] == wanted:
                    cursor.execute(f"alter table {name} set location '{location}'")
                    cursor.execute(f"refresh table {name}")
                    return
                cursor.execute(f"drop table {name}")
            declared = ", ".join(f"`{column}` {kind}" for column, kind in wanted)
            cursor.execute(f"create table {name} ({declared}) using parquet location '{location}'")


def warehouse_of(settings: Settings) -> Warehouse:
    """The warehouse of the settings' dbt target."""
    if settings.engine == "spark":
        return SparkWarehouse(
            settings.spark_thrift_host, settings.spark_thrift_port, settings.storage_location
        )
    return DuckDBWarehouse(settings.warehouse_path)
