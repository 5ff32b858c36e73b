"""Dagster's SQLite event log, keeping its database connections open between events.

Dagster's ``SqliteEventLogStorage`` creates a SQLAlchemy engine, connects and disposes of it for
every read and write: about five times per event. A daily run stores some 2,000 events (every
dbt model and test is an asset materialisation or check, planned first, evaluated later), and
the engines alone cost about 10 seconds of a 50-second run. This storage writes the same files
in the same place (``$DAGSTER_HOME/history/runs``), so the UI, the daemon and the default
storage read them as before; it only keeps an engine, with its pool of connections, for the
database files it used last, remembers the tables it found (Dagster looks for one, with an engine
of its own, before each asset check's event), and commits without waiting for the disk
(:func:`_commit_without_fsync`).

``orchestration/dagster.yaml`` selects it with ``event_log_storage``; Dagster's other storages
(runs, schedules) stay their SQLite defaults under ``$DAGSTER_HOME``.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from dagster._config import StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy.engine import Connection, Engine

# A run writes its own database file and the index; a webserver or daemon reads a few runs at
# once. Engines beyond these are disposed of, least recently used first, so a long-lived
# process does not keep a file open for every run it ever read.
KEPT_ENGINES = 8


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` with one engine per database file, kept for its next use."""

    def __init__(self, dagster_home: str, inst_data=None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        self._tables: set[str] = set()
        super().__init__(os.path.join(dagster_home, "history", "runs"), inst_data)

    @classmethod
    def config_type(cls):
        return {"dagster_home": StringSource}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock, self._engine(shard).connect() as connection, connection.begin():
            yield connection

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():
            # A forked child must not share its parent's connections: it opens its own.
            self._engines, self._engines_pid = OrderedDict(), os.getpid()
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = sa.create_engine(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            sa.event.listen(engine, "connect", _commit_without_fsync)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        while len(self._engines) > KEPT_ENGINES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def has_table(self, table_name: str) -> bool:
        """Dagster asks before storing each asset check's event whether the index has the
        table, opening an engine of its own to find out: a table found stays."""
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)
        return table_name in self._tables

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()
        super().wipe()
        self._tables.clear()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


def _commit_without_fsync(connection, _record) -> None:
    """The database files are in WAL mode (Dagster sets it): with ``synchronous=NORMAL`` a commit
    appends to the log without waiting for the disk, which SQLite syncs at each checkpoint. A
    process killed at any point loses nothing; a power cut may lose the last events, never the
    file."""
    connection.execute("PRAGMA synchronous=NORMAL")
