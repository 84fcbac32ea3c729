"""The kill switch: persisted across processes in the engine home, driven by `huracan kill-switch`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huracan_core.cli import app
from huracan_core.paths import EngineHome
from huracan_core.trading.killswitch import MANUAL, kill_switch_path, read_kill_switch, set_kill_switch

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HURACAN_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no config/settings.yaml here: defaults + env
    return tmp_path


def test_state_is_persisted_with_reason_and_history(tmp_path: Path) -> None:
    home = EngineHome(tmp_path)
    assert not read_kill_switch(home).on
    set_kill_switch(home, True, "exchange outage", by="ops")
    state = read_kill_switch(EngineHome(tmp_path))  # a fresh reader, as another process would be
    assert state.on and state.reason == "exchange outage" and state.changed_by == "ops"
    set_kill_switch(home, False, by="ops")
    state = read_kill_switch(home)
    assert not state.on and [h["on"] for h in state.history] == [True, False]


def test_turning_on_needs_no_reason_and_a_corrupt_file_is_not_off(tmp_path: Path) -> None:
    """An emergency stop never refuses: without a reason it is a manual stop, with who (user@host) and when."""
    import socket

    home = EngineHome(tmp_path)
    state = set_kill_switch(home, True, "  ")
    assert state.on and state.reason == MANUAL and state.changed_at
    assert state.changed_by.endswith("@" + socket.gethostname())
    assert read_kill_switch(home).on
    kill_switch_path(home).write_text("{not json")
    with pytest.raises(ValueError, match="kill_switch.json"):
        read_kill_switch(home)


def test_cli_on_status_off(home: Path) -> None:
    on = runner.invoke(app, ["kill-switch", "on", "--reason", "bad fills"])
    assert on.exit_code == 0, on.output
    assert "kill switch ON" in on.output and "bad fills" in on.output
    status = runner.invoke(app, ["kill-switch", "status", "--json"])
    assert status.exit_code == 0 and json.loads(status.output)["on"] is True
    assert json.loads(kill_switch_path(EngineHome(home)).read_text())["reason"] == "bad fills"
    off = runner.invoke(app, ["kill-switch", "off"])
    assert off.exit_code == 0 and "kill switch off" in off.output
    assert not read_kill_switch(EngineHome(home)).on


def test_cli_refuses_bad_input_but_engages_with_no_reason(home: Path) -> None:
    assert runner.invoke(app, ["kill-switch", "maybe"]).exit_code == 2
    no_reason = runner.invoke(app, ["kill-switch", "on"])
    assert no_reason.exit_code == 0, no_reason.output
    state = read_kill_switch(EngineHome(home))
    assert state.on and state.reason == MANUAL and "@" in (state.changed_by or "")
    assert "kill switch ON" in no_reason.output and MANUAL in no_reason.output


def test_roster_marks_every_coin_not_tradeable_while_on(tmp_path: Path) -> None:
    """A coin that is trade_ok with the switch off is not, with the switch's reason, while it is on."""
    from huracan_core.config import Settings
    from huracan_core.roster import build_roster
    from tests.core.test_roster import DAY, PASS, _model, _ok, _promote

    home, settings = EngineHome(tmp_path), Settings()
    res = _model(home, "GOOD-USDT", "20260420_020000Z", 2.0, PASS)
    _promote(home, res, settings)
    assert build_roster(home, DAY, ["GOOD-USDT"], {"GOOD-USDT": _ok(res)}, settings)["n_trade_ok"] == 1
    set_kill_switch(home, True, "exchange outage", by="ops")
    roster = build_roster(home, DAY, ["GOOD-USDT"], {"GOOD-USDT": _ok(res)}, settings)
    (coin,) = roster["coins"]
    assert not coin["trade_ok"] and roster["n_trade_ok"] == 0
    assert "kill switch on" in coin["reason"] and "exchange outage" in coin["reason"]
    set_kill_switch(home, False, by="ops")
    assert build_roster(home, DAY, ["GOOD-USDT"], {"GOOD-USDT": _ok(res)}, settings)["n_trade_ok"] == 1
