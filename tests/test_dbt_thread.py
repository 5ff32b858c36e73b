"""dbt run on a thread of the test's process, read as dagster-dbt reads a dbt process."""

import json
import signal
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.dbt_thread import DbtThread

# A count DuckDB takes a few seconds over.
SLOW = "{{ config(materialized='table') }} select count(*) as n from range(20000000000)"


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A dbt project of its own with a DuckDB warehouse, and no model yet."""
    (tmp_path / "models").mkdir()
    (tmp_path / "dbt_project.yml").write_text(
        "name: tiny\nversion: '1.0'\nconfig-version: 2\nprofile: tiny\n"
        "model-paths: [models]\nflags:\n  send_anonymous_usage_stats: false\n"
    )
    (tmp_path / "profiles.yml").write_text(
        "tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: \"{{ env_var('TINY_WAREHOUSE') }}\"\n      threads: 1\n"
    )
    monkeypatch.setenv("TINY_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    return tmp_path


def build(project: Path) -> DbtThread:
    target = project / "target"
    return DbtThread(
        [
            "build",
            f"--project-dir={project}",
            f"--profiles-dir={project}",
            f"--target-path={target}",
            f"--log-path={target}",
        ]
    )


def events(dbt: DbtThread) -> list[dict]:
    return [json.loads(line) for line in dbt.stdout]


def test_a_build_reports_its_events_as_dbts_json_lines_and_leaves_the_warehouse_closed(project):
    (project / "models" / "orders.sql").write_text("select 1 as order_id")
    (project / "models" / "orders.yml").write_text(
        "models:\n  - name: orders\n    columns:\n      - name: order_id\n"
        "        data_tests: [not_null]\n"
    )
    dbt = build(project)
    seen = events(dbt)
    assert dbt.wait() == 0
    assert dbt.args[:2] == ["dbt", "build"]
    names = [event["info"]["name"] for event in seen]
    assert names.count("LogModelResult") == 1 and names.count("LogTestResult") == 1
    assert {event["info"]["level"] for event in seen} <= {"info", "warn", "error"}
    assert not any("\x1b[" in event["info"]["msg"] for event in seen), "no terminal colours"
    # dbt-duckdb keeps its database open for the next command: a read-only connection, with
    # other settings than dbt's, could not open the file.
    with duckdb.connect(str(project / "warehouse.duckdb"), read_only=True) as con:
        assert con.sql("select order_id from orders").fetchall() == [(1,)]


def test_a_failed_node_exits_1_with_its_error_and_a_dbt_that_cannot_start_exits_2(project):
    (project / "models" / "broken.sql").write_text("select no_such_column from range(1)")
    dbt = build(project)
    errors = [event["info"]["msg"] for event in events(dbt) if event["info"]["level"] == "error"]
    assert dbt.wait() == 1
    assert any("no_such_column" in error for error in errors), errors
    missing = build(project / "no_such_folder")
    (told,) = [event["info"]["msg"] for event in events(missing)]
    assert missing.wait() == 2
    assert "no_such_folder" in told, told


def test_an_interrupt_ends_dbt_once_the_node_it_runs_has_ended(project):
    (project / "models" / "slow.sql").write_text(SLOW)
    (project / "models" / "after.sql").write_text("select n from {{ ref('slow') }}")
    dbt = build(project)
    started = []
    for line in dbt.stdout:
        event = json.loads(line)
        if event["info"]["name"] == "LogStartLine":
            started.append(event["data"]["node_info"]["unique_id"])
            dbt.send_signal(signal.SIGINT)
    assert dbt.wait() == 2
    assert started == ["model.tiny.slow"]
