"""The kill switch in the Brain Library: migration 0002 adds kill_switch_events (up and down), every
`huracan kill-switch on|off` appends a row when the database is reachable, `status` shows the file and the
brain side by side, and a database that cannot take the row never blocks the switch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from typer.testing import CliRunner

from huracan_core.brain import models as m
from huracan_core.brain.db import downgrade, head_revision, make_engine, open_brain, schema_status, upgrade
from huracan_core.cli import app
from huracan_core.paths import EngineHome
from huracan_core.trading.killswitch import read_kill_switch

runner = CliRunner()


def _events(url: str) -> list[tuple[str, str, str]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(m.KillSwitchEvent).order_by(m.KillSwitchEvent.id)).all()
    engine.dispose()
    return [(r.state, r.reason, r.who) for r in rows]


def test_migration_0002_adds_and_removes_the_table(brain_url: str) -> None:
    engine = open_brain(brain_url)
    assert head_revision() == schema_status(engine).current
    assert "kill_switch_events" in inspect(engine).get_table_names()
    back = downgrade(engine, "0001_initial")
    names = set(inspect(engine).get_table_names())
    assert back.current == "0001_initial" and "kill_switch_events" not in names
    assert {t.__tablename__ for t in m.ALL_TABLES_ORM} <= names  # the night's tables are untouched
    assert upgrade(engine).current == head_revision()
    assert "kill_switch_events" in inspect(engine).get_table_names()
    engine.dispose()


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HURACAN_HOME", str(tmp_path))
    monkeypatch.delenv("HURACAN_DATABASE__URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no config/settings.yaml here: defaults + env
    return tmp_path


def test_cli_writes_every_change_to_the_brain_and_status_shows_both(
    cli_home: Path, brain_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HURACAN_DATABASE__URL", brain_url)
    open_brain(brain_url).dispose()  # the brain exists (a night was recorded)
    on = runner.invoke(app, ["kill-switch", "on", "--reason", "bad fills"])
    assert on.exit_code == 0, on.output
    assert "not recorded" not in on.output
    who = read_kill_switch(EngineHome(cli_home)).changed_by
    assert _events(brain_url) == [("on", "bad fills", who)]
    status = runner.invoke(app, ["kill-switch", "status"])
    assert status.exit_code == 0, status.output
    assert "kill switch ON" in status.output
    assert "brain: on since" in status.output and "bad fills" in status.output
    assert "agrees with the file" in status.output
    off = runner.invoke(app, ["kill-switch", "off"])
    assert off.exit_code == 0, off.output
    assert _events(brain_url) == [("on", "bad fills", who), ("off", "", who)]
    payload = json.loads(runner.invoke(app, ["kill-switch", "status", "--json"]).stdout)
    assert payload["on"] is False
    assert payload["brain"]["latest"]["state"] == "off" and payload["brain"]["events"] == 2


def test_status_says_when_the_brain_differs_from_the_file(
    cli_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{cli_home / 'brain.sqlite'}"
    open_brain(url).dispose()
    assert runner.invoke(app, ["kill-switch", "on", "--reason", "outage"]).exit_code == 0
    engine = make_engine(url)
    with engine.begin() as conn:  # someone turned it off in the brain only
        conn.execute(text("UPDATE kill_switch_events SET state = 'off'"))
    engine.dispose()
    status = runner.invoke(app, ["kill-switch", "status"])
    assert "kill switch ON" in status.output and "DIFFERS from the file" in status.output


@pytest.mark.parametrize("broken", ["postgres_down", "schema_ahead", "no_brain_yet"])
def test_a_database_failure_never_blocks_the_switch(
    cli_home: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    sqlite = cli_home / "brain.sqlite"
    if broken == "postgres_down":  # nothing listens on port 1: refused at once
        monkeypatch.setenv("HURACAN_DATABASE__URL", "postgresql://huracan:secret@127.0.0.1:1/brain")
    elif broken == "schema_ahead":
        engine = open_brain(f"sqlite:///{sqlite}")
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
        engine.dispose()
    on = runner.invoke(app, ["kill-switch", "on", "--reason", "halt"])
    assert on.exit_code == 0, on.output
    assert read_kill_switch(EngineHome(cli_home)).on  # the file, which the roster reads, is switched
    assert "not recorded in the brain" in on.output and "secret" not in on.output
    status = runner.invoke(app, ["kill-switch", "status"])
    assert status.exit_code == 0 and "kill switch ON" in status.output
    assert "brain: not reachable" in status.output
    if broken == "no_brain_yet":
        assert "no Brain Library yet" in on.output and not sqlite.exists()  # never created by the switch
    off = runner.invoke(app, ["kill-switch", "off"])
    assert off.exit_code == 0 and not read_kill_switch(EngineHome(cli_home)).on
