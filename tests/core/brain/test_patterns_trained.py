"""The issue's check on real models: 50 random-walk coins trained end to end (features, shared encoder,
train_coin), their OOS trades mined for patterns: none survives the correction."""

from __future__ import annotations

from pathlib import Path

import pytest

from huracan_core.features import build_features, default_recipe
from huracan_core.paths import EngineHome
from huracan_core.trades import model_trades
from huracan_core.training.encoder import fit_shared_encoder
from huracan_core.training.learning import mine_patterns
from huracan_core.training.trainer import train_coin
from tests.core.training.conftest import AS_OF, DAY, FAST, cost_inputs, fast_settings
from tests.support.planted import random_walk_candles


@pytest.mark.slow  # 50 trainings, about 2 minutes on 2 cores
def test_fifty_trained_random_walk_coins_yield_no_pattern(tmp_path: Path) -> None:
    recipe = default_recipe("1h")
    home = EngineHome(tmp_path)
    feats = {
        f"RW{i}-USDT": build_features(random_walk_candles(5000 + i, n_bars=1500), recipe) for i in range(50)
    }
    enc_dir = home.encoder_dir(DAY)
    fit_shared_encoder(feats, recipe, AS_OF, enc_dir)
    settings = fast_settings(min_train_bars=200)
    trades = {}
    for symbol, frame in feats.items():
        result = train_coin(
            symbol=symbol,
            features=frame,
            recipe=recipe,
            encoder_dir=enc_dir,
            cost_inputs=cost_inputs(),
            settings=settings,
            home=home,
            training_date=DAY,
            bar_seconds=3600,
            options=FAST,
        )
        assert result.model_dir is not None, result.skipped_reason
        trades[symbol] = model_trades(result.model_dir, settings)
        assert len(trades[symbol]) == result.n_trades
    rows = mine_patterns(trades)
    tested = len(rows)
    nominal = sum(r["p_value"] < 0.05 for r in rows)
    survivors = [(r["symbol"], r["pattern"], r["q_value"]) for r in rows if r["survived"]]
    print(
        f"{sum(map(len, trades.values()))} trades, {tested} conditions, {nominal} with p < 0.05, "
        f"{len(survivors)} surviving BH"
    )
    assert tested > 100 and not survivors
