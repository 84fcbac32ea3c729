"""The comparison table and the portfolio trade records, on a coin trained by the real trainer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from huracan_core.atomic import read_json
from huracan_core.config import Settings, TrainingSettings
from huracan_core.features import build_features, default_recipe
from huracan_core.paths import EngineHome
from huracan_core.trades import TradeRecord
from huracan_core.trading.comparison import CoinInputs, compare, format_table
from huracan_core.trading.records import portfolio_records
from huracan_core.trading.simulator import plan_coin, simulate, window
from huracan_core.training.trainer import train_coin
from tests.core.training.conftest import DAY, FAST, cost_inputs
from tests.support.planted import planted_candles, random_walk_candles


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory):
    home = EngineHome(tmp_path_factory.mktemp("home"))
    settings = Settings(training=TrainingSettings(num_boost_round=30, folds=3, min_train_bars=300))
    recipe = default_recipe("1h")
    coins, dirs = [], {}
    for symbol, candles in (("PLANT-USDT", planted_candles(11)), ("RW-USDT", random_walk_candles(12))):
        feats = build_features(candles, recipe)
        res = train_coin(
            symbol=symbol,
            features=feats,
            recipe=recipe,
            encoder_dir=None,
            cost_inputs=cost_inputs(),
            settings=settings,
            home=home,
            training_date=DAY,
            bar_seconds=3600,
            options=FAST,
        )
        dirs[symbol] = Path(res.model_dir)
        coins.append(
            CoinInputs(
                symbol, feats, pl.read_parquet(res.model_dir / "oos_predictions.parquet"), cost_inputs()
            )
        )
    return settings, coins, dirs


def test_model_only_column_is_the_models_own_oos_record(night) -> None:
    settings, coins, dirs = night
    table = compare(coins, settings, 3600)
    assert [r["symbol"] for r in table["coins"]] == ["PLANT-USDT", "RW-USDT"]
    for row in table["coins"]:
        metrics = read_json(dirs[row["symbol"]] / "metrics.json")
        assert row["model_only"]["sharpe"] == pytest.approx(metrics["sharpe"], rel=1e-9)
        assert row["model_only"]["net_pnl_pct"] == pytest.approx(metrics["net_pnl_pct"], rel=1e-9)
        assert row["model_only"]["trades"] == metrics["trades"]
        assert row["buy_and_hold"]["net_pnl_pct"] == pytest.approx(metrics["buy_hold_return_pct"], rel=1e-9)
        assert row["oos_start"] == metrics["oos_start"]
    port = table["portfolio"]
    assert port["coins"] == 2 and set(port) >= {
        "model_only",
        "consensus",
        "model_under_rules",
        "buy_and_hold",
    }
    text = format_table(table)
    assert "PORTFOLIO" in text and "PLANT-USDT" in text
    print("\n" + text)


def test_consensus_trades_only_inside_the_oos_span_and_kill_switch_stops_it(night) -> None:
    settings, coins, _ = night
    coin = coins[0]
    plan = plan_coin(coin.symbol, coin.features, settings, coin.cost_inputs, 3600, oos=coin.oos)
    start = int(coin.oos["timestamp"].dt.epoch("ms")[0])
    end = int(coin.oos["timestamp"].dt.epoch("ms")[-1]) + 3600 * 1000
    res = simulate([window(plan, start, end)], settings.trading)
    assert res.trades
    assert min(t.entry_time for t in res.trades) > coin.oos["timestamp"][0]  # fills after the first decision
    killed = compare(coins, settings, 3600, kill_switch=True)
    assert all(
        r["consensus"]["trades"] == 0 and r["model_under_rules"]["trades"] == 0 for r in killed["coins"]
    )
    assert killed["portfolio"]["consensus"]["net_pnl_pct"] == 0.0


def test_portfolio_trades_become_brain_trade_records(night) -> None:
    settings, coins, _ = night
    plans = [plan_coin(c.symbol, c.features, settings, c.cost_inputs, 3600, oos=c.oos) for c in coins]
    res = simulate(plans, settings.trading)
    capital = 10_000.0
    recs = portfolio_records(
        res.trades,
        plans,
        models={"PLANT-USDT": ("PLANT-USDT_v1", "v1")},
        training_date=DAY.isoformat(),
        currency="USDT",
        capital=capital,
    )
    assert recs and all(isinstance(r, TradeRecord) and r.source == "portfolio" for r in recs)
    for r in recs:
        assert r.gross_bps - r.net_bps == pytest.approx(r.cost_bps, abs=1e-9)
        assert r.fees_bps > 0 and r.spread_bps > 0
    assert {r.model_id for r in recs if r.symbol == "PLANT-USDT"} == {"PLANT-USDT_v1"}
    # the records' net PnL is the account's whole change (nothing is open at the end)
    assert sum(r.net_pnl for r in recs) == pytest.approx(capital * (res.equity[-1] - 1.0), rel=1e-9, abs=1e-9)
    assert len({r.trade_id for r in recs}) == len(recs)
    assert np.isfinite([r.volatility for r in recs if r.volatility is not None]).all()


def test_compare_night_reads_the_engine_home_and_the_kill_switch(tmp_path: Path) -> None:
    """A synthetic night (3 coins, 1 h bars) through every stage, then the comparison from the home."""
    from huracan_core.trading.comparison import compare_night
    from huracan_core.trading.killswitch import set_kill_switch
    from tests.core.brain.conftest import DAY as NIGHT
    from tests.core.brain.conftest import night_settings, run_night

    settings = night_settings(tmp_path)
    symbols = run_night(settings, NIGHT, top_n=3)
    out = compare_night(settings, NIGHT)
    assert read_json(EngineHome(tmp_path).run_dir(NIGHT) / "trading_comparison.json") == json_roundtrip(out)
    assert {r["symbol"] for r in out["coins"]} | set(out["skipped"]) == set(symbols)
    assert out["coins"] and not out["kill_switch"]
    set_kill_switch(EngineHome(tmp_path), True, "test", by="pytest")
    killed = compare_night(settings, NIGHT)
    assert killed["kill_switch"] and all(r["consensus"]["trades"] == 0 for r in killed["coins"])


def json_roundtrip(obj):  # type: ignore[no-untyped-def]
    import json

    return json.loads(json.dumps(obj, default=str))
