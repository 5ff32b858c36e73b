"""`python -m orchestration run` in processes of its own, on the small demo company, for the
tests that kill, race or starve it; dbt's unit tests against the warehouse of a run; and the
Dagster instance of the runs a test makes in its own process."""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml

from demo_company.writer import DemoPaths
from orchestration.lib.settings import PROJECT_ROOT

AS_OF = date(2026, 6, 30)
# A demo run takes one to three minutes on a shared machine; these bound a wait gone wrong.
RUN_TIMEOUT = 600
# The settings a run must not take from the environment of the tests.
SOURCES = ("ERP_DATABASE_URL", "CRM_API_URL", "CRM_API_TOKEN", "WEB_EVENTS_PATH", "HR_SURVEY_PATH")


@contextlib.contextmanager
def project_instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance in a temporary DAGSTER_HOME, configured as `make` configures the
    project's (orchestration/dagster.yaml: its event log, its pools)."""
    config = yaml.safe_load((PROJECT_ROOT / "orchestration" / "dagster.yaml").read_text())
    with dg.instance_for_test(overrides=config) as instance:
        yield instance


def radar_env(
    root: Path,
    demo: DemoPaths,
    data: Path | None = None,
    instance: str = "dagster.yaml",
    **settings: str,
) -> dict:
    """The environment of a run on the small demo company (scale 0.2, seed 42: conftest's
    ``small_demo``), with its Dagster instance (``orchestration/<instance>``) under ``root``
    and the warehouse, serving copy and logs in ``data``."""
    data = data or root / "data"
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "orchestration" / instance, home / "dagster.yaml")
    env = {key: value for key, value in os.environ.items() if key not in SOURCES}
    env.update(
        DEMO_SCALE="0.2",
        DEMO_SEED="42",
        AS_OF=AS_OF.isoformat(),
        DEMO_PATH=str(demo.directory),
        DAGSTER_HOME=str(home),
        WAREHOUSE_PATH=str(data / "warehouse.duckdb"),
        SERVING_PATH=str(data / "serving.duckdb"),
        DASHBOARD_PATH=str(root / "dashboard" / "index.html"),
        ALERT_CHANNELS=f"jsonl://{root / 'alerts.jsonl'}",
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update(settings)
    return env


class Run:
    """A run in a session of its own (so what it starts can be stopped with it), its terminal
    output in a file."""

    def __init__(self, env: dict, out: Path, command: list[str] | None = None) -> None:
        self.out = out
        self._file = out.open("w")
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "orchestration", "run"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self._file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.out.read_text()

    def wait_for(self, pattern: str, timeout: float = RUN_TIMEOUT) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.text())
            if match:
                return match
            if self.process.poll() is not None:
                pytest.fail(f"the run ended before printing {pattern!r}:\n{self.text()}")
            time.sleep(0.2)
        pytest.fail(f"no {pattern!r} within {timeout} s:\n{self.text()}")

    def finish(self, timeout: float = RUN_TIMEOUT) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the run did not end within {timeout} s:\n{self.text()}")

    def kill(self) -> None:
        """``kill -9`` of the run's own process, as the kernel's OOM killer would: what it
        started (dbt) lives on, for the next run to cope with."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Stops the run and everything it started."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._file.close()


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not {what} within {timeout} s")
        time.sleep(0.2)


def dbt_command(*args: str, target: Path, logs: Path) -> list[str]:
    """The project's dbt with ``args``, its artifacts written to ``target`` and its log to
    ``logs``."""
    project = ["--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT)]
    paths = ["--target-path", str(target), "--log-path", str(logs)]
    return [str(Path(sys.executable).with_name("dbt")), *args, *project, *paths]


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


def assert_every_dbt_unit_test_passes(env: dict, folder: Path) -> None:
    """Runs `dbt test --select test_type:unit` as of AS_OF against the warehouse ``env`` names
    (its target, DuckDB or Spark), its artifacts and log in ``folder``, and asserts that every
    unit test of the project ran and passed."""
    manifest = json.loads((PROJECT_ROOT / "target" / "manifest.json").read_text())
    unit_tests = set(manifest["unit_tests"])
    assert len(unit_tests) > 20
    command = dbt_command(
        *["test", "--select", "test_type:unit", "--vars", json.dumps({"as_of": AS_OF.isoformat()})],
        target=folder / "target",
        logs=folder / "logs",
    )
    answer = subprocess.run(command, env=env, capture_output=True, text=True)
    assert answer.returncode == 0, answer.stdout[-4000:]
    ran = json.loads((folder / "target" / "run_results.json").read_text())["results"]
    assert {r["unique_id"] for r in ran} == unit_tests
    assert {r["status"] for r in ran} == {"pass"}
