"""Talking to a running Dagster webserver as its UI does (GraphQL), and clearing away the
processes a test started under a Dagster home of its own."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from orchestration.lib.settings import PROJECT_ROOT

REPOSITORIES = """
{
  repositoriesOrError {
    ... on RepositoryConnection { nodes { name location { name } jobs { name } } }
  }
}
"""
LAUNCH_RUN = """
mutation LaunchRun($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on Error { message }
  }
}
"""
RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) { ... on Run { status } }
}
"""
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}
# A demo run takes one to three minutes on a shared machine; this bounds a wait gone wrong.
RUN_SECONDS = 600


def start(command: list[str], env: dict, out) -> subprocess.Popen:
    """A Dagster command of the project's environment (``dagster dev``, ``dagster-webserver``…),
    run from the project folder in a session of its own, its output to the file ``out``."""
    return subprocess.Popen(
        [str(Path(sys.executable).parent / command[0]), *command[1:]],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def answers(url: str) -> bool:
    """Whether the webserver at ``url`` serves its code location's jobs yet."""
    try:
        return bool(graphql(url, REPOSITORIES)["data"]["repositoriesOrError"]["nodes"])
    except (urllib.error.URLError, ConnectionError, TimeoutError, KeyError, TypeError):
        return False


def launch(url: str, job: str, assets: list[list[str]] | None = None) -> str:
    """Launches ``job`` as the UI's Launchpad does, or only its ``assets`` (their keys' paths)
    as the asset graph's "Materialize selected" does; returns the run's id."""
    repositories = graphql(url, REPOSITORIES)["data"]["repositoriesOrError"]["nodes"]
    repository = next(repo for repo in repositories if job in {j["name"] for j in repo["jobs"]})
    selector = {
        "repositoryLocationName": repository["location"]["name"],
        "repositoryName": repository["name"],
        "jobName": job,
    }
    if assets is not None:
        selector["assetSelection"] = [{"path": path} for path in assets]
    launched = graphql(url, LAUNCH_RUN, {"params": {"selector": selector}})["data"]["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def wait_for_run(url: str, run_id: str, log: Path) -> str:
    """The run's final status; fails the test with the end of ``log`` if it never ends."""
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        status = graphql(url, RUN_STATUS, {"runId": run_id})["data"]["runOrError"]["status"]
        if status in FINISHED:
            return status
        time.sleep(1)
    pytest.fail(f"run {run_id} did not finish in {RUN_SECONDS} s:\n{log.read_text()[-3000:]}")


def processes_with(marker: str) -> list[int]:
    """Processes whose environment holds ``marker`` (a test's own DAGSTER_HOME)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def kill_all_with(marker: str) -> list[int]:
    """Kills every process whose environment holds ``marker``; the ones still there after 10 s."""
    for pid in processes_with(marker):
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return processes_with(marker)
