"""The project's event log storage writes what Dagster's own reads, keeps few files open, looks
for a table once, and commits without waiting for the disk yet loses nothing to a killed
process."""

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration.lib.event_log import KEPT_ENGINES, PooledSqliteEventLogStorage
from orchestration.lib.settings import PROJECT_ROOT


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers():
    yield dg.MaterializeResult(metadata={"rows": 3})
    yield dg.AssetCheckResult(passed=True)


@pytest.fixture
def home(tmp_path, monkeypatch):
    shutil.copy(PROJECT_ROOT / "orchestration" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return tmp_path


def open_databases(folder: Path) -> set[str]:
    """The SQLite database files under ``folder`` this process holds open."""
    names = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(folder)) and target.endswith(".db"):
            names.add(Path(target).name)
    return names


def test_the_instance_of_dagster_yaml_stores_events_that_dagsters_own_storage_reads(home):
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        result = dg.materialize([numbers], instance=instance)
        assert result.success
        written = [
            record.event_log_entry for record in instance.get_records_for_run(result.run_id).records
        ]

    default = SqliteEventLogStorage(str(home / "history" / "runs"))
    read = [record.event_log_entry for record in default.get_records_for_run(result.run_id).records]
    assert [entry.dagster_event_type for entry in read] == [
        entry.dagster_event_type for entry in written
    ]
    materialization = default.get_latest_materialization_events([dg.AssetKey("numbers")])
    assert materialization[dg.AssetKey("numbers")].asset_materialization.metadata["rows"].value == 3
    check = default.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("numbers"), "positive")]
    )
    assert check[dg.AssetCheckKey(dg.AssetKey("numbers"), "positive")].run_id == result.run_id


def test_a_long_lived_process_keeps_only_the_files_it_used_last_open(home):
    storage = PooledSqliteEventLogStorage(str(home))
    runs = [f"run-{number:02}" for number in range(KEPT_ENGINES + 4)]
    for run_id in runs:
        with storage.run_connection(run_id) as connection:
            connection.exec_driver_sql("SELECT 1")
    assert open_databases(home) == {f"{run_id}.db" for run_id in runs[-KEPT_ENGINES:]}
    storage.dispose()
    assert open_databases(home) == set()


def test_a_wipe_closes_the_files_it_deletes_and_the_next_run_writes_anew(home):
    with dg.DagsterInstance.get() as instance:
        first = dg.materialize([numbers], instance=instance)
        instance.wipe()
        assert open_databases(home / "history" / "runs") <= {"index.db"}
        second = dg.materialize([numbers], instance=instance)
        assert instance.get_records_for_run(first.run_id).records == []
        assert instance.get_records_for_run(second.run_id).records


def test_a_commit_waits_for_no_disk_and_a_killed_process_loses_no_event(home):
    storage = PooledSqliteEventLogStorage(str(home))
    with storage.run_connection("a-run") as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    storage.dispose()
    with contextlib.closing(sqlite3.connect(home / "history" / "runs" / "a-run.db")) as file:
        assert file.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_ITS_RUN],
        env={**os.environ, "DAGSTER_HOME": str(home)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_id = killed.stdout.strip()
    default = SqliteEventLogStorage(str(home / "history" / "runs"))
    events = [
        r.event_log_entry.dagster_event_type for r in default.get_records_for_run(run_id).records
    ]
    assert dg.DagsterEventType.ASSET_CHECK_EVALUATION in events
    assert events[-1] == dg.DagsterEventType.RUN_SUCCESS


# A run stored through the project's instance, then the process killed before it closes
# anything: what it committed must be in the files.
KILLED_AFTER_ITS_RUN = """
import os, signal
import dagster as dg
from tests.test_event_log import numbers
result = dg.materialize([numbers], instance=dg.DagsterInstance.get())
print(result.run_id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_table_found_once_is_not_looked_for_again_until_a_wipe(home, monkeypatch):
    storage = PooledSqliteEventLogStorage(str(home))
    looked = []
    original = SqliteEventLogStorage.has_table
    monkeypatch.setattr(
        SqliteEventLogStorage,
        "has_table",
        lambda self, name: looked.append(name) or original(self, name),
    )
    assert storage.supports_asset_checks and storage.supports_asset_checks
    assert not storage.has_table("no_such_table") and not storage.has_table("no_such_table")
    assert looked == ["asset_check_executions", "no_such_table", "no_such_table"]
    storage.wipe()
    looked.clear()
    assert storage.supports_asset_checks and storage.supports_asset_checks
    assert looked == ["asset_check_executions"]
    storage.dispose()
