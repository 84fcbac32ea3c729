"""The recipe drives the computation: warm-ups are exact, params change values, the hash guards models."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from huracan_core.candles.frame import empty_candles
from huracan_core.features import (
    CrossAssetInputs,
    FeatureRecipe,
    RecipeMismatchError,
    build_features,
    default_recipe,
    equal_weight_market,
)
from tests.core.features.helpers import random_candles

talib = pytest.importorskip("talib")


def test_declared_warmup_is_the_observed_one() -> None:
    """On a gap-free path with references over the same bars, each column is null on exactly its first
    `warmup` bars and never after."""
    recipe = default_recipe("1h")
    coin = random_candles(400, 11, step_ms=3_600_000)
    btc, eth = random_candles(400, 12, step_ms=3_600_000), random_candles(400, 13, step_ms=3_600_000)
    market = equal_weight_market({"C": coin, "B": btc, "E": eth})
    frame = build_features(coin, recipe, CrossAssetInputs(btc=btc, eth=eth, market=market))
    for spec in recipe.features:
        column = frame[spec.name]
        assert column[: spec.warmup].null_count() == spec.warmup, spec.name
        assert column[spec.warmup :].null_count() == 0, f"{spec.name}: nulls after warm-up {spec.warmup}"


def test_params_drive_the_values() -> None:
    base = default_recipe("1d")
    rsi = base.spec("rsi_14")
    custom = FeatureRecipe(
        version="test",
        timeframe="1d",
        features=[rsi.model_copy(update={"name": "rsi_7", "params": {"window": 7}, "warmup": 7})],
    )
    candles = random_candles(200, 3)
    frame = build_features(candles, custom)
    assert frame.columns == ["timestamp", "open", "high", "low", "close", "volume", "rsi_7"]
    expected = talib.RSI(candles["close"].to_numpy(), 7)
    np.testing.assert_allclose(frame["rsi_7"].to_numpy()[7:], expected[7:], rtol=1e-9)
    assert custom.content_hash != base.content_hash


def test_hash_covers_computation_not_prose() -> None:
    recipe = default_recipe("1d")
    spec = recipe.spec("sma_20")
    index = recipe.names.index("sma_20")

    def replaced(new_spec: object) -> FeatureRecipe:
        features = list(recipe.features)
        features[index] = new_spec
        return recipe.model_copy(update={"features": features})

    assert replaced(spec.model_copy(update={"formula": "reworded"})).content_hash == recipe.content_hash
    assert replaced(spec.model_copy(update={"params": {"window": 21}})).content_hash != recipe.content_hash
    assert replaced(spec.model_copy(update={"model_input": True})).content_hash != recipe.content_hash
    assert default_recipe("1h").content_hash != recipe.content_hash
    assert default_recipe("1d").content_hash == recipe.content_hash  # deterministic


def test_tampered_recipe_document_is_refused() -> None:
    doc = default_recipe().to_json()
    doc["features"][0]["params"]["periods"] = 2
    with pytest.raises(RecipeMismatchError, match="edited by hand"):
        FeatureRecipe.from_json(doc)


def test_invalid_recipes_and_candles_are_refused() -> None:
    recipe = default_recipe()
    spec = recipe.spec("price_vs_sma_20")
    orphan = FeatureRecipe(version="x", timeframe="1d", features=[spec])
    with pytest.raises(ValueError, match="reads \\['sma_20'\\]"):
        build_features(random_candles(50), orphan)
    unknown = FeatureRecipe(version="x", timeframe="1d", features=[spec.model_copy(update={"op": "nope"})])
    with pytest.raises(ValueError, match="unknown op 'nope'"):
        build_features(random_candles(50), unknown)
    shuffled = random_candles(50).sample(fraction=1.0, shuffle=True, seed=1)
    with pytest.raises(ValueError, match="sorted"):
        build_features(shuffled, recipe)
    with pytest.raises(ValueError, match="unknown timeframe"):
        default_recipe("2d")


def test_ohlcv_is_never_overwritten() -> None:
    """The original library overwrote `close` in one expression; here every output is aliased to its spec name
    and the candle columns come back bit-identical, including through the CLI path's conform()."""
    candles = random_candles(300, 9, flat_prob=0.1, zero_volume_prob=0.05)
    frame = build_features(candles)
    assert frame.select(candles.columns).equals(candles)
    assert len(set(frame.columns)) == frame.width
    assert frame.select(pl.exclude(candles.columns)).dtypes == [pl.Float64] * (frame.width - 6)


@pytest.mark.parametrize("n", [0, 1, 2, 14, 15, 27, 28, 120])
def test_short_histories_are_null_not_errors(n: int) -> None:
    """A young coin shorter than a warm-up gets nulls for that feature, never an error or a partial seed."""
    recipe = default_recipe("1d")
    candles = random_candles(n) if n else empty_candles()
    market = equal_weight_market({"A": candles})
    frame = build_features(candles, recipe, CrossAssetInputs(btc=candles, eth=candles, market=market))
    assert frame.height == n
    for spec in recipe.features:
        assert frame[spec.name].null_count() == min(n, spec.warmup), spec.name
