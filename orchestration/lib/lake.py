"""The raw tables as Parquet under the storage location, for a Spark cluster to read.

Extraction lands in DuckDB as on the default engine (dlt's keys, versions and quarantines
unchanged), each source in a file of its own; with the Spark target each load is then written
to the storage location, one file per table and load
(`<schema>/<table>/<load id>-<rows>rows.parquet`), and each table is declared to Spark as an
external table over its folder. A load already in the lake is not written again unless dlt's
merge has since moved some of its rows to a later load, so a run that dies mid-way is finished
by the next, and the lake holds exactly the rows of the landing file. After each dbt build the
served tables are copied back into the DuckDB file (mirror).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
from pyarrow import fs

from orchestration.lib.serving import SERVED_SCHEMAS, sql_literal, sql_name
from orchestration.lib.warehouse import SparkWarehouse

LOAD_ID = "_dlt_load_id"


@dataclass(frozen=True)
class Published:
    table: str
    files: int  # written or removed
    rows: int  # written


def publish_raw(warehouse: Path, schema: str, lake: SparkWarehouse) -> list[Published]:
    """Makes the lake hold the rows of ``schema``'s raw tables, then declares every table to
    Spark (again when its columns changed). A file is named after its load and its row count:
    a load whose rows dlt's merge moved to a later load (a record read again) has fewer rows in
    the DuckDB file than in its file, which is then written again."""
    filesystem, root = fs.FileSystem.from_uri(lake.storage)
    published = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                # not dlt's own tables, nor whose rows the schema holds (raw_origin)
                "select table_name from duckdb_tables() where schema_name = ?"
                " and not starts_with(table_name, '_') order by table_name",
                [schema],
            ).fetchall()
        ]
        for table in tables:
            folder = f"{root}/{schema}/{table}"
            filesystem.create_dir(folder)
            files = [
                Path(info.path).name
                for info in filesystem.get_file_info(fs.FileSelector(folder))
                if info.path.endswith(".parquet")
            ]
            counts = dict(
                con.execute(
                    f'select {LOAD_ID}, count(*) from "{schema}"."{table}" group by all'
                ).fetchall()
            )
            wanted = {file_name(load, rows) for load, rows in counts.items()}
            written = 0
            for load, rows in sorted(counts.items()):
                if file_name(load, rows) in files:
                    continue
                batch = con.sql(
                    f'select * from "{schema}"."{table}" where {LOAD_ID} = ?', params=[load]
                ).to_arrow_table()
                # written under another name, then renamed: a file in the lake is whole
                pq.write_table(batch, f"{folder}/.{load}.tmp", filesystem=filesystem)
                filesystem.move(f"{folder}/.{load}.tmp", f"{folder}/{file_name(load, rows)}")
                written += rows
            # then the files of loads gone or grown smaller: never a row missing meanwhile
            for stale in set(files) - wanted:
                filesystem.delete_file(f"{folder}/{stale}")
            columns = con.sql(f'select * from "{schema}"."{table}" limit 0').to_arrow_table()
            lake.declare(schema, table, columns.schema, f"{schema}/{table}")
            published.append(Published(table, len(set(files) ^ wanted), written))
    return published


def file_name(load: str, rows: int) -> str:
    return f"{load}-{rows}rows.parquet"


@dataclass(frozen=True)
class Served:
    """A table the alerts, the serving copy and the dashboard read, with the comments dbt's
    persist_docs gives it on DuckDB (BI tools show them)."""

    schema: str
    table: str
    comment: str | None = None
    column_comments: tuple[tuple[str, str], ...] = ()


def served_tables(
    built: Mapping[str, tuple[str, str]], manifest: Mapping[str, Any]
) -> list[Served]:
    """The tables of the served schemas among ``built`` (by unique id), with the comments dbt's
    persist_docs writes on DuckDB: the model's description, and each documented column's."""
    served = []
    for unique_id, (schema, table) in built.items():
        if schema not in SERVED_SCHEMAS:
            continue
        node = manifest["nodes"][unique_id]
        docs = node["config"].get("persist_docs") or {}
        columns = node["columns"].values() if docs.get("columns") else ()
        served.append(
            Served(
                schema,
                table,
                node["description"] if docs.get("relation") and node["description"] else None,
                tuple((c["name"], c["description"]) for c in columns if c["description"]),
            )
        )
    return served


def mirror(lake: SparkWarehouse, warehouse: Path, tables: list[Served]) -> None:
    """Copies each table from Spark into the DuckDB file, with its comments: the alerts, the
    serving copy and the dashboard then read the marts as on DuckDB. Each table is replaced in
    one transaction."""
    for served in tables:
        name = f"{sql_name(served.schema)}.{sql_name(served.table)}"
        rows = lake.read(f"select * from `{served.schema}`.`{served.table}`")
        with duckdb.connect(str(warehouse)) as con:
            con.execute(f"begin; create schema if not exists {sql_name(served.schema)}")
            con.register("copied", rows)
            con.execute(f"create or replace table {name} as select * from copied")
            if served.comment:
                con.execute(f"comment on table {name} is {sql_literal(served.comment)}")
            for column, comment in served.column_comments:
                con.execute(
                    f"comment on column {name}.{sql_name(column)} is {sql_literal(comment)}"
                )
            con.execute("commit")
