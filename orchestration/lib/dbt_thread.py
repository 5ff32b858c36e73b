"""dbt run on a thread of the calling process, seen as the dbt process dagster-dbt would start.

A dbt process costs each build about 3.5 s before its first node (2.3 s of imports, loading its
parse, writing its manifest twice); in the run's process, which has dbt loaded already, a build
starts in about half a second. dagster-dbt reads a dbt process's ``args``, ``stdout``
(one JSON line per event, as `dbt --log-format json` prints them), ``wait``, ``returncode`` and
``send_signal``: :class:`DbtThread` offers the same.
"""

import ctypes
import queue
import threading
from collections.abc import Iterator, Sequence

import orjson
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.cli.main import dbtRunner
from dbt.events.types import MainEncounteredError
from dbt_common.events.base_types import EventMsg, msg_from_base_event
from dbt_common.events.functions import msg_to_dict

# The exit codes of the dbt command line: 1 when nodes failed, 2 when dbt could not run.
FAILED, ERROR = 1, 2


class EventLines:
    """The JSON lines of a dbt run's events, each readable as soon as dbt fires it."""

    closed = False

    def __init__(self) -> None:
        self._lines: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def put(self, line: bytes | None) -> None:
        """Adds ``line``; None ends the lines."""
        self._lines.put(line)

    def __iter__(self) -> Iterator[bytes]:
        while (line := self._lines.get()) is not None:
            yield line

    def __enter__(self) -> "EventLines":
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


# dbt's console prints nothing: its events reach the run's log through ``stdout``. The run's
# log is a file: its lines and dbt.log's carry no terminal colours. dbt posts no usage events.
OPTIONS = [
    *("--log-level", "none"),
    *("--no-use-colors", "--no-use-colors-file"),
    "--no-send-anonymous-usage-stats",
]


class DbtThread:
    """`dbt <args>` started on a thread of its own. Its events of info level and above reach
    ``stdout``: those its console would print at dbt's default level."""

    def __init__(self, args: Sequence[str]) -> None:
        self.args = ["dbt", *args]
        self.returncode: int | None = None
        self.stdout = EventLines()
        self._told_error = False
        self._thread = threading.Thread(target=self._run, name="dbt", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            result = dbtRunner(callbacks=[self._event]).invoke([*self.args[1:], *OPTIONS])
            self.returncode = 0 if result.success else ERROR if result.exception else FAILED
            if result.exception is not None and not self._told_error:
                # dbt stopped before its logging started (bad arguments, no project): the
                # error it would have printed.
                self._event(msg_from_base_event(MainEncounteredError(exc=str(result.exception))))
        finally:
            # dbt-duckdb keeps the warehouse open for the process's next dbt command: closed,
            # so that others may open it, read-only or from other processes, once dbt ends.
            DuckDBConnectionManager.close_all_connections()
            self.stdout.put(None)

    def _event(self, message: EventMsg) -> None:
        if message.info.level != "debug":
            self._told_error |= message.info.level == "error"
            self.stdout.put(orjson.dumps(msg_to_dict(message)))

    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code once dbt has ended, or None if it still runs after ``timeout`` s."""
        self._thread.join(timeout)
        return self.returncode

    def send_signal(self, signal: int) -> None:
        """Interrupts dbt as Ctrl-C interrupts its command line, whatever ``signal``:
        KeyboardInterrupt raised on its thread, where dbt starts no other node and ends once
        the one it runs has ended (dbt-duckdb cannot cancel a running query)."""
        if self._thread.is_alive():
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._thread.ident), ctypes.py_object(KeyboardInterrupt)
            )
