"""An emergency stop with the Brain Library down: engaged at once, and the command returns within seconds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from huracan_core.cli import app
from huracan_core.paths import EngineHome
from huracan_core.trading.killswitch import MANUAL, read_kill_switch

DEAD_PG = "postgresql+psycopg://huracan:pw-s3cret@127.0.0.1:1/brain"  # nothing listens on port 1


def test_kill_switch_on_does_not_wait_out_a_brain_outage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HURACAN_HOME", str(tmp_path))
    monkeypatch.setenv("HURACAN_DATABASE__URL", DEAD_PG)
    monkeypatch.chdir(tmp_path)
    start = time.monotonic()
    result = CliRunner().invoke(app, ["kill-switch", "on"])
    took = time.monotonic() - start
    assert result.exit_code == 0, result.output
    state = read_kill_switch(EngineHome(tmp_path))
    assert state.on and state.reason == MANUAL
    assert "not recorded in the brain" in result.output and "pw-s3cret" not in result.output
    assert took < 15, f"kill-switch on took {took:.1f} s with the brain down (the night's bound is 90 s)"
