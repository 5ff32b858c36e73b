"""The serving copy: the schemas BI tools read, published as a whole new DuckDB file.

DuckDB admits one writing process or many reading processes on a file, never both, so BI
tools never open the warehouse. After each successful build the served schemas are copied
into a new file beside the serving file, which is then renamed over it. The rename is atomic:
a reader opens either the previous build or the new one, never half of one, and a reader
holding the previous file open keeps reading it (its inode lives until it is closed) without
ever blocking the pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

# What BI tools, the dashboard and people read; raw, staging and intermediate stay inside.
SERVED_SCHEMAS = ("marts", "monitoring", "reference")

# DuckDB 2 writes a storage format that DuckDB 1.x cannot open, and BI tools embed a DuckDB
# of their own (the Metabase driver, Evidence, the CLI): the copy is written in the format
# every DuckDB since 1.0 reads.
STORAGE_VERSION = "v1.0.0"


@dataclass(frozen=True)
class Publication:
    path: Path
    row_counts: dict[str, int]  # "schema.table" → rows, in name order


def draft_path(target: Path) -> Path:
    """Where a build is written before it is renamed over ``target`` (same directory, so the
    rename is atomic; a ``.duckdb`` name, so it is ignored like the warehouse)."""
    return target.with_name(f"{target.stem}.publishing{target.suffix}")


def publish(warehouse: Path, target: Path, schemas: Sequence[str] = SERVED_SCHEMAS) -> Publication:
    """Copies ``schemas`` of ``warehouse`` into a new file and renames it to ``target``.

    Tables and views are copied as tables, with their column types and comments. The
    warehouse is only read; the caller makes sure no process writes it meanwhile.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    draft = draft_path(target)
    _remove(draft)  # left by a publication that was interrupted
    try:
        row_counts = _copy(warehouse, draft, schemas)
        # A write-ahead log beside the target belongs to the file being replaced (a client
        # that opened it read-write): DuckDB would replay it against the new build.
        _wal(target).unlink(missing_ok=True)
        os.replace(draft, target)
    except BaseException:
        _remove(draft)
        raise
    _sync_directory(target.parent)
    return Publication(target, row_counts)


def _copy(warehouse: Path, draft: Path, schemas: Sequence[str]) -> dict[str, int]:
    with duckdb.connect() as con:
        con.execute(f"attach {sql_literal(warehouse)} as warehouse (read_only)")
        con.execute(f"attach {sql_literal(draft)} as serving (storage_version '{STORAGE_VERSION}')")
        relations = con.execute(
            """
            select schema_name, table_name as name, comment from duckdb_tables()
            where database_name = 'warehouse' and list_contains($schemas, schema_name)
            union all
            select schema_name, view_name, comment from duckdb_views()
            where database_name = 'warehouse' and list_contains($schemas, schema_name)
                and not internal
            order by schema_name, name
            """,
            {"schemas": list(schemas)},
        ).fetchall()
        column_comments = con.execute(
            """
            select schema_name, table_name, column_name, comment from duckdb_columns()
            where database_name = 'warehouse' and list_contains($schemas, schema_name)
                and comment is not null
            """,
            {"schemas": list(schemas)},
        ).fetchall()
        for schema in schemas:
            con.execute(f"create schema serving.{sql_name(schema)}")
        row_counts = {}
        for schema, name, comment in relations:
            relation = f"{sql_name(schema)}.{sql_name(name)}"
            # One pipelined statement per table: DuckDB streams it in parallel, typed as the source.
            con.execute(f"create table serving.{relation} as from warehouse.{relation}")
            if comment:
                con.execute(f"comment on table serving.{relation} is {sql_literal(comment)}")
            row_counts[f"{schema}.{name}"] = con.execute(
                f"select count(*) from serving.{relation}"
            ).fetchone()[0]
        for schema, table, column, comment in column_comments:
            name = f"serving.{sql_name(schema)}.{sql_name(table)}.{sql_name(column)}"
            con.execute(f"comment on column {name} is {sql_literal(comment)}")
        # Detaching checkpoints: the file is complete, and has no write-ahead log, before
        # anyone can open it.
        con.execute("detach serving")
    return row_counts


def sql_name(identifier: str) -> str:
    """``identifier`` as a quoted SQL name."""
    return '"' + identifier.replace('"', '""') + '"'


def sql_literal(value: object) -> str:
    """``value`` as a SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _remove(path: Path) -> None:
    for leftover in (path, _wal(path)):
        leftover.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    # The rename is durable once the directory entry is on disk, not just in the page cache.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
