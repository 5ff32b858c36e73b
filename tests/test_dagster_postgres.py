"""Dagster for a team: the instance of orchestration/dagster_postgres.yaml keeps runs, events
and the sensors' state in a real PostgreSQL server (tests/postgres_server.py), and the
webserver and the daemon run as services of their own against it, as the README sets them up,
next to `python -m orchestration run`."""

import os
import signal
from pathlib import Path

import psycopg
import pytest
import yaml
from dagster_ui import answers, kill_all_with, launch, start, wait_for_run
from postgres_server import free_port, postgres_server
from radar_runs import Run, radar_env, wait_until

from orchestration.lib.raw_contract import source_tables
from orchestration.lib.settings import PROJECT_ROOT

# The webserver loads the code location (and with it dbt's manifest) before it answers.
STARTUP_SECONDS = 300


class Team:
    """A PostgreSQL-backed Dagster instance with its webserver and daemon running."""

    def __init__(self, root: Path, env: dict, url: str, log: Path) -> None:
        self.root, self.env, self.url, self.log = root, env, url, log

    def query(self, sql: str) -> list[tuple]:
        url = self.env["DAGSTER_POSTGRES_URL"].replace("+psycopg2", "")
        with psycopg.connect(url) as con:
            return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def team(tmp_path_factory, small_demo):
    root = tmp_path_factory.mktemp("team")
    with postgres_server("s3cret") as database:
        env = radar_env(
            root,
            small_demo,
            instance="dagster_postgres.yaml",
            # the driver Dagster's storage is written for (see settings.py)
            DAGSTER_POSTGRES_URL=database("dagster").replace("postgresql:", "postgresql+psycopg2:"),
        )
        port = free_port()
        log = root / "services.log"
        with log.open("w") as out:
            services = [
                start(["dagster-webserver", "-h", "127.0.0.1", "-p", str(port)], env, out),
                start(["dagster-daemon", "run"], env, out),
            ]
        url = f"http://127.0.0.1:{port}/graphql"
        try:
            wait_until(
                lambda: answers(url) or any(s.poll() is not None for s in services),
                STARTUP_SECONDS,
                "answering",
            )
            assert all(s.poll() is None for s in services), log.read_text()[-3000:]
            yield Team(root, env, url, log)
        finally:
            for service in services:
                os.killpg(service.pid, signal.SIGKILL)
                service.wait()
            assert kill_all_with(f"DAGSTER_HOME={env['DAGSTER_HOME']}") == []


@pytest.mark.e2e
def test_a_run_from_the_command_line_is_stored_in_postgresql_and_shown_by_the_webserver(team):
    run = Run(team.env, team.root / "run.out")
    assert run.finish() == 0, run.text()
    ((run_id, status),) = team.query("select run_id, status from runs")
    assert status == "SUCCESS"
    assert wait_for_run(team.url, run_id, team.log) == "SUCCESS"
    # its events too: the job's steps, the dbt models and their checks
    (materialized,) = team.query(
        "select count(*) from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION'"
    )[0]
    assert materialized > 50
    # nothing of the instance is kept in local SQLite files
    home = Path(team.env["DAGSTER_HOME"])
    assert not list(home.rglob("*.db")), list(home.rglob("*.db"))


@pytest.mark.e2e
def test_a_run_launched_in_the_webserver_is_queued_started_by_the_daemon_and_succeeds(team):
    # Two sources' raw tables (the whole job is stored in PostgreSQL by the test above): their
    # extraction, then dbt's tests of those tables, which are checks of theirs.
    tables = [[source, name] for source in ("hr", "web") for name in source_tables(source)]
    run_id = launch(team.url, "daily_radar", assets=tables)
    assert wait_for_run(team.url, run_id, team.log) == "SUCCESS", team.log.read_text()[-3000:]
    steps = team.query(
        "select step_key from event_logs where dagster_event_type = 'STEP_SUCCESS' "
        f"and run_id = '{run_id}'"
    )
    assert sorted(steps) == [("dbt_models",), ("extract_hr",), ("extract_web",)]
    # The daemon took it from the queue: its heartbeats and the sensor's ticks are in
    # PostgreSQL, where any other webserver or daemon on the instance reads them.
    daemons = {row[0] for row in team.query("select daemon_type from daemon_heartbeats")}
    assert {"QUEUED_RUN_COORDINATOR", "SENSOR"} <= daemons
    assert team.query("select count(*) from job_ticks")[0][0] > 0
    statuses = {status for _, status in team.query("select run_id, status from runs")}
    assert statuses == {"SUCCESS"}


def test_a_postgresql_url_with_an_instance_of_local_files_stops_the_run_saying_what_to_do(
    tmp_path, small_demo
):
    url = "postgresql+psycopg2://dagster@127.0.0.1:1/dagster"
    run = Run(radar_env(tmp_path, small_demo, DAGSTER_POSTGRES_URL=url), tmp_path / "run.out")
    assert run.finish() == 2
    assert "`make setup` installs the PostgreSQL one" in run.text()
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()


def test_the_team_instance_differs_from_the_local_one_only_in_where_it_stores():
    local, team = (
        yaml.safe_load((PROJECT_ROOT / "orchestration" / name).read_text())
        for name in ("dagster.yaml", "dagster_postgres.yaml")
    )
    assert local.pop("event_log_storage")["class"] == "PooledSqliteEventLogStorage"
    assert team.pop("storage") == {"postgres": {"postgres_url": {"env": "DAGSTER_POSTGRES_URL"}}}
    assert local == team
