"""Champion promotion rules and the daily roster."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from huracan_core.atomic import read_json, write_json, write_manifest
from huracan_core.config import Settings
from huracan_core.gates import GateCheck, GateReport
from huracan_core.paths import EngineHome
from huracan_core.roster import build_roster, update_champion
from huracan_core.training.trainer import TrainResult

DAY = date(2026, 4, 20)
PASS = GateReport(True, [GateCheck("sharpe", 2.0, 0.5, ">", True)])
FAIL = GateReport(False, [GateCheck("sharpe", 0.1, 0.5, ">", False)])


def _model(home: EngineHome, symbol: str, version: str, sharpe: float, gates: GateReport, adv: float = 1e8,
           round_trip: float = 10.0, last7: float = 5.0) -> TrainResult:
    """A complete model folder (metrics, costs, sha256.txt) and the TrainResult that points at it."""
    d = home.model_root(symbol) / version
    metrics = {"sharpe": sharpe, "last_7d_net_bps": last7, "trades": 200}
    write_json(d / "metrics.json", {**metrics, "gates": gates.to_json()})
    write_json(d / "costs.json", {"inputs": {"adv_usd": adv}, "spread_bps": 2.0, "fee_bps": 4.0,
                                  "avg_slip_bps": (round_trip - 10.0) / 2, "round_trip_bps": round_trip})
    write_manifest(d, ["metrics.json", "costs.json"])
    return TrainResult(symbol, f"{symbol}_{version}", d, metrics, gates, 1000, 200, 1.0, 0.5, {}, None)


@pytest.fixture
def env(tmp_path: Path) -> tuple[EngineHome, Settings]:
    return EngineHome(tmp_path), Settings()


def test_first_passing_model_becomes_champion(env) -> None:
    home, settings = env
    res = _model(home, "AAA-USDT", "20260420_020000Z", 2.0, PASS)
    decision = update_champion(home, res, settings)
    assert decision.promoted and decision.previous_model is None
    pointer = read_json(home.champion("AAA-USDT"))
    assert pointer["model_id"] == res.model_id
    assert pointer["model_path"] == "models/AAA-USDT/20260420_020000Z"


def test_failing_gates_never_promote(env) -> None:
    home, settings = env
    decision = update_champion(home, _model(home, "AAA-USDT", "20260420_020000Z", 3.0, FAIL), settings)
    assert not decision.promoted and "gates failed" in decision.reason
    assert not home.champion("AAA-USDT").exists()


def test_challenger_must_beat_the_champion_by_the_margin(env) -> None:
    home, settings = env
    update_champion(home, _model(home, "AAA-USDT", "20260419_020000Z", 2.0, PASS), settings)
    close = update_champion(home, _model(home, "AAA-USDT", "20260420_020000Z", 2.05, PASS), settings)
    assert not close.promoted and "does not beat" in close.reason
    assert close.previous_model == "AAA-USDT_20260419_020000Z"
    better = update_champion(home, _model(home, "AAA-USDT", "20260421_020000Z", 2.5, PASS), settings)
    assert better.promoted
    assert read_json(home.champion("AAA-USDT"))["model_id"] == "AAA-USDT_20260421_020000Z"


def test_a_champion_that_no_longer_verifies_is_replaced(env) -> None:
    home, settings = env
    old = _model(home, "AAA-USDT", "20260419_020000Z", 5.0, PASS)
    update_champion(home, old, settings)
    (old.model_dir / "metrics.json").write_text("{}")  # tampered
    decision = update_champion(home, _model(home, "AAA-USDT", "20260420_020000Z", 1.0, PASS), settings)
    assert decision.promoted and "no longer verifies" in decision.reason


def test_skipped_or_incomplete_models_never_promote(env) -> None:
    home, settings = env
    res = _model(home, "AAA-USDT", "20260420_020000Z", 2.0, PASS)
    (res.model_dir / "sha256.txt").unlink()
    assert not update_champion(home, res, settings).promoted
    skipped = TrainResult("BBB-USDT", "", None, {}, FAIL, 50, 0, 0.1, 0.0, {}, "too little data: 50 rows")
    assert "too little data" in update_champion(home, skipped, settings).reason


def test_roster_lists_exactly_the_days_coins_with_reasons(env) -> None:
    home, settings = env
    good = _model(home, "GOOD-USDT", "20260420_020000Z", 2.0, PASS, adv=5e8, round_trip=10.0)
    cheap = _model(home, "CHEAP-USDT", "20260420_020000Z", 2.0, PASS, adv=9e8, round_trip=9.0, last7=20.0)
    gated = _model(home, "GATED-USDT", "20260420_020000Z", 0.1, FAIL)
    for r in (good, cheap, gated):
        update_champion(home, r, settings)
    outcomes = {
        "GOOD-USDT": {"status": "success", "error": None, "model_dir": str(good.model_dir)},
        "CHEAP-USDT": {"status": "success", "error": None, "model_dir": str(cheap.model_dir)},
        "GATED-USDT": {"status": "success", "error": None, "model_dir": str(gated.model_dir)},
        "BOOM-USDT": {"status": "failed", "error": "ValueError: boom", "model_dir": None},
        "TINY-USDT": {"status": "skipped", "error": "too little data: 80 rows", "model_dir": None},
        "OTHER-USDT": {"status": "success", "error": None, "model_dir": None},  # not today's coin
    }
    day_coins = ["GOOD-USDT", "CHEAP-USDT", "GATED-USDT", "BOOM-USDT", "TINY-USDT", "GHOST-USDT"]
    roster = build_roster(home, DAY, day_coins, outcomes, settings)
    assert read_json(home.roster()) == roster
    by = {c["symbol"]: c for c in roster["coins"]}
    assert set(by) == set(day_coins)
    assert [c["rank"] for c in roster["coins"]] == list(range(1, 7))
    assert roster["coins"][0]["symbol"] == "CHEAP-USDT"  # more liquid, cheaper, better recent edge
    assert roster["coins"][1]["symbol"] == "GOOD-USDT"
    assert by["GOOD-USDT"]["trade_ok"] and by["GOOD-USDT"]["reason"] is None
    assert by["GOOD-USDT"]["model_path"] == "models/GOOD-USDT/20260420_020000Z"
    for key in ("spread_bps", "fee_bps", "avg_slip_bps", "last_7d_net_bps"):
        assert by["GOOD-USDT"][key] is not None
    assert not by["GATED-USDT"]["trade_ok"] and "failed gates" in by["GATED-USDT"]["reason"]
    assert "boom" in by["BOOM-USDT"]["reason"]
    assert "too little data" in by["TINY-USDT"]["reason"]
    assert by["GHOST-USDT"]["status"] == "missing" and "no training outcome" in by["GHOST-USDT"]["reason"]
    assert roster["n_trade_ok"] == 2


def test_todays_failed_gates_make_a_coin_not_tradeable_even_with_an_old_champion(env) -> None:
    home, settings = env
    update_champion(home, _model(home, "AAA-USDT", "20260419_020000Z", 2.0, PASS), settings)
    today = _model(home, "AAA-USDT", "20260420_020000Z", 0.1, FAIL)
    roster = build_roster(home, DAY, ["AAA-USDT"],
                          {"AAA-USDT": {"status": "success", "error": None, "model_dir": str(today.model_dir)}},
                          settings)
    entry = roster["coins"][0]
    assert entry["model_id"] == "AAA-USDT_20260419_020000Z"
    assert not entry["trade_ok"] and "failed gates" in entry["reason"]
