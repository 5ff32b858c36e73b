"""One run at a time on a warehouse, with a lock that knows when its holder died.

The lock is a file beside the warehouse (``warehouse.duckdb.lock``) held with ``flock``: the
operating system releases it when the process holding it ends, however it ends (``kill -9``,
out of memory, power cut of the process), so a run that died never blocks the next one. The
holder writes who it is into the file (run id, start time, PID, command) so a run that has to
wait can name it; a holder that ends normally empties the file, so a run that takes the lock and
finds it filled knows that the run before it died, and which one it was.

A run whose steps run in processes of their own (Dagster's multiprocess executor, on Spark)
must not leave them behind when it dies: each such step holds a second file
(``warehouse.duckdb.lock.steps``) shared for as long as it runs and watches the run's process,
which started it; should that die, the step ends (its dbt with it). The next run takes that
file exclusively before its first step: it starts once the dead run's steps have ended.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

# How often a waiting run looks at the lock again: flock tells nothing of its holder, and a
# blocking flock would not let the waiting run say when the holder changes.
POLL_SECONDS = 0.5


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock")


def steps_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".lock.steps")


def process_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (Linux), from the state on
    (state, parent, group, session, …); None if the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (2nd field) may hold spaces and parentheses: count from the last ')'.
    return stat[stat.rindex(")") + 2 :].split()


def process_start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux); None if it is gone,
    or ended and not yet reaped (a zombie: an orphan whose new parent never reaps it).

    With the PID it names one process for good: a PID reused by a later process has another
    start time.
    """
    fields = process_stat(pid)
    return None if fields is None or fields[0] in ("Z", "X") else int(fields[19])


def boot_time() -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    except OSError:
        pass
    return None


def process_started_at(pid: int) -> float | None:
    """The Unix time process ``pid`` started (Linux), or None when it is gone or unknown."""
    ticks, booted = process_start_ticks(pid), boot_time()
    if ticks is None or booted is None:
        return None
    return booted + ticks / os.sysconf("SC_CLK_TCK")


def is_alive(pid: int, start_ticks: int | None = None) -> bool:
    """Whether process ``pid`` runs, and is the one that started at ``start_ticks`` if given."""
    if Path("/proc").is_dir():
        ticks = process_start_ticks(pid)
        return ticks is not None and (start_ticks is None or ticks == start_ticks)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _command_line() -> list[str]:
    """This process's command as typed: `python -m package …` rather than the module's path."""
    program, *arguments = sys.argv
    if Path(program).name == "__main__.py":
        return ["python", "-m", Path(program).parent.name, *arguments]
    return [Path(sys.executable).name, program, *arguments]


@dataclass(frozen=True)
class Owner:
    """Who holds (or held) the lock: enough to name the run and to tell if it still lives."""

    run_id: str
    started_at: str  # ISO 8601, UTC
    pid: int
    host: str
    start_ticks: int | None
    command: str

    @classmethod
    def current(cls, run_id: str) -> Owner:
        return cls(
            run_id=run_id,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            pid=os.getpid(),
            host=socket.gethostname(),
            start_ticks=process_start_ticks(os.getpid()),
            command=" ".join(_command_line()),
        )

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError, AttributeError):
            return None

    def describe(self) -> str:
        host = "" if self.host == socket.gethostname() else f" on {self.host}"
        try:
            started = f"{datetime.fromisoformat(self.started_at):%Y-%m-%d %H:%M:%S} UTC"
        except ValueError:
            started = self.started_at
        return f"run {self.run_id} (started {started}, PID {self.pid}{host}: {self.command})"


