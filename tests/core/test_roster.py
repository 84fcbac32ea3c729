"""Champion promotion rules and the daily roster."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from huracan_core.atomic import read_json, write_json, write_manifest
from huracan_core.config import Settings
from huracan_core.gates import GateCheck, GateReport
from huracan_core.paths import EngineHome
from huracan_core.roster import build_roster, publish_latest, update_champion
from huracan_core.training.artifacts import complete_models
from huracan_core.training.trainer import TrainResult

DAY = date(2026, 4, 20)
PASS = GateReport(True, [GateCheck("sharpe", 2.0, 0.5, ">", True)])
FAIL = GateReport(False, [GateCheck("sharpe", 0.1, 0.5, ">", False)])
# the OOS return moments metrics.json carries (metrics.backtest_metrics): a per-period Sharpe of 0.2 over
# 2,000 bars clears the selection-deflated Sharpe for any count these tests reach
STRONG_RETURNS = {
    "per_period_sharpe": 0.2,
    "periods": 2000,
    "return_skew": 0.0,
    "return_kurtosis": 3.0,
    "n_trials": 10,
    "deflated_sharpe": 1.0,
    "deflated_sharpe_sr0": 0.05,
}


def _model(
    home: EngineHome,
    symbol: str,
    version: str,
    sharpe: float,
    gates: GateReport,
    adv: float = 1e8,
    round_trip: float = 10.0,
    last7: float = 5.0,
    trained_for: date | None = None,
) -> TrainResult:
    """A complete model folder (metadata, metrics, costs, sha256.txt) and the TrainResult that points at it.
    Its partition date is `trained_for`, by default the date of its version stamp."""
    d = home.model_root(symbol) / version
    day = trained_for or date(int(version[:4]), int(version[4:6]), int(version[6:8]))
    metrics = {"sharpe": sharpe, "last_7d_net_bps": last7, "trades": 200, **STRONG_RETURNS}
    write_json(
        d / "metadata.json",
        {
            "model_id": f"{symbol}_{version}",
            "symbol": symbol,
            "version": version,
            "training_date": day.isoformat(),
        },
    )
    write_json(d / "metrics.json", {**metrics, "gates": gates.to_json()})
    write_json(
        d / "costs.json",
        {
            "inputs": {"adv_usd": adv},
            "spread_bps": 2.0,
            "fee_bps": 4.0,
            "avg_slip_bps": (round_trip - 10.0) / 2,
            "round_trip_bps": round_trip,
        },
    )
    write_manifest(d, ["metadata.json", "metrics.json", "costs.json"])
    return TrainResult(symbol, f"{symbol}_{version}", d, metrics, gates, 1000, 200, 1.0, 0.5, {}, None)


def _promote(home: EngineHome, res: TrainResult, settings: Settings):  # type: ignore[no-untyped-def]
    """The champion decision of the night the model was trained for."""
    return update_champion(
        home, res, settings, date.fromisoformat(read_json(res.model_dir / "metadata.json")["training_date"])
    )


@pytest.fixture
def env(tmp_path: Path) -> tuple[EngineHome, Settings]:
    return EngineHome(tmp_path), Settings()


def test_first_passing_model_becomes_champion(env) -> None:
    home, settings = env
    res = _model(home, "AAA-USDT", "20260420_020000Z", 2.0, PASS)
    decision = _promote(home, res, settings)
    assert decision.promoted and decision.previous_model is None
    pointer = read_json(home.champion_on(D1, "AAA-USDT"))
    assert pointer["model_id"] == res.model_id
    assert pointer["model_path"] == "models/AAA-USDT/20260420_020000Z"
    # the bot's latest pointer moves only when the whole night is published, never at the decision
    assert not home.champion("AAA-USDT").exists()
    build_roster(home, D1, ["AAA-USDT"], {"AAA-USDT": _ok(res)}, settings)
    assert not home.champion("AAA-USDT").exists() and not home.roster().exists()
    assert publish_latest(home, D1)
    assert read_json(home.champion("AAA-USDT"))["model_id"] == res.model_id
    assert read_json(home.roster()) == read_json(home.roster_on(D1))


def test_failing_gates_never_promote(env) -> None:
    home, settings = env
    decision = _promote(home, _model(home, "AAA-USDT", "20260420_020000Z", 3.0, FAIL), settings)
    assert not decision.promoted and "gates failed" in decision.reason
    assert read_json(home.champion_on(D1, "AAA-USDT"))["model_id"] is None


def test_challenger_must_beat_the_champion_by_the_margin(env) -> None:
    home, settings = env
    _promote(home, _model(home, "AAA-USDT", "20260419_020000Z", 2.0, PASS), settings)
    close = _promote(home, _model(home, "AAA-USDT", "20260420_020000Z", 2.05, PASS), settings)
    assert not close.promoted and "does not beat" in close.reason
    assert close.previous_model == "AAA-USDT_20260419_020000Z"
    better = _promote(home, _model(home, "AAA-USDT", "20260421_020000Z", 2.5, PASS), settings)
    assert better.promoted
    assert read_json(home.champion_on(D2, "AAA-USDT"))["model_id"] == "AAA-USDT_20260421_020000Z"


def test_a_champion_that_no_longer_verifies_is_replaced(env) -> None:
    home, settings = env
    old = _model(home, "AAA-USDT", "20260419_020000Z", 5.0, PASS)
    _promote(home, old, settings)
    (old.model_dir / "metrics.json").write_text("{}")  # tampered
    decision = _promote(home, _model(home, "AAA-USDT", "20260420_020000Z", 1.0, PASS), settings)
    assert decision.promoted and "no longer verifies" in decision.reason


def test_skipped_or_incomplete_models_never_promote(env) -> None:
    home, settings = env
    res = _model(home, "AAA-USDT", "20260420_020000Z", 2.0, PASS)
    (res.model_dir / "sha256.txt").unlink()
    assert not update_champion(home, res, settings, DAY).promoted
    skipped = TrainResult("BBB-USDT", "", None, {}, FAIL, 50, 0, 0.1, 0.0, {}, "too little data: 50 rows")
    assert "too little data" in update_champion(home, skipped, settings, DAY).reason


def test_roster_lists_exactly_the_days_coins_with_reasons(env) -> None:
    home, settings = env
    good = _model(home, "GOOD-USDT", "20260420_020000Z", 2.0, PASS, adv=5e8, round_trip=10.0)
    cheap = _model(home, "CHEAP-USDT", "20260420_020000Z", 2.0, PASS, adv=9e8, round_trip=9.0, last7=20.0)
    gated = _model(home, "GATED-USDT", "20260420_020000Z", 0.1, FAIL)
    for r in (good, cheap, gated):
        _promote(home, r, settings)
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
    assert read_json(home.roster_on(DAY)) == roster
    assert not home.roster().exists()  # the latest roster moves when the night is published
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
    _promote(home, _model(home, "AAA-USDT", "20260419_020000Z", 2.0, PASS), settings)
    today = _model(home, "AAA-USDT", "20260420_020000Z", 0.1, FAIL)
    roster = build_roster(
        home,
        DAY,
        ["AAA-USDT"],
        {"AAA-USDT": {"status": "success", "error": None, "model_dir": str(today.model_dir)}},
        settings,
    )
    entry = roster["coins"][0]
    assert entry["model_id"] == "AAA-USDT_20260419_020000Z"
    assert not entry["trade_ok"] and "failed gates" in entry["reason"]


# --- date-bound decisions (issue 10) -------------------------------------------------------------------

D1, D2 = date(2026, 4, 20), date(2026, 4, 21)


def _ok(res: TrainResult) -> dict:
    return {"status": "success", "error": None, "model_dir": str(res.model_dir)}


def test_a_backfill_of_an_old_date_leaves_the_latest_pointers_untouched(env) -> None:
    home, settings = env
    new = _model(home, "AAA-USDT", "20260422_020000Z", 2.0, PASS, trained_for=D2)
    assert _promote(home, new, settings).promoted
    latest_roster = build_roster(home, D2, ["AAA-USDT"], {"AAA-USDT": _ok(new)}, settings)
    assert publish_latest(home, D2)
    pointer = read_json(home.champion("AAA-USDT"))
    # backfill D1 a day later on the wall clock: a better model, trained for the older date
    old = _model(home, "AAA-USDT", "20260423_090000Z", 9.0, PASS, trained_for=D1)
    decision = update_champion(home, old, settings, D1)
    assert decision.promoted and decision.previous_model is None  # D1 knows nothing of D2
    backfilled = build_roster(home, D1, ["AAA-USDT"], {"AAA-USDT": _ok(old)}, settings)
    assert not publish_latest(home, D1)  # an older night moves no pointer
    assert read_json(home.champion("AAA-USDT")) == pointer
    assert read_json(home.roster()) == latest_roster == read_json(home.roster_on(D2))
    assert read_json(home.roster_on(D1)) == backfilled
    assert backfilled["coins"][0]["model_id"] == old.model_id
    assert read_json(home.champion_on(D1, "AAA-USDT"))["model_id"] == old.model_id
    history = read_json(home.champion_history("AAA-USDT"))["decisions"]
    assert [(h["date"], h["model_id"]) for h in history] == [
        (D1.isoformat(), old.model_id),
        (D2.isoformat(), new.model_id),
    ]


def test_an_old_dates_roster_names_no_model_of_a_later_date(env) -> None:
    home, settings = env
    # AAA: D2 decided (champion); BBB: a D2 model on disk but never decided (replayed from the models)
    a2 = _model(home, "AAA-USDT", "20260421_020000Z", 3.0, PASS)
    _promote(home, a2, settings)
    _model(home, "BBB-USDT", "20260421_020000Z", 3.0, PASS)
    a1 = _model(home, "AAA-USDT", "20260422_050000Z", 0.1, FAIL, trained_for=D1)  # backfilled, fails gates
    update_champion(home, a1, settings, D1)
    outcomes = {"AAA-USDT": _ok(a1), "BBB-USDT": {"status": "failed", "error": "boom", "model_dir": None}}
    roster = build_roster(home, D1, ["AAA-USDT", "BBB-USDT"], outcomes, settings)
    for entry in roster["coins"]:
        assert entry["model_id"] is None and entry["model_path"] is None, entry
        assert not entry["trade_ok"] and "no champion" in entry["reason"]
    assert read_json(home.champion_on(D1, "AAA-USDT"))["model_id"] is None
    # the next night sees them: AAA from D2's decision, BBB by replaying the rule over its models of dates < D3
    d3 = build_roster(home, date(2026, 4, 22), ["AAA-USDT", "BBB-USDT"], {}, settings)
    assert {e["symbol"]: e["model_id"] for e in d3["coins"]} == {
        "AAA-USDT": a2.model_id,
        "BBB-USDT": "BBB-USDT_20260421_020000Z",
    }


def test_rerunning_a_date_after_the_next_reproduces_its_decision_and_roster(env) -> None:
    home, settings = env
    first = _model(home, "AAA-USDT", "20260420_020000Z", 2.0, PASS)
    _promote(home, first, settings)
    roster1 = build_roster(home, D1, ["AAA-USDT"], {"AAA-USDT": _ok(first)}, settings)
    d2 = _model(home, "AAA-USDT", "20260421_020000Z", 3.0, PASS)
    assert _promote(home, d2, settings).promoted
    # --force rerun of D1 the next day: same numbers, a new version folder
    rerun = _model(home, "AAA-USDT", "20260422_110000Z", 2.0, PASS, trained_for=D1)
    decision = update_champion(home, rerun, settings, D1)
    assert decision.promoted and decision.previous_model is None
    roster2 = build_roster(home, D1, ["AAA-USDT"], {"AAA-USDT": _ok(rerun)}, settings)
    fields = (
        "symbol",
        "rank",
        "trade_ok",
        "reason",
        "oos_sharpe",
        "last_7d_net_bps",
        "round_trip_bps",
        "model_training_date",
    )
    assert [{k: e[k] for k in fields} for e in roster2["coins"]] == [
        {k: e[k] for k in fields} for e in roster1["coins"]
    ]
    assert roster2["coins"][0]["model_id"] == rerun.model_id  # the rerun's model holds D1's slot
    assert read_json(home.champion_on(D2, "AAA-USDT"))["model_id"] == d2.model_id
    assert read_json(home.roster_on(D1)) == roster2


def test_the_latest_pointer_is_removed_when_the_newest_night_has_no_champion(env) -> None:
    home, settings = env
    a = _model(home, "AAA-USDT", "20260420_020000Z", 2.0, PASS)
    _promote(home, a, settings)
    (a.model_dir / "metrics.json").write_text("{}")  # the champion's folder no longer verifies
    b = _model(home, "AAA-USDT", "20260421_020000Z", 0.1, FAIL)
    build_roster(home, D1, ["AAA-USDT"], {"AAA-USDT": _ok(a)}, settings)
    assert publish_latest(home, D1) and home.champion("AAA-USDT").exists()
    decision = _promote(home, b, settings)
    assert not decision.promoted
    build_roster(home, D2, ["AAA-USDT"], {"AAA-USDT": _ok(b)}, settings)
    assert publish_latest(home, D2)
    assert not home.champion("AAA-USDT").exists()
    record = read_json(home.champion_on(D2, "AAA-USDT"))
    assert (
        record["model_id"] is None and record["previous_model"] is None and "gates failed" in record["reason"]
    )


def test_model_lookups_go_by_partition_date_not_by_the_wall_clock_folder(env) -> None:
    home, _ = env
    backfilled = _model(home, "AAA-USDT", "20260425_010000Z", 1.0, PASS, trained_for=D1).model_dir
    nightly = _model(home, "AAA-USDT", "20260421_010000Z", 1.0, PASS, trained_for=D2).model_dir
    undated = home.model_root("AAA-USDT") / "20260419_010000Z"
    write_json(undated / "metrics.json", {"sharpe": 1.0})
    write_manifest(undated, ["metrics.json"])
    assert complete_models(home, "AAA-USDT", up_to=D1) == [backfilled]
    assert complete_models(home, "AAA-USDT", before=D2) == [backfilled]
    assert complete_models(home, "AAA-USDT", up_to=D2) == [backfilled, nightly]  # partition order, not stamps
    assert complete_models(home, "AAA-USDT", before=D1) == []  # an undated model is never "known by" a date
    assert complete_models(home, "AAA-USDT") == [undated, backfilled, nightly]
