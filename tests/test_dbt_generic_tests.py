"""The project's own generic dbt tests, run by dbt on rows given inline."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from radar_runs import dbt_command


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
