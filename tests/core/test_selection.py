"""Selection deflation: the champion's deflated Sharpe counts every candidate compared to pick it (its search
trials + every other model: the night's coins x variants and the coin's earlier nights), not only its own search
trials."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from huracan_core.atomic import read_json, write_json, write_manifest
from huracan_core.config import GateSettings, Settings
from huracan_core.gates import GateCheck, GateReport
from huracan_core.metrics import (
    SelectionCount,
    deflated_sharpe,
    deflated_sharpe_from_moments,
    selection_deflated_sharpe,
)
from huracan_core.paths import EngineHome
from huracan_core.roster import build_roster, selection_check, update_champion
from huracan_core.training.evaluate import backtest_table, evaluate_predictions
from huracan_core.training.trainer import TrainResult
from huracan_core.universe import Universe, UniverseRow

D1, D2 = date(2026, 4, 20), date(2026, 4, 21)
TRIALS = 10
PERIODS = 2000
# per-period Sharpe 0.08 over 2,000 bars: deflated against its own 10 trials it clears 0.95 (~0.977);
# against 10 trials + 19 other coins of the night it does not (~0.935)
SR = 0.08


def _moments(sr: float = SR) -> dict[str, float | int]:
    per_model = deflated_sharpe_from_moments(sr, PERIODS, 0.0, 3.0, TRIALS)
    return {
        "per_period_sharpe": sr,
        "periods": PERIODS,
        "return_skew": 0.0,
        "return_kurtosis": 3.0,
        "n_trials": TRIALS,
        "deflated_sharpe": per_model["dsr"],
        "deflated_sharpe_sr0": per_model["sr0"],
    }


def _gates(metrics: dict, settings: Settings) -> GateReport:
    """Every gate passes, the per-model deflated Sharpe included (its real value, checked here)."""
    dsr = float(metrics["deflated_sharpe"])
    ok = dsr > settings.gates.min_deflated_sharpe
    return GateReport(ok, [GateCheck("deflated_sharpe", dsr, settings.gates.min_deflated_sharpe, ">", ok)])


def _model(
    home: EngineHome, symbol: str, day: date, metrics: dict, settings: Settings, hour: int = 2
) -> TrainResult:
    version = f"{day:%Y%m%d}_{hour:02d}0000Z"
    d = home.model_root(symbol) / version
    gates = _gates(metrics, settings)
    write_json(
        d / "metadata.json",
        {"model_id": f"{symbol}_{version}", "symbol": symbol, "version": version, "training_date": str(day)},
    )
    full = {"sharpe": 2.0, "last_7d_net_bps": 5.0, "trades": 300, **metrics}
    write_json(d / "metrics.json", {**full, "gates": gates.to_json()})
    write_json(d / "costs.json", {"inputs": {"adv_usd": 1e8}, "round_trip_bps": 10.0})
    write_manifest(d, ["metadata.json", "metrics.json", "costs.json"])
    return TrainResult(symbol, f"{symbol}_{version}", d, full, gates, 3000, 300, 1.0, 0.5, {}, None)


def _universe(home: EngineHome, day: date, n: int) -> list[str]:
    """The night's stored universe of `n` coins (what the roster counts as the coins of the night)."""
    coins = ["AAA-USDT", *[f"C{i:03d}-USDT" for i in range(n - 1)]]
    rows = [
        UniverseRow(s, True, i + 1, "selected", 1e8, 2.0, 400.0, "spot", True) for i, s in enumerate(coins)
    ]
    Universe(datetime(day.year, day.month, day.day, tzinfo=UTC), "test", {}, rows).save(home.universe(day))
    return coins


@pytest.fixture
def home(tmp_path: Path) -> EngineHome:
    return EngineHome(tmp_path)


