"""What stopped a dbt build, or what its tests warned of, said from its ``run_results.json`` for
the person who must fix it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa

FAILED = ("fail", "error", "runtime error")
#: The rows of a test that failed or warned shown with its message.
SHOWN_ROWS = 5


def build_failure(results: Mapping[str, Any], read: Callable[[str], pa.Table]) -> str:
    """Each node of ``results`` that failed, with dbt's message and, for a test, the first
    rows it found (its compiled SQL run by ``read``), and how many nodes did not run after them.
    """
    nodes = results.get("results", [])
    failed = [node for node in nodes if node["status"] in FAILED]
    skipped = sum(node["status"] == "skipped" for node in nodes)
    head = f"dbt's build stopped: {len(failed)} failed"
    if skipped:
        head += f", and {skipped} models and tests after {'it' if len(failed) == 1 else 'them'}"
        head += " did not run"
    return "\n".join([head + ".", *(described(node, read) for node in failed)])


def warnings(results: Mapping[str, Any], read: Callable[[str], pa.Table]) -> list[str]:
    """Each test of ``results`` that warned, as ``build_failure`` says a failed one."""
    return [
        described(node, read) for node in results.get("results", []) if node["status"] == "warn"
    ]


def described(node: Mapping[str, Any], read: Callable[[str], pa.Table]) -> str:
    """A node with dbt's message and, for a test, the first rows it found."""
    kind, _, name = node["unique_id"].split(".")[:3]
    line = f"{kind} {name}: {(node.get('message') or node['status']).strip()}"
    if kind == "test" and node.get("compiled_code"):
        line += _found(node["compiled_code"], read)
    return line


def _found(sql: str, read: Callable[[str], pa.Table]) -> str:
    """The first rows ``sql`` (a test's query) returns, as name=value pairs."""
    try:
        rows = read(f"select * from ({sql}) as found limit {SHOWN_ROWS}").to_pylist()
    except Exception as error:  # the warehouse could not run it: dbt's message stands alone
        return f" (its rows could not be read: {str(error).splitlines()[0]})"
    if not rows:
        return ""
    shown = "; ".join(", ".join(f"{k}={v}" for k, v in row.items()) for row in rows)
    return f". The first rows it found: {shown}"
