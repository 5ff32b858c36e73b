"""A run that meets a full disk, a folder it may not write or a warehouse another program holds
says so in the terminal, naming the path and what to do."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from radar_runs import radar_env

from orchestration.lib.faults import error_text, explain
from orchestration.lib.settings import PROJECT_ROOT

WAREHOUSE = Path("/srv/radar/data/warehouse.duckdb")
# A failing run stops at its first fault; this bounds one that would not.
RUN_TIMEOUT = 600


@pytest.mark.parametrize(
    ("error", "kind", "path", "advice"),
    [
        (
            'IO Error: Could not set lock on file "/srv/radar/data/warehouse.duckdb": Conflicting'
            " lock is held in /usr/bin/duckdb (PID 4242) by user ops. See also https://duckdb.org",
            "warehouse locked",
            "/srv/radar/data/warehouse.duckdb",
            "locked by another program: /usr/bin/duckdb (PID 4242)",
        ),
        (
            'IO Error: Could not write file "/srv/radar/data/warehouse.duckdb.wal": No space left'
            " on device",
            "disk full",
            "/srv/radar/data/warehouse.duckdb.wal",
            "df -h /srv/radar/data",
        ),
        (
            "OSError: [Errno 28] No space left on device: '/srv/radar/data/logs/x.log'",
            "disk full",
            "/srv/radar/data/logs/x.log",
            "point WAREHOUSE_PATH at a disk with room",
        ),
        (
            'IO Error: Cannot open file "/srv/radar/data/warehouse.duckdb": Permission denied',
            "permission denied",
            "/srv/radar/data/warehouse.duckdb",
            "Give that user write access to /srv/radar/data",
        ),
        (
            "PermissionError: [Errno 13] Permission denied: '/srv/radar/data/x.lock'",
            "permission denied",
            "/srv/radar/data/x.lock",
            "set WAREHOUSE_PATH",
        ),
    ],
)
def test_each_common_fault_is_told_with_its_path_and_what_to_do(error, kind, path, advice):
    fault = explain(error, WAREHOUSE)
    assert (fault.kind, fault.path) == (kind, path)
    assert path in fault.message and advice in fault.message


def test_an_error_is_read_with_its_causes():
    try:
        try:
            raise OSError(28, "No space left on device")
        except OSError as error:
            raise RuntimeError("the extraction failed") from error
    except RuntimeError as error:
        assert explain(error_text(error), WAREHOUSE).kind == "disk full"


def test_other_errors_are_not_dressed_up_as_one_of_them():
    assert explain("KeyError: 'customer_id'", WAREHOUSE) is None


# --- `python -m orchestration run` meeting each fault ---------------------------------------


def run(env: dict, prefix: list[str] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, sys.executable, "-m", "orchestration", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


@pytest.mark.e2e
def test_a_warehouse_another_program_holds_open_is_named_with_the_program(tmp_path, small_demo):
    env = radar_env(tmp_path, small_demo, HOME=str(tmp_path))
    warehouse = Path(env["WAREHOUSE_PATH"])
    warehouse.parent.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time, duckdb
                con = duckdb.connect(sys.argv[1])
                print("open", flush=True)
                time.sleep(600)
                """
            ),
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "open\n"
        result = run(env)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"The warehouse {warehouse} is locked by another program: " in result.stdout, (
        result.stdout + result.stderr
    )
    assert f"(PID {holder.pid})" in result.stdout
    assert "close that program's connection" in result.stdout
    assert f"serving copy {env['SERVING_PATH']}" in result.stdout


@pytest.fixture
def without_root_override():
    """The command prefix that makes root obey file modes as any user does (root writes
    anywhere): it drops the capabilities that let it override them."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("as root, a folder it may not write needs setpriv (util-linux)")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def test_a_warehouse_folder_the_job_may_not_write_is_named_with_what_to_do(
    tmp_path, without_root_override, small_demo
):
    data = tmp_path / "data"
    data.mkdir(mode=0o555)
    env = radar_env(tmp_path, small_demo, data, HOME=str(tmp_path))
    try:
        result = run(env, prefix=without_root_override)
    finally:
        data.chmod(0o755)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Permission denied: {data}/" in result.stdout, result.stdout + result.stderr
    assert f"Give that user write access to {data}" in result.stdout
    assert "WAREHOUSE_PATH" in result.stdout


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB file system (tmpfs), mounted where only root may mount one."""
    mount = tmp_path / "small_disk"
    mount.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("a full disk needs a small tmpfs, which only root can mount")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


@pytest.mark.e2e
def test_a_full_disk_is_named_with_the_path_and_what_to_do(tmp_path, small_disk, small_demo):
    env = radar_env(tmp_path, small_demo, small_disk / "data", HOME=str(tmp_path))
    result = run(env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"The disk is full: writing {small_disk}/" in result.stdout, (
        result.stdout + result.stderr
    )
    assert f"df -h {small_disk}" in result.stdout
    assert "point WAREHOUSE_PATH at a disk with room" in result.stdout


def test_a_full_disk_names_the_warehouse_when_the_error_names_a_file_on_a_disk_with_room():
    warehouse = Path("/dev/shm/radar/warehouse.duckdb")
    if not Path("/dev/shm").is_dir() or os.stat("/dev/shm").st_dev == os.stat("/tmp").st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    fault = explain("OSError: [Errno 28] No space left on device: '/tmp/x.sql'", warehouse)
    assert fault is not None and fault.path == str(warehouse)
    assert "df -h /dev/shm/radar" in fault.message