class WarehouseLock:
    """The lock of one warehouse file, held by at most one process at a time."""

    def __init__(self, warehouse: Path) -> None:
        self.path = lock_path(warehouse)
        self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def holder(self) -> Owner | None:
        """Who the lock file names (the holder, or a holder that died), if anyone."""
        try:
            return Owner.parse(self.path.read_text())
        except OSError:
            return None

    def acquire(
        self,
        owner: Owner,
        on_wait: Callable[[Owner | None], None] | None = None,
        timeout: float | None = None,
    ) -> Owner | None:
        """Takes the lock for ``owner``, waiting while another process holds it.

        ``on_wait`` is told who holds it, when the wait starts and each time the holder
        changes. Returns the holder the file still named, i.e. a run that died holding the lock
        (None when the last holder ended normally). Raises TimeoutError after ``timeout`` s.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Opened without truncating: the file may name a holder that is still at work.
        file = open(self.path, "a+")  # noqa: SIM115 (held until release)
        deadline = None if timeout is None else time.monotonic() + timeout
        told: object = ()
        try:
            while True:
                try:
                    fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = self.holder()
                    if on_wait is not None and holder != told:
                        on_wait(holder)
                        told = holder
                    if deadline is not None and time.monotonic() > deadline:
                        raise TimeoutError(f"{self.path} is held by {holder}") from None
                    time.sleep(POLL_SECONDS)
            file.seek(0)
            dead = Owner.parse(file.read())
        except BaseException:
            file.close()
            raise
        self._file = file
        self._name(owner)
        return dead

    def _name(self, owner: Owner) -> None:
        """Writes ``owner`` in the held file, for those who wait and the next holder."""
        try:
            self._file.seek(0)
            self._file.truncate()
            self._file.write(json.dumps(asdict(owner)))
            self._file.flush()
        except OSError:
            pass  # on a full disk the lock holds all the same, only nameless

    def release(self) -> None:
        """Empties the file (this holder ended normally) and lets the next run in."""
        if self._file is None:
            return
        try:
            self._file.truncate(0)
            self._file.flush()
        except OSError:
            pass  # a full disk cannot refuse shrinking a file, but never fail a release on it
        finally:
            self._file.close()  # closing the descriptor drops the flock
            self._file = None


# The locks this process holds, by lock file: a step of a run executing in the process that
# already holds its warehouse's lock (`python -m orchestration run`) must not wait for itself.
_HELD: dict[Path, WarehouseLock] = {}
# The lock files under whose hold this process runs a step in a process of its own.
_STEPS: set[Path] = set()


@contextlib.contextmanager
def holding(
    warehouse: Path,
    owner: Owner,
    on_wait: Callable[[Owner | None], None] | None = None,
) -> Iterator[Owner | None]:
    """Holds the warehouse's lock for the block; yields the run that died holding it, if any.

    Re-entrant within a run: when this process holds the lock already, or a live process of
    the same run does (a step in a process of its own, under Dagster's multiprocess executor),
    the block runs under that hold; in the latter case as a step that ends should the run die
    (:func:`_step_of`).
    """
    key = lock_path(warehouse).resolve()
    if key in _HELD or key in _STEPS:
        yield None
        return
    lock = WarehouseLock(warehouse)
    holder = lock.holder()
    if (
        holder is not None
        and (holder.run_id, holder.host) == (owner.run_id, owner.host)
        and is_alive(holder.pid, holder.start_ticks)
    ):
        with _step_of(warehouse):
            yield None
        return
    dead = lock.acquire(owner, on_wait)
    if dead is not None:
        _wait_for_dead_run(warehouse, dead, on_wait)
    _HELD[key] = lock
    try:
        yield dead
    finally:
        del _HELD[key]
        lock.release()


def _wait_for_dead_run(
    warehouse: Path, dead: Owner, on_wait: Callable[[Owner | None], None] | None
) -> None:
    """Waits for what the run that died holding the lock left running: its steps in processes
    of their own."""
    with open(steps_path(warehouse), "a") as steps:
        try:
            fcntl.flock(steps.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(dead)
            fcntl.flock(steps.fileno(), fcntl.LOCK_EX)  # until the last step has ended


@contextlib.contextmanager
def _step_of(warehouse: Path) -> Iterator[None]:
    """Runs the block as a step in a process of its own, started by its run's process: the
    steps file is held shared meanwhile, and should the run's process die (this process's
    parent: Dagster's multiprocess executor starts each step from it), a watcher ends this
    process, and the dbt it runs with it."""
    key = lock_path(warehouse).resolve()
    run = os.getppid()
    run_started = process_start_ticks(run)
    done = threading.Event()

    def watch() -> None:
        while not done.wait(POLL_SECONDS):
            if not is_alive(run, run_started):
                os._exit(1)  # as the run did: the next run recovers from both

    with open(steps_path(warehouse), "a") as steps:
        fcntl.flock(steps.fileno(), fcntl.LOCK_SH)
        _STEPS.add(key)
        watcher = threading.Thread(target=watch, name="run-watcher", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            done.set()
            watcher.join()
            _STEPS.remove(key)
