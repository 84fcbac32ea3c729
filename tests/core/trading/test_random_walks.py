"""50 random-walk coins (no edge at all) through the engines, the consensus and the one-coin account:
the consensus strategy passes the promotion gates (with the deflated Sharpe) for at most 5 % of them, and
still at most 5 % when the sample-size gate is waived (so it is not only the trade count that stops them)."""

from __future__ import annotations

import time

import polars as pl
import pytest

from huracan_core.config import GateSettings, Settings
from huracan_core.costs import CostInputs
from huracan_core.features import build_features, default_recipe
from huracan_core.gates import evaluate_gates
from huracan_core.metrics import periods_per_year
from huracan_core.trading.simulator import plan_coin, simulate, simulation_metrics
from tests.support.planted import random_walk_candles

N_COINS = 50
COSTS = CostInputs(spread_bps=2.0, maker_fee_bps=2.0, taker_fee_bps=4.0, adv_usd=5e8)


def test_consensus_on_50_random_walks_fails_the_gates() -> None:
    start = time.perf_counter()
    settings = Settings()
    recipe = default_recipe("1h")
    ppy = periods_per_year(3600)
    strict, waived, trades = [], [], []
    no_min_trades = GateSettings(min_trades=0)
    for i in range(N_COINS):
        feats = build_features(random_walk_candles(1000 + i), recipe)
        plan = plan_coin(f"RW{i}-USDT", feats, settings, COSTS, 3600)
        m = simulation_metrics(simulate([plan], settings.trading), ppy)
        trades.append(m["trades"])
        strict.append(evaluate_gates(m, settings.gates).passed)
        waived.append(evaluate_gates(m, no_min_trades).passed)
    print(
        f"\nrandom walks passing: {sum(strict)}/{N_COINS} (min_trades waived: {sum(waived)}/{N_COINS}); "
        f"trades per coin {min(trades)}-{max(trades)}; {time.perf_counter() - start:.1f} s"
    )
    assert sum(trades) > 0  # the consensus does trade random walks; it just must not look skilful
    assert sum(strict) <= 0.05 * N_COINS
    assert sum(waived) <= 0.05 * N_COINS


@pytest.mark.slow
def test_consensus_with_the_model_engine_on_50_random_walks_fails_the_gates(tmp_path) -> None:
    """The same with each coin's LightGBM model voting too (trained like the honesty test, its OOS rows as
    the 23rd engine), the account restricted to the model's OOS span, and the deflated Sharpe counting
    the model's trials. Several minutes on 2 shared cores."""
    from huracan_core.paths import EngineHome
    from huracan_core.trading.simulator import window
    from huracan_core.training.trainer import train_coin
    from tests.core.training.conftest import DAY, FAST, fast_settings

    settings = fast_settings()
    recipe = default_recipe("1h")
    ppy = periods_per_year(3600)
    home = EngineHome(tmp_path)
    passed, trades = [], []
    for i in range(N_COINS):
        symbol = f"RW{i}-USDT"
        feats = build_features(random_walk_candles(1000 + i), recipe)
        res = train_coin(
            symbol=symbol,
            features=feats,
            recipe=recipe,
            encoder_dir=None,
            cost_inputs=COSTS,
            settings=settings,
            home=home,
            training_date=DAY,
            bar_seconds=3600,
            options=FAST,
        )
        oos = pl.read_parquet(res.model_dir / "oos_predictions.parquet")
        plan = plan_coin(symbol, feats, settings, COSTS, 3600, oos=oos)
        ms = oos["timestamp"].dt.epoch("ms")
        part = window(plan, int(ms[0]), int(ms[-1]) + 3600 * 1000)
        m = simulation_metrics(simulate([part], settings.trading), ppy, n_trials=res.metrics["n_trials"])
        trades.append(m["trades"])
        passed.append(evaluate_gates(m, settings.gates).passed)
    print(
        f"\nrandom walks passing with the model engine: {sum(passed)}/{N_COINS}; trades {min(trades)}-{max(trades)}"
    )
    assert sum(passed) <= 0.05 * N_COINS
