"""Runs a server command so that Ctrl-C or SIGTERM stops it, and everything it started, in time.

`dagster dev` starts a webserver, a daemon and code servers. On SIGINT it asks each to stop and
waits up to a minute for each; on a SIGTERM sent to `make` alone it hears nothing, since make
passes SIGTERM only to its own child. ``supervise`` is that child: it passes SIGTERM and SIGHUP
on to the command as the SIGINT the command handles, gives the command and its processes a
grace period to stop, then kills what is left. It adopts the processes whose parent ends first
(a Linux child subreaper), so none escapes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _become_subreaper() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _children() -> dict[int, list[int]]:
    """Each process's children, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return children


def descendants(pid: int) -> list[int]:
    """The processes below ``pid``, zombies included, parents before their children."""
    children = _children()
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _reap(keep: int) -> None:
    """Collects the exit status of the adopted processes that ended, so none stays a zombie;
    not that of ``keep``, which its Popen object collects."""
    for pid in _children().get(os.getpid(), []):
        if pid != keep:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def _kill_all(sig: int) -> None:
    for pid in descendants(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def supervise(
    command: list[str],
    grace: float = 10.0,
    every: tuple[float, Callable[[], None]] | None = None,
) -> int:
    """Runs ``command`` until it ends or a stop signal arrives; returns its exit status.

    After a stop signal, whatever still runs ``grace`` seconds later is killed. ``every``
    (seconds, function) calls the function that often while the command runs.
    """
    received: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        received.append(signum)

    _become_subreaper()
    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        child = subprocess.Popen(command)
        forwarded = False
        deadline = None
        next_call = time.monotonic() + every[0] if every else None
        while True:
            if next_call is not None and not received and time.monotonic() > next_call:
                every[1]()
                next_call = time.monotonic() + every[0]
            status = child.poll()
            _reap(child.pid)
            if received and not forwarded:
                forwarded = True
                deadline = time.monotonic() + grace
                # Ctrl-C reaches the whole process group, the command with it; SIGTERM or SIGHUP
                # may have been sent to make or to this process alone.
                if received[0] != signal.SIGINT and status is None:
                    child.send_signal(signal.SIGINT)
            if status is not None and not descendants(os.getpid()):
                break
            if status is not None and deadline is None:
                deadline = time.monotonic() + grace  # the command ended, its helpers linger
            if deadline is not None and time.monotonic() > deadline:
                _kill_all(signal.SIGKILL)
                child.wait()
                while descendants(os.getpid()):
                    _reap(child.pid)
                    time.sleep(0.05)
                break
            time.sleep(0.1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        return 128 + received[0]
    return child.returncode
