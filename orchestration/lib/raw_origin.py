"""Whose rows a warehouse's raw tables hold: the demo company's, or the company's own.

A new clone runs on the demo company, so a first `make run` fills the warehouse with the
demo's rows. A company's own ERP configured afterwards would load into the same tables: merged
by key with the demo's customers and orders, its older rows skipped by the demo's cursor (at
the demo's as-of day), and the demo's surveys and visits kept beside it in the marts of every
source not yet configured. So each raw schema records whose rows it first received, and a run
for the other company stops before it loads anything, saying how to start afresh.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.lib.settings import SOURCE_VARIABLES, Settings, any_own

TABLE = "_radar_origin"
OWN, DEMO = "own", "demo"
WHOSE = {OWN: "your company's own", DEMO: "the demo company's"}


class MixedOrigins(RuntimeError):
    """The warehouse holds another company's raw rows than the run would load."""


def run_origin(settings: Settings) -> str:
    """Whose data a run loads: the company's own once any source is configured, else the
    demo's (a source left unset or off beside one of the company's holds no demo rows)."""
    return OWN if any_own(settings.sources) else DEMO


def claim(landing: Path, source: str, origin: str) -> None:
    """Record that ``source``'s raw schema in the DuckDB file ``landing`` holds ``origin``'s
    rows, or raise MixedOrigins when it already holds the other's. A schema that received rows
    before origins were recorded is taken to hold the run's."""
    schema = f"raw_{source}"
    with duckdb.connect(str(landing)) as con:
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"create table if not exists {schema}.{TABLE} (origin varchar not null)")
        held = con.execute(f"select any_value(origin) from {schema}.{TABLE}").fetchone()[0]
        if held is None:
            con.execute(f"insert into {schema}.{TABLE} values (?)", [origin])
        elif held != origin:
            raise MixedOrigins(mixed(landing, source, held, origin))


def recorded(landing: Path, source: str) -> str | None:
    """Whose rows ``source``'s raw schema in ``landing`` holds, as a run recorded it; None
    when nothing is recorded, or the file cannot be read now (a run is writing it)."""
    if not landing.exists():
        return None
    try:
        with duckdb.connect(str(landing), read_only=True) as con:
            query = f"select any_value(origin) from raw_{source}.{TABLE}"
            return con.execute(query).fetchone()[0]
    except duckdb.Error:
        return None


def mixed(landing: Path, source: str, held: str, origin: str) -> str:
    """Why a run of ``origin`` does not load into a raw schema holding ``held``'s rows."""
    variables = ", ".join(SOURCE_VARIABLES.values())
    settings = (
        f"one of {variables} names your system"
        if origin == OWN
        else f"none of {variables} names a system of yours"
    )
    return (
        f"raw_{source} in {landing} holds {WHOSE[held]} rows, and this run would load "
        f"{WHOSE[origin]} ({settings}): they would mix in every mart. Use a warehouse of its "
        f"own for each: set WAREHOUSE_PATH to a new file (its folder then holds its extraction "
        f"state too), or remove {landing} and "
        f"{landing.parent / 'dlt_pipelines' / landing.stem} to start again."
    )
