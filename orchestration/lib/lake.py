"""The raw tables as Parquet under the storage location, for a Spark cluster to read.

Extraction lands in the DuckDB file as on the default engine (dlt's keys, versions and
quarantines unchanged); with the Spark target each load is then written once to the storage
location, one file per table and load (`<schema>/<table>/<load id>.parquet`), and each table is
declared to Spark as an external table over its folder. A load already in the lake is never
written again, so a run that dies mid-way is finished by the next, and the lake holds exactly
the rows of the DuckDB file.
"""

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from pyarrow import fs

from orchestration.lib.warehouse import SparkWarehouse

LOAD_ID = "_dlt_load_id"


@dataclass(frozen=True)
class Published:
    table: str
    loads: int
    rows: int


def publish_raw(warehouse: Path, schema: str, lake: SparkWarehouse) -> list[Published]:
    """Writes the loads of ``schema``'s raw tables that the lake lacks, then declares every
    table to Spark (again when its columns changed)."""
    filesystem, root = fs.FileSystem.from_uri(lake.storage)
    published = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = ?"
                " and not starts_with(table_name, '_dlt') order by table_name",
                [schema],
            ).fetchall()
        ]
        for table in tables:
            folder = f"{root}/{schema}/{table}"
            filesystem.create_dir(folder)
            stored = {
                Path(info.path).stem
                for info in filesystem.get_file_info(fs.FileSelector(folder))
                if info.path.endswith(".parquet")
            }
            loads = [
                load
                for (load,) in con.execute(
                    f'select distinct {LOAD_ID} from "{schema}"."{table}" order by 1'
                ).fetchall()
                if load not in stored
            ]
            rows = 0
            for load in loads:
                batch = con.sql(
                    f'select * from "{schema}"."{table}" where {LOAD_ID} = ?', params=[load]
                ).to_arrow_table()
                # written under another name, then renamed: a file in the lake is whole
                pq.write_table(batch, f"{folder}/.{load}.tmp", filesystem=filesystem)
                filesystem.move(f"{folder}/.{load}.tmp", f"{folder}/{load}.parquet")
                rows += batch.num_rows
            columns = con.sql(f'select * from "{schema}"."{table}" limit 0').to_arrow_table()
            lake.declare(schema, table, columns.schema, f"{schema}/{table}")
            published.append(Published(table, len(loads), rows))
    return published


def mirror(lake: SparkWarehouse, warehouse: Path, tables: list[tuple[str, str]]) -> None:
    """Copies each (schema, table) from Spark into the DuckDB file: the alerts, the serving copy
    and the dashboard then read the marts as on DuckDB. Each table is replaced in one
    statement."""
    for schema, table in tables:
        rows = lake.read(f"select * from `{schema}`.`{table}`")
        with duckdb.connect(str(warehouse)) as con:
            con.execute(f'create schema if not exists "{schema}"')
            con.register("copied", rows)
            con.execute(f'create or replace table "{schema}"."{table}" as select * from copied')
