"""`huracan health`: each component named with its status and latency, the monitoring files written,
exit 1 when anything is unhealthy, and no secret in the output."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huracan_dagster.cli import app

runner = CliRunner()


def _health(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["health", *args])


def test_database_down_is_named_and_exits_non_zero(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "HURACAN_DATABASE__URL", "postgresql+psycopg://huracan:pw-s3cret-xyz@127.0.0.1:1/brain"
    )
    result = _health("--json")
    assert result.exit_code == 1, result.output
    out = json.loads(result.output)
    assert out["unhealthy"] == ["database"] and out["healthy"] is False
    database = next(c for c in out["checks"] if c["name"] == "database")
    assert "Brain Library unreachable" in database["detail"] and database["latency_ms"] is not None
    assert "pw-s3cret-xyz" not in result.output
    status = json.loads((home / "monitoring" / "system_status.json").read_text())
    assert status["status"] == "unhealthy" and status["components"]["database"] == "unhealthy"
    day = datetime.now(UTC).strftime("%Y%m%d")
    assert json.loads((home / "monitoring" / f"health_check_{day}.json").read_text())["unhealthy"] == [
        "database"
    ]
    assert "pw-s3cret-xyz" not in (home / "monitoring" / f"health_check_{day}.json").read_text()


def test_healthy_with_sqlite_and_a_remote_folder(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HURACAN_STORAGE__REMOTE_DIR", str(tmp_path / "remote"))
    result = _health("--json")
    assert result.exit_code == 0, result.output
    checks = {c["name"]: c for c in json.loads(result.output)["checks"]}
    assert checks["database"]["status"] == "healthy"
    assert checks["storage"]["status"] == "healthy" and set(checks["storage"]["metrics"]) == {
        "write_ms",
        "read_ms",
        "delete_ms",
    }
    assert list((tmp_path / "remote").rglob("probe-*")) == []  # the probe cleaned up after itself
    assert checks["exchange"]["status"] == "not_applicable" and "synthetic" in checks["exchange"]["detail"]
    assert checks["disk"]["metrics"]["free_bytes"] > 0
    perf = json.loads((home / "monitoring" / "performance_metrics.json").read_text())
    assert "database" in perf["latency_ms"] and "storage" in perf["latency_ms"]


def test_unwritable_remote_is_unhealthy(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the remote folder should be")
    monkeypatch.setenv("HURACAN_STORAGE__REMOTE_DIR", str(blocker))
    result = _health()
    assert result.exit_code == 1
    assert "storage" in result.output and "unhealthy" in result.output


def test_exchange_latency_against_the_loopback_exchange(
    shared_data: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.binance_server import BinanceServer

    with BinanceServer(shared_data) as server:
        monkeypatch.setenv("HURACAN_MARKET__SOURCE", "ccxt")
        monkeypatch.setenv("HURACAN_MARKET__API_URL", server.url)
        result = _health("--json")
        assert result.exit_code == 0, result.output
        exchange = next(c for c in json.loads(result.output)["checks"] if c["name"] == "exchange")
        assert exchange["status"] == "healthy" and exchange["latency_ms"] > 0
        assert server.counts["time"] == 1
        server.stop()
        down = _health("--json")
        assert down.exit_code == 1 and json.loads(down.output)["unhealthy"] == ["exchange"]


# ------------------------------------------------------------------ the brain's integrity
def _brain(home: Path) -> Path:
    """A Brain Library at the schema head with some pages of rows (kill-switch events)."""
    from datetime import datetime

    from huracan_core.brain.db import open_brain
    from huracan_core.brain.models import KillSwitchEvent

    path = home / "brain.sqlite"
    engine = open_brain(f"sqlite:///{path}")
    rows = [{"at": datetime(2026, 1, 1), "state": "on", "reason": "r" * 200, "who": "t"} for _ in range(3000)]
    with engine.begin() as conn:
        conn.execute(KillSwitchEvent.__table__.insert(), rows)
    engine.dispose()
    return path


def _database(result) -> dict:  # type: ignore[no-untyped-def]
    return next(c for c in json.loads(result.output)["checks"] if c["name"] == "database")


def test_a_whole_brain_is_healthy_with_its_revision(home: Path) -> None:
    from huracan_core.brain.db import head_revision

    _brain(home)
    result = _health("--json")
    assert result.exit_code == 0, result.output
    database = _database(result)
    assert database["status"] == "healthy" and "quick_check ok" in database["detail"]
    assert database["metrics"]["revision"] == head_revision()


def test_a_truncated_brain_is_unhealthy_and_named(home: Path) -> None:
    path = _brain(home)
    size = path.stat().st_size
    with open(path, "r+b") as fh:  # the disk filled, or a copy stopped halfway
        fh.truncate(size // 2)
    result = _health("--json")
    assert result.exit_code == 1, result.output
    out = json.loads(result.output)
    assert out["unhealthy"] == ["database"]
    database = _database(result)
    assert str(path) in database["detail"] and "corrupt" in database["detail"], database


def test_garbage_in_the_brain_file_is_unhealthy(home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "brain.sqlite").write_bytes(b"not a database at all" * 500)
    result = _health("--json")
    assert result.exit_code == 1 and "corrupt" in _database(result)["detail"], result.output


def test_a_missing_table_or_an_unknown_revision_is_named(home: Path) -> None:
    import sqlite3

    path = _brain(home)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE trade_memory")
    result = _health("--json")
    assert result.exit_code == 1
    assert (
        "lacks table(s) trade_memory" in _database(result)["detail"]
        and str(path) in _database(result)["detail"]
    )
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffff_from_the_future'")
    result = _health("--json")
    assert result.exit_code == 1 and "ffff_from_the_future" in _database(result)["detail"]


def test_postgres_brain_revision_and_tables(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import text

    from huracan_core.brain.db import head_revision, open_brain
    from tests.support.postgres import PG, fresh_database

    with fresh_database("huracan_health") as db:
        url = f"postgresql+psycopg://{PG['user']}:pw-s3cret-xyz@{PG['host']}:{PG['port']}/{db}"
        monkeypatch.setenv("HURACAN_DATABASE__URL", url)
        empty = _health("--json")
        assert empty.exit_code == 0 and "no schema yet" in _database(empty)["detail"], empty.output
        engine = open_brain(url)
        healthy = _health("--json")
        assert healthy.exit_code == 0, healthy.output
        assert _database(healthy)["metrics"]["revision"] == head_revision()
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE pattern_library"))
        engine.dispose()
        broken = _health("--json")
        assert broken.exit_code == 1 and "lacks table(s) pattern_library" in _database(broken)["detail"]
        assert db in _database(broken)["detail"] and "pw-s3cret-xyz" not in broken.output
