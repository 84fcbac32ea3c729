"""`huracan decide` and `huracan kill-switch on` as a bot and an operator run them: real processes, the
recorded world of tests/core/trading/decide_world.py (real daily bars, a champion trained on them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.core.trading.decide_world import COIN, World, build_world

HURACAN = Path(sys.executable).with_name("huracan")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> World:
    return build_world(tmp_path_factory.mktemp("decide_cli"), shared_data)


def huracan(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HURACAN_")}
    env["HURACAN_CONFIG"] = str(world.config_file)
    return subprocess.run(
        [str(HURACAN), *args], cwd=world.root, env=env, capture_output=True, text=True, timeout=120
    )


def one_line(stderr: str) -> str:
    lines = [
        line
        for line in stderr.splitlines()
        if line.strip() and "[info" not in line and "[warning" not in line
    ]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_decide_json_is_stored_in_the_brain(world: World) -> None:
    at = world.closes()[10]
    proc = huracan(world, "decide", "--symbol", COIN, "--at", at.isoformat(), "--json", "--equity", "10000")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["symbol"] == COIN and d["bar_time"] == (at - timedelta(days=1)).isoformat()
    assert d["direction"] in ("long", "flat") and d["equity"] == 10000.0
    assert d["model_id"].startswith(COIN) and d["stored"]["stored"] is True
    from sqlalchemy import create_engine, text

    engine = create_engine(world.settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, symbol, action FROM decisions")).all()
    engine.dispose()
    assert (d["stored"]["id"], COIN, d["action"]) in [tuple(r) for r in rows]
    human = huracan(world, "decide", "--symbol", COIN, "--at", at.isoformat(), "--no-record")
    assert human.returncode == 0 and human.stdout.startswith(f"{COIN} bar "), human.stdout + human.stderr


def test_a_missing_or_corrupt_champion_is_one_line_exit_1_or_2(world: World) -> None:
    missing = huracan(world, "decide", "--symbol", "BTC-USDT")
    assert missing.returncode == 1
    assert "champions/BTC-USDT.json" in one_line(missing.stderr)
    bad_at = huracan(world, "decide", "--symbol", COIN, "--at", "yesterday")
    assert bad_at.returncode == 2 and "--at 'yesterday'" in one_line(bad_at.stderr)
    model_bin = next(p for p in (world.settings.home / "models" / COIN).iterdir() if p.is_dir()) / "model.bin"
    original = model_bin.read_bytes()
    try:
        model_bin.write_bytes(original + b"\0")
        corrupt = huracan(world, "decide", "--symbol", COIN, "--at", world.closes()[0].isoformat())
        assert corrupt.returncode == 2
        line = one_line(corrupt.stderr)
        assert str(model_bin) in line and "sha256" in line
    finally:
        model_bin.write_bytes(original)


def test_kill_switch_on_with_no_argument_and_decide_honours_it(world: World) -> None:
    on = huracan(world, "kill-switch", "on")
    assert on.returncode == 0, on.stderr
    assert "kill switch ON" in on.stdout and "manual" in on.stdout and "@" in on.stdout
    try:
        proc = huracan(world, "decide", "--symbol", COIN, "--at", world.closes()[5].isoformat(), "--json")
        assert proc.returncode == 0, proc.stderr
        d = json.loads(proc.stdout)
        assert d["direction"] == "flat" and d["size"]["notional"] == 0.0 and d["kill_switch"]["on"]
        assert any(r.startswith("kill switch on since") and "manual" in r for r in d["reasons"])
        status = json.loads(huracan(world, "kill-switch", "status", "--json").stdout)
        assert status["on"] and status["brain"]["latest"]["state"] == "on"
    finally:
        assert huracan(world, "kill-switch", "off").returncode == 0
