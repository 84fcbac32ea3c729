"""`huracan db status|upgrade`, `huracan export --date D` and `huracan report --date D` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from huracan_core.brain.db import head_revision
from huracan_core.cli import app, register_subapps
from tests.core.brain.conftest import DAY, Night

runner = CliRunner()


@pytest.fixture
def cli_env(night: Night, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI on the built night's engine home with a fresh SQLite brain of its own."""
    db = tmp_path / "cli_brain.sqlite"
    monkeypatch.setenv("HURACAN_HOME", str(night.root))
    monkeypatch.setenv("HURACAN_MARKET__TIMEFRAME", "1h")
    monkeypatch.setenv("HURACAN_DATABASE__URL", f"sqlite:///{db}")
    register_subapps()
    return db


def test_db_status_then_upgrade(cli_env: Path) -> None:
    res = runner.invoke(app, ["db", "status", "--json"])
    assert res.exit_code == 0, res.output
    status = json.loads(res.stdout)
    assert status["state"] == "behind" and status["current"] is None and status["head"] == head_revision()
    res = runner.invoke(app, ["db", "upgrade"])
    assert res.exit_code == 0 and f"at revision {head_revision()}" in res.stdout
    assert json.loads(runner.invoke(app, ["db", "status", "--json"]).stdout)["state"] == "current"


def test_db_ahead_of_the_code_is_refused(cli_env: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = create_engine(f"sqlite:///{cli_env}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_newer'"))
    engine.dispose()
    res = runner.invoke(app, ["db", "status"])
    assert res.exit_code == 1 and "ahead" in res.stdout
    res = runner.invoke(app, ["db", "upgrade"])
    assert res.exit_code == 1 and "9999_newer" in res.output and "Upgrade the engine" in res.output
    res = runner.invoke(app, ["export", "--date", DAY.isoformat()])
    assert res.exit_code == 1 and "newer than this engine's head" in res.output


def test_export_and_report_commands(cli_env: Path, night: Night) -> None:
    res = runner.invoke(app, ["export", "--date", DAY.isoformat()])
    assert res.exit_code == 0, res.output
    folder = night.home.exports_dir(DAY)
    assert f"trade_history_{DAY.isoformat()}.csv" in res.stdout and str(folder) in res.stdout
    assert (folder / "performance_summary.json").is_file()
    engine = create_engine(f"sqlite:///{cli_env}")
    with engine.connect() as conn:  # the re-recorded night keeps the portfolio simulator's trades
        n = conn.execute(text("SELECT count(*) FROM trade_memory WHERE source = 'portfolio'")).scalar_one()
    engine.dispose()
    assert n > 0
    res = runner.invoke(app, ["report", "--date", DAY.isoformat()])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip().splitlines()[-1].endswith("model_comparison.html")
    res = runner.invoke(app, ["report", "--date", "2026-01-02"])
    assert res.exit_code == 1 and "no night recorded" in res.output
