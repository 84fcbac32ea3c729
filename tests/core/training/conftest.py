"""Fixtures for the training tests: the 1h recipe, fast settings, cost inputs and one trained coin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from huracan_core.config import Settings, TrainingSettings
from huracan_core.costs import CostInputs
from huracan_core.features import build_features, default_recipe
from huracan_core.paths import EngineHome
from huracan_core.training.encoder import fit_shared_encoder
from huracan_core.training.trainer import TrainOptions, TrainResult, train_coin
from tests.support.planted import planted_candles, random_walk_candles

DAY = date(2026, 4, 20)
AS_OF = datetime(2026, 4, 21, tzinfo=UTC)
FAST = TrainOptions(n_trials=2)


def fast_settings(**training: object) -> Settings:
    base = {"num_boost_round": 30, "folds": 3, "min_train_bars": 300, "horizon_bars": 1, "embargo_bars": 2}
    base.update(training)
    return Settings(training=TrainingSettings(**base))


def cost_inputs(market_type: str = "spot") -> CostInputs:
    return CostInputs(
        spread_bps=2.0, maker_fee_bps=2.0, taker_fee_bps=4.0, adv_usd=5e8, market_type=market_type
    )


@pytest.fixture(scope="session")
def recipe():
    return default_recipe("1h")


@dataclass
class Trained:
    home: EngineHome
    result: TrainResult
    features: pl.DataFrame
    settings: Settings
    encoder_dir: Path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, recipe) -> Trained:
    """One planted coin trained with the shared encoder (fitted on it and two random walks)."""
    home = EngineHome(tmp_path_factory.mktemp("home"))
    feats = {
        "PLANT-USDT": build_features(planted_candles(1), recipe),
        "RWA-USDT": build_features(random_walk_candles(2), recipe),
        "RWB-USDT": build_features(random_walk_candles(3), recipe),
    }
    enc_dir = home.encoder_dir(DAY)
    fit_shared_encoder(feats, recipe, AS_OF, enc_dir)
    settings = fast_settings()
    result = train_coin(
        symbol="PLANT-USDT",
        features=feats["PLANT-USDT"],
        recipe=recipe,
        encoder_dir=enc_dir,
        cost_inputs=cost_inputs(),
        settings=settings,
        home=home,
        training_date=DAY,
        bar_seconds=3600,
        options=FAST,
    )
    return Trained(home, result, feats["PLANT-USDT"], settings, enc_dir)
