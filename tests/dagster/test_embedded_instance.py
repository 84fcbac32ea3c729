"""The embedded instance's storage and compute logs: what Dagster itself would keep, at less cost per run."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from dagster import AssetKey, DagsterInstance, asset, materialize

from huracan_dagster.embedded_instance import (
    EmbeddedSqliteStorage,
    FileComputeLogManager,
    RunShardEventLogStorage,
)
from huracan_dagster.runner import LOCAL_INSTANCE_YAML


@asset
def probe() -> int:
    return 1


def _instance(home: Path, yaml: str, monkeypatch: pytest.MonkeyPatch) -> DagsterInstance:
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return DagsterInstance.from_config(str(home))


def _shard(instance: DagsterInstance, run_id: str, home: Path) -> dict[str, object]:
    """What a run's event-log file holds: its schema, journal mode, stamped revision, and event count."""
    path = home / "history" / "runs" / f"{run_id}.db"
    with sqlite3.connect(path) as conn:
        return {
            "schema": sorted(
                r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")
            ),
            "journal": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "revision": conn.execute("SELECT version_num FROM alembic_version").fetchall(),
            "events": conn.execute("SELECT count(*) FROM event_logs").fetchone()[0],
        }


def test_run_files_match_dagsters_own_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ours = _instance(tmp_path / "ours", LOCAL_INSTANCE_YAML, monkeypatch)
    assert isinstance(
        ours.get_ref().storage, EmbeddedSqliteStorage
    )  # the yaml `huracan run` writes selects it
    assert isinstance(ours.event_log_storage, RunShardEventLogStorage)
    ours_run = materialize([probe], instance=ours).run_id
    ours_shard = _shard(ours, ours_run, tmp_path / "ours")
    theirs = _instance(tmp_path / "theirs", "telemetry:\n  enabled: false\n", monkeypatch)
    theirs_run = materialize([probe], instance=theirs).run_id
    theirs_shard = _shard(theirs, theirs_run, tmp_path / "theirs")
    assert ours_shard == theirs_shard
    assert ours_shard["journal"] == "wal" and ours_shard["revision"]
    # Dagster reads the run back through its own storage, and its own revision check finds the file current
    materialization = ours.get_latest_materialization_event(AssetKey("probe"))
    assert materialization is not None and materialization.run_id == ours_run
    assert len(ours.all_logs(ours_run)) == ours_shard["events"]
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "ours"))
    plain = DagsterInstance.from_config(str(tmp_path / "theirs"))
    assert plain.event_log_storage.alembic_version() == ours.event_log_storage.alembic_version()


def test_revision_map_is_read_once_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dagster's own storage reads Alembic's revision map (every migration script) twice per run file."""
    loads = []
    original = ScriptDirectory.from_config

    def counted(config):  # type: ignore[no-untyped-def]
        loads.append(config)
        return original(config)

    instance = _instance(tmp_path / "home", LOCAL_INSTANCE_YAML, monkeypatch)
    materialize([probe], instance=instance)  # the process's first run may load it
    monkeypatch.setattr(ScriptDirectory, "from_config", staticmethod(counted))
    runs = [materialize([probe], instance=instance).run_id for _ in range(3)]
    assert len(set(runs)) == 3
    assert loads == []


def test_an_unstamped_run_file_is_left_to_dagster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file with tables but no revision (written by an older Dagster) takes Dagster's own path, which
    stamps it; nothing in it is lost."""
    instance = _instance(tmp_path / "home", LOCAL_INSTANCE_YAML, monkeypatch)
    run_id = materialize([probe], instance=instance).run_id
    path = tmp_path / "home" / "history" / "runs" / f"{run_id}.db"
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM alembic_version")
        events = conn.execute("SELECT count(*) FROM event_logs").fetchone()[0]
    fresh = DagsterInstance.from_config(str(tmp_path / "home"))  # a new process's storage
    assert len(fresh.all_logs(run_id)) == events
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall()


@asset
def talker() -> int:
    print("stdout line from the step", flush=True)
    print("stderr line from the step", file=sys.stderr, flush=True)
    return 1


def test_step_output_is_captured_for_the_ui_without_tail_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The UI reads a step's stdout/stderr from the compute logs as before; Dagster's local manager
    mirrored each stream back through `tail -F` and a watcher process, four processes per step."""
    instance = _instance(tmp_path / "home", LOCAL_INSTANCE_YAML, monkeypatch)
    assert isinstance(instance.compute_log_manager, FileComputeLogManager)
    started: list[list[str]] = []
    original = subprocess.Popen.__init__

    def recording(self, args, *a, **kw):  # type: ignore[no-untyped-def]
        started.append(list(args) if isinstance(args, (list, tuple)) else [args])
        original(self, args, *a, **kw)

    monkeypatch.setattr(subprocess.Popen, "__init__", recording)
    result = materialize([talker], instance=instance)
    assert started == []
    (captured,) = [e for e in result.all_events if e.event_type_value == "LOGS_CAPTURED"]
    manager = instance.compute_log_manager
    log_key = manager.build_log_key_for_run(result.run_id, captured.logs_captured_data.file_key)
    data = manager.get_log_data(log_key)  # what the UI's log viewer reads
    assert data.stdout is not None and b"stdout line from the step" in data.stdout
    assert data.stderr is not None and b"stderr line from the step" in data.stderr
    assert manager.is_capture_complete(log_key)


def test_one_engine_per_file_and_dagsters_log_watchers_still_see_every_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dagster's storage built a SQLAlchemy engine per stored event (a run stores 12-30, each mirrored to
    the index); ours keeps one per file. Connections still close after each use, so the WAL is
    checkpointed into the run's file and a watcher in another process (the UI streaming a live run's
    logs follows that file) sees each new event."""
    import threading

    import sqlalchemy

    from huracan_dagster import embedded_instance

    instance = _instance(tmp_path / "home", LOCAL_INSTANCE_YAML, monkeypatch)
    materialize([probe], instance=instance)
    created: list[str] = []
    original = sqlalchemy.create_engine

    def counting(url, *a, **kw):  # type: ignore[no-untyped-def]
        created.append(str(url))
        return original(url, *a, **kw)

    monkeypatch.setattr(embedded_instance.db, "create_engine", counting)
    runs = [materialize([probe], instance=instance) for _ in range(3)]
    assert len(created) == 3  # one engine per new run file; the index file's is reused
    assert all(len(instance.all_logs(r.run_id)) >= 10 for r in runs)

    # a second instance (another process: the webserver) watches the last run's file
    watcher = DagsterInstance.from_config(str(tmp_path / "home"))
    seen = threading.Event()
    run = instance.get_run_by_id(runs[-1].run_id)
    assert run is not None
    cursor = str(watcher.event_log_storage.get_records_for_run(run.run_id).cursor)

    def callback(entry, _cursor):  # type: ignore[no-untyped-def]
        if entry.message == "late event":
            seen.set()

    watcher.event_log_storage.watch(run.run_id, cursor, callback)
    try:
        instance.report_engine_event("late event", run)
        assert seen.wait(15), "the watcher never saw the new event"
    finally:
        watcher.event_log_storage.end_watch(run.run_id, callback)
        watcher.dispose()