def test_the_selection_deflated_sharpe_falls_as_the_count_grows_and_equals_the_per_model_one_alone() -> None:
    metrics = _moments()
    values = [
        selection_deflated_sharpe(metrics, SelectionCount(TRIALS, m))["dsr"] for m in (1, 2, 10, 100, 1000)
    ]
    assert all(a > b for a, b in zip(values, values[1:], strict=False)), values
    assert values[0] == pytest.approx(metrics["deflated_sharpe"])  # one model: the per-model number
    assert values[0] > 0.95 > values[-1]
    more_trials = selection_deflated_sharpe(metrics, SelectionCount(TRIALS * 5, 10))["dsr"]
    assert more_trials < values[2]
    missing = selection_deflated_sharpe({"deflated_sharpe": 0.99}, SelectionCount(TRIALS, 1))
    assert missing["dsr"] is None  # no return moments: no value, so no pass


def _oos_table(seed: int, n: int = 600) -> pl.DataFrame:
    """An OOS prediction table as the trainer saves it (oos_predictions.parquet), with a weak real edge."""
    rng = np.random.default_rng(seed)
    label = rng.normal(0.0, 40.0, n)
    pred = 0.3 * label + rng.normal(0.0, 40.0, n)
    price = 100.0 * np.exp(np.cumsum(label / 1e4))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return pl.DataFrame(
        {
            "row": np.arange(n),
            "timestamp": [start + timedelta(hours=i) for i in range(n)],
            "fold": np.repeat(np.arange(4), n // 4),
            "prediction_bps": pred,
            "label_bps": label,
            "threshold_bps": np.full(n, 12.0),
            "round_trip_bps": np.full(n, 9.0),
            "leg_cost": np.full(n, 4.5e-4),
            "exec_price": price,
            "next_exec_price": np.append(price[1:], price[-1]),
        }
    )


def test_the_value_from_stored_moments_is_the_one_from_the_saved_oos_returns() -> None:
    """metrics.json's moments deflate exactly the after-cost returns recomputed from the OOS table."""
    table = _oos_table(3)
    metrics = evaluate_predictions(table, "spot", 8760.0, TRIALS)
    bt, _, _ = backtest_table(table, "spot")
    for models in (1, 7, 60):
        count = SelectionCount(TRIALS, models)
        from_returns = deflated_sharpe(bt.returns, count.n_candidates)["dsr"]
        assert selection_deflated_sharpe(metrics, count)["dsr"] == pytest.approx(from_returns, abs=1e-12)


def test_the_roster_refuses_a_champion_whose_per_model_dsr_passes_but_the_selection_one_does_not(
    home: EngineHome,
) -> None:
    settings = Settings()
    _universe(home, D1, 20)
    res = _model(home, "AAA-USDT", D1, _moments(), settings)
    assert res.gates.passed and res.metrics["deflated_sharpe"] > 0.95  # the per-model number passes
    decision = update_champion(home, res, settings, D1)
    assert not decision.promoted
    assert "selection-deflated Sharpe" in decision.reason and "29 candidates" in decision.reason
    record = read_json(home.champion_on(D1, "AAA-USDT"))
    assert record["model_id"] is None
    sel = record["candidate_selection"]
    assert sel["selection_candidates"] == TRIALS + 19 and sel["selection_parts"]["coins_of_the_night"] == 20
    assert sel["deflated_sharpe"] > 0.95 > sel["selection_deflated_sharpe"]
    # the same model counted as one coin's search alone (the per-model scope) is a champion
    alone = Settings(gates=GateSettings(selection_scope="model"))
    other = EngineHome(home.root / "alone")
    _universe(other, D1, 20)
    assert update_champion(other, _model(other, "AAA-USDT", D1, _moments(), alone), alone, D1).promoted


def test_variants_compared_before_the_settings_were_chosen_count_too(home: EngineHome) -> None:
    strong = _moments(0.085)  # clears 10 trials + 2 other coins (0.983), not + 59 other models (0.919)
    one = Settings()
    _universe(home, D1, 3)
    assert selection_check(home, "AAA-USDT", D1, strong, one)["passed"]
    many = Settings(gates=GateSettings(selection_variants=20))
    check = selection_check(home, "AAA-USDT", D1, strong, many)
    assert check["selection_candidates"] == TRIALS + 3 * 20 - 1 and not check["passed"]


def test_a_champion_stays_only_while_the_growing_count_still_passes(home: EngineHome) -> None:
    """Promoted on a one-coin night; the next night compares 40 coins: the champion does not stay, and the
    roster shows both numbers and the count behind the selection-deflated one."""
    settings = Settings()
    _universe(home, D1, 1)
    first = _model(home, "AAA-USDT", D1, _moments(0.085), settings)
    assert update_champion(home, first, settings, D1).promoted
    d1 = build_roster(home, D1, ["AAA-USDT"], {"AAA-USDT": _ok(first)}, settings)["coins"][0]
    assert d1["trade_ok"] and d1["model_id"] == first.model_id
    assert d1["selection_candidates"] == TRIALS and "0 other models" in d1["selection_count"]
    coins = _universe(home, D2, 40)
    weak = _model(home, "AAA-USDT", D2, _moments(0.0), settings)
    decision = update_champion(home, weak, settings, D2)
    assert not decision.promoted and decision.previous_model == first.model_id
    assert "no longer passes the selection-deflated Sharpe" in decision.reason
    assert read_json(home.champion_on(D2, "AAA-USDT"))["model_id"] is None
    roster = build_roster(home, D2, coins[:1], {"AAA-USDT": _ok(weak)}, settings)["coins"][0]
    assert not roster["trade_ok"] and roster["model_id"] is None
    # without tonight's decision (no model for D2) the carried champion is judged on tonight's count too
    other = EngineHome(home.root / "carried")
    _universe(other, D1, 1)
    kept = _model(other, "AAA-USDT", D1, _moments(0.085), settings)
    assert update_champion(other, kept, settings, D1).promoted
    _universe(other, D2, 40)
    line = build_roster(other, D2, ["AAA-USDT"], {}, settings)["coins"][0]
    assert line["model_id"] == kept.model_id and not line["trade_ok"]
    assert line["deflated_sharpe"] > 0.95 > line["selection_deflated_sharpe"]
    assert line["selection_candidates"] == TRIALS + 40  # 39 other coins + its own earlier night
    assert "no longer passes the selection-deflated Sharpe" in line["reason"]


def _ok(res: TrainResult) -> dict:
    return {"status": "success", "error": None, "model_dir": str(res.model_dir)}


def test_the_report_shows_tonights_and_the_champions_numbers_with_the_count(home: EngineHome) -> None:
    from huracan_core.ledger import CoinEntry, RunLedger
    from huracan_core.reports.report import _coin_rows, _selection_cell

    settings = Settings(home=home.root)
    coins = _universe(home, D1, 2)
    res = _model(home, "AAA-USDT", D1, _moments(0.095), settings)
    assert update_champion(home, res, settings, D1).promoted
    RunLedger(home, D1).write(
        {
            "AAA-USDT": CoinEntry(status="success", output_path=str(res.model_dir)),
            coins[1]: CoinEntry(status="failed", error="boom"),
        }
    )
    outcomes = {"AAA-USDT": _ok(res), coins[1]: {"status": "failed", "error": "boom", "model_dir": None}}
    roster = build_roster(home, D1, coins, outcomes, settings)
    rows = {r["symbol"]: r for r in _coin_rows(settings, home, D1, None)}
    row = rows["AAA-USDT"]
    expected = selection_deflated_sharpe(res.metrics, SelectionCount(TRIALS, 2))["dsr"]
    assert row["selection_deflated_sharpe"] == pytest.approx(expected)
    assert 0.95 < expected < row["deflated_sharpe"]
    assert row["selection_candidates"] == TRIALS + 1 and "11 candidates" in row["selection_count"]
    assert row["champion_selection_deflated_sharpe"] == pytest.approx(expected)
    line = next(c for c in roster["coins"] if c["symbol"] == "AAA-USDT")
    assert _selection_cell(line) == f"{expected:.3f} (N=11)"
    assert rows[coins[1]]["selection_deflated_sharpe"] is None
