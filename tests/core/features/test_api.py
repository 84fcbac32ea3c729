"""Public API smoke: recipe, build, drop_warmup, recipe files and the mismatch guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from huracan_core.candles.frame import CANDLE_COLUMNS
from huracan_core.features import (
    FeatureRecipe,
    RecipeMismatchError,
    build_features,
    check_recipe,
    default_recipe,
    drop_warmup,
    read_recipe,
    write_recipe,
)
from tests.core.features.helpers import random_candles


def test_default_recipe_has_at_least_50_model_columns() -> None:
    recipe = default_recipe("1d")
    assert len(recipe.model_columns) >= 50
    assert len(set(recipe.names)) == len(recipe.names)
    assert "hour_of_day" not in recipe.model_columns  # constant on daily bars
    assert "hour_of_day" in default_recipe("1h").model_columns


def test_build_keeps_every_row_and_ohlcv_unchanged() -> None:
    candles = random_candles(300)
    frame = build_features(candles)
    assert frame.height == candles.height
    assert frame.select(CANDLE_COLUMNS).equals(candles)
    recipe = default_recipe()
    assert frame.columns == [*CANDLE_COLUMNS, *recipe.names]
    # warm-up rows are null, not filled
    assert frame["sma_50"][:49].null_count() == 49
    assert frame["sma_50"][49] is not None


def test_drop_warmup_ignores_absent_references() -> None:
    recipe = default_recipe()
    frame = build_features(random_candles(400), recipe)
    kept = drop_warmup(frame, recipe)
    assert kept.height == 400 - max(
        s.warmup for s in recipe.features if s.model_input and s.family != "cross_asset"
    )
    non_cross = [c for c in recipe.model_columns if c not in recipe.columns_of("cross_asset")]
    assert kept.select(non_cross).null_count().sum_horizontal().item() == 0


def test_recipe_round_trip_and_hash_guard(tmp_path: Path) -> None:
    recipe = default_recipe("1h")
    path = write_recipe(tmp_path / "features.json", recipe)
    again = read_recipe(path)
    assert again == recipe and again.content_hash == recipe.content_hash
    assert FeatureRecipe.from_json(recipe.to_json()).content_hash == recipe.content_hash
    check_recipe(recipe.content_hash, again)
    with pytest.raises(RecipeMismatchError, match="trained on recipe"):
        check_recipe(default_recipe("1d").content_hash, recipe)
