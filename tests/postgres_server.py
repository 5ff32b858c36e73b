"""A real PostgreSQL server for the tests that need one: Debian's binaries, a data directory of
its own, listening on loopback only, started and stopped by the test (``.ci/run`` installs the
``postgresql`` package when missing)."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

USER = "cvr"


def server_binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def postgres_server(password: str) -> Iterator[Callable[[str], str]]:
    """A PostgreSQL server of its own; yields a function that creates a database and gives its
    URL (``postgresql://``, with ``password``, which the server's trust auth ignores). Skips
    the test when the server's binaries are absent."""
    binaries = server_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries are absent: apt-get install postgresql")
    # The server refuses to run as root: as root, it runs as Debian's postgres user, in a
    # folder that user can reach (pytest's own tmp folders are private to root).
    as_root = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="cvr-postgres-"))
    if as_root:
        shutil.chown(root, "postgres")
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    data, port = root / "data", free_port()
    subprocess.run(
        [*run_as, binaries / "initdb", "-D", data, "-U", USER, "-A", "trust", "--no-sync"],
        check=True,
        capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {root} -F"
    subprocess.run(
        [
            *run_as,
            binaries / "pg_ctl",
            "-D",
            data,
            "-o",
            options,
            "-l",
            root / "log",
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    pid = int((data / "postmaster.pid").read_text().split()[0])

    def database(name: str) -> str:
        with psycopg.connect(f"host=127.0.0.1 port={port} user={USER} dbname=postgres") as admin:
            admin.autocommit = True
            admin.execute(f"create database {name}")
        return f"postgresql://{USER}:{password}@127.0.0.1:{port}/{name}"

    try:
        yield database
    finally:
        os.kill(pid, signal.SIGINT)  # PostgreSQL's fast shutdown
        deadline = time.monotonic() + 30
        while (data / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
