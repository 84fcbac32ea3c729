"""Every coin of the recorded 1d universe gets the full model matrix: >= 50 model columns, no null after the
warm-up, schema-valid, with BTC, ETH and the equal-weight market of the 14 coins as references."""

from __future__ import annotations

from pathlib import Path

import pytest

from huracan_core.features import (
    CrossAssetInputs,
    build_features,
    default_recipe,
    drop_warmup,
    equal_weight_market,
    validate_features,
)
from tests.core.features.helpers import read_real


@pytest.fixture(scope="module")
def universe(shared_data: Path) -> dict[str, object]:
    folder = shared_data / "binance" / "1d"
    bases = sorted(p.name.removesuffix("-USDT.csv") for p in folder.glob("*-USDT.csv"))
    return {base: read_real(shared_data, "1d", base) for base in bases}


def test_every_coin_has_the_full_model_matrix(universe: dict) -> None:
    assert len(universe) == 14
    recipe = default_recipe("1d")
    assert len(recipe.model_columns) >= 50
    market = equal_weight_market(universe)
    assert market["n_coins"].max() == 14
    cross = CrossAssetInputs(btc=universe["BTC"], eth=universe["ETH"], market=market)
    longest_warmup = max(s.warmup for s in recipe.features if s.model_input)
    for base, candles in universe.items():
        frame = validate_features(build_features(candles, recipe, cross), recipe)
        model = drop_warmup(frame, recipe)
        assert model.height >= candles.height - longest_warmup - 5, base
        matrix = model.select(recipe.model_columns)
        assert matrix.width >= 50
        assert matrix.null_count().sum_horizontal().item() == 0, base
        # every model column varies (no dead feature), except a reference measured against itself
        constant = {c for c in matrix.columns if matrix[c].n_unique() == 1}
        self_reference = {c for c in matrix.columns if c.startswith(f"{base.lower()}_")}
        assert constant <= self_reference, f"{base}: constant model columns {sorted(constant)}"
