"""The embedded profile's Dagster instance parts: Dagster's own SQLite storage and local compute logs,
each with one per-run cost taken out (a 210-coin night makes ~630 runs).

Storage.
Dagster's SQLite event log keeps one database file per run. Opening a new run's file, Dagster checks
and stamps its schema revision through Alembic, which builds its revision map by executing every
migration script of Dagster's event log: about 0.1 s of CPU per run, a third of what a per-coin run
costs, 630 times on a 210-coin night. Here the revision map is read once per process; a new run file
gets exactly what Dagster gives it (the same tables, WAL journal, the head revision stamped), and any
file that is not brand new or not at that head goes through Dagster's own code unchanged. Dagster also
builds a SQLAlchemy engine for every event it stores; here one is kept per file (connections are still
opened and closed per use).

Compute logs. Dagster's local compute log manager captures a step's stdout and stderr into files
and, for each, starts `tail -F` plus a Python watcher process to mirror the file back to the
terminal: four processes per step, ~0.08 s of CPU. Here the output goes to the same files (the UI
shows them as before) without the mirror: the coin workers of `huracan run` have no terminal worth
mirroring to (the night's progress bar owns it).

Both are configured by the `dagster.yaml` that `huracan run` writes into an engine home; the
production profile (PostgreSQL, the repo's `dagster.yaml`) uses neither.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
import sqlalchemy.exc as db_exc
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from dagster import Field, StringSource
from dagster._core.execution.compute_logs import redirect_to_file
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.local_compute_log_manager import IO_TYPE_EXTENSION, LocalComputeLogManager
from dagster._core.storage.sql import get_alembic_config
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._utils import ensure_file, touch_file
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool


@functools.cache
def _script() -> ScriptDirectory:
    """Dagster's event-log migrations, loaded once per process (Alembic caches the revision map on it)."""
    return ScriptDirectory.from_config(get_alembic_config(sqlite_event_log.__file__))


@functools.cache
def _head() -> str | None:
    return _script().as_revision_number("head")


class _NotFresh(Exception):
    """The run file has tables but not the head revision: Dagster's own initialisation decides."""


class RunShardEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` whose per-run files are created and checked against a revision map read
    once per process instead of once per file, and whose SQLAlchemy engines are kept per file.

    Dagster builds a new engine for every event it stores (a run writes 12-30 events, each also
    mirrored to the index file): each new engine re-runs SQLite dialect initialisation on its first
    connection and starts with an empty compiled-statement cache. The engines kept here still use
    `NullPool`, so a connection is opened and closed per use exactly as before (no file handle held
    between events, and each close still checkpoints the WAL into the file that Dagster's log
    watchers follow)."""

    _ENGINES_KEPT = 16  # the index file and the most recent run files of this process

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                poolclass=NullPool,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
        self._engines[shard] = engine
        while len(self._engines) > self._ENGINES_KEPT:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            # as Dagster: initialise a file once per process, and again after wipe()
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        while self._engines:
            self._engines.popitem()[1].dispose()
        super().dispose()

    def _initdb(self, engine: Engine, for_index_shard: bool = False) -> None:
        if not for_index_shard:
            try:
                with engine.connect() as connection:
                    if MigrationContext.configure(connection).get_current_revision() == _head():
                        return  # stamped at Dagster's head: nothing to do
                    if db.inspect(connection).get_table_names():
                        raise _NotFresh
                    sqlite_event_log.SqlEventLogStorageMetadata.create_all(engine)
                    connection.execute(db.text("PRAGMA journal_mode=WAL;"))
                    MigrationContext.configure(connection).stamp(_script(), "head")
                    connection.commit()
                    return
            except (_NotFresh, db_exc.DatabaseError, sqlite3.DatabaseError):
                pass  # an older file, or another process creating it at the same moment: Dagster retries
        super()._initdb(engine, for_index_shard=for_index_shard)


class EmbeddedSqliteStorage(DagsterSqliteStorage):
    """`DagsterSqliteStorage` (runs, schedules, event logs under one folder) with the event log above."""

    def __init__(self, base_dir: str, inst_data: Any = None) -> None:
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = RunShardEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> EmbeddedSqliteStorage:  # type: ignore[override]
        return cls.from_local(inst_data=inst_data, **config_value)


class FileComputeLogManager(LocalComputeLogManager):
    """`LocalComputeLogManager` that captures a step's output to its files without mirroring it back."""

    @classmethod
    def config_type(cls) -> dict[str, Field]:  # type: ignore[override]
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> FileComputeLogManager:  # type: ignore[override]
        # Dagster's default place for compute logs: `storage/` under the instance's home
        base_dir = config_value.get("base_dir")
        if not base_dir:
            if not os.environ.get("DAGSTER_HOME"):
                raise ValueError(
                    "FileComputeLogManager: set DAGSTER_HOME to the instance folder, or give compute_logs a base_dir"
                )
            base_dir = os.path.join(os.environ["DAGSTER_HOME"], "storage")
        return cls(base_dir=base_dir, inst_data=inst_data)

    @contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Iterator[CapturedLogContext]:
        out = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT])
        err = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR])
        ensure_file(out)
        ensure_file(err)
        with redirect_to_file(sys.stdout, out), redirect_to_file(sys.stderr, err):
            yield CapturedLogContext(log_key)
        touch_file(self.complete_artifact_path(log_key))  # as Dagster does: the capture is complete
