"""The project's own generic dbt tests: what they find, run by dbt on rows given inline, and
how the project's tables use them (read from dbt's parsed manifest)."""

import json
import os
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from radar_runs import dbt_command

from orchestration.lib.settings import PROJECT_ROOT

# A unique column that may be null: a customer without a CRM company has none.
NULLABLE_UNIQUE = {("dim_customers", "crm_company_id")}


def dbt_show(sql: str, tmp_path: Path) -> list[dict]:
    """The rows of ``sql``, compiled and run by dbt in the project (macros included)."""
    shown = subprocess.run(
        dbt_command(
            *["--quiet", "show", "--inline", sql, "--limit", "100", "--output", "json"],
            target=tmp_path / "target",
            logs=tmp_path / "logs",
        ),
        env={**os.environ, "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb")},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(shown.stdout)["show"]


def rows(values: str) -> str:
    return f"(select * from (values {values}) as given (a, b, c))"


@pytest.mark.e2e
def test_the_not_null_test_of_a_model_names_each_column_holding_nulls_with_their_count(
    tmp_path,
):
    cases = {
        "some null": rows("(1, null, 'x'), (2, 3, 'y'), (null, null, 'z')"),
        "none null": rows("(1, 2, 'x'), (3, 4, 'y')"),
        "no rows": rows("(1, 2, 'x')") + " where false",
    }
    sql = " union all ".join(
        f"select '{case}' as case_name, * from "
        f"({{{{ test_not_null_columns(model={model!r}, columns=['a', 'b', 'c']) }}}})"
        for case, model in cases.items()
    )
    found = sorted(
        (row["case_name"], row["column_name"], row["null_rows"]) for row in dbt_show(sql, tmp_path)
    )
    assert found == [("some null", "a", 1), ("some null", "b", 2)]


def data_tests() -> list[tuple[str, str, dict, dict]]:
    """(table, generic test, its arguments, its config) of each generic data test, the table
    named as dbt names it (model, seed or source table)."""
    manifest = json.loads((PROJECT_ROOT / "target" / "manifest.json").read_text())
    tables = {**manifest["nodes"], **manifest["sources"]}
    return [
        (tables[node["attached_node"]]["name"], meta["name"], meta["kwargs"], node["config"])
        for node in manifest["nodes"].values()
        if (meta := node.get("test_metadata")) and node.get("attached_node")
    ]


def test_every_key_column_is_in_its_tables_not_null_test():
    not_null, keys = defaultdict(set), set()
    for table, test, arguments, config in data_tests():
        if test == "not_null_columns" and not config.get("where"):
            not_null[table] |= set(arguments["columns"])
        elif test == "unique_combination_of_columns":
            keys |= {(table, column) for column in arguments["combination_of_columns"]}
        elif test == "unique":
            keys.add((table, arguments["column_name"]))
    assert len(keys) > 60
    assert {(t, c) for t, c in keys if c not in not_null[t]} == NULLABLE_UNIQUE


def test_only_a_warning_is_a_not_null_test_of_its_own_column():
    """A gate's not-null columns are in their table's one test: a test per column cost dbt and
    Dagster about 35 ms each (README, Speed)."""
    severities = {
        config["severity"].lower() for _, test, _, config in data_tests() if test == "not_null"
    }
    assert severities <= {"warn"}
