"""validate_features: no inf/NaN, known ranges, and an error that names the column."""

from __future__ import annotations

import polars as pl
import pytest

from huracan_core.features import FeatureValidationError, build_features, default_recipe, validate_features
from tests.core.features.helpers import random_candles

RECIPE = default_recipe("1d")


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return build_features(random_candles(300, 4, flat_prob=0.05, zero_volume_prob=0.02))


def corrupt(frame: pl.DataFrame, column: str, value: float, row: int = 250) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )


def test_a_valid_frame_passes_unchanged(frame: pl.DataFrame) -> None:
    assert validate_features(frame, RECIPE) is frame


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("volatility_20", float("inf"), "finite"),
        ("ret_1", float("-inf"), "finite"),
        ("macd_pct", float("nan"), "finite"),
        ("rsi_14", 100.5, "less_than_or_equal_to"),
        ("stoch_k", -0.1, "greater_than_or_equal_to"),
        ("trend_strength", 1.2, "less_than_or_equal_to"),
        ("btc_correlation", 1.5, "less_than_or_equal_to"),
        ("regime_panic", 2.0, "less_than_or_equal_to"),
        ("adx_14", -3.0, "greater_than_or_equal_to"),
    ],
)
def test_bad_values_are_named(frame: pl.DataFrame, column: str, value: float, check: str) -> None:
    with pytest.raises(FeatureValidationError) as info:
        validate_features(corrupt(frame, column, value), RECIPE)
    message = str(info.value)
    assert f"column '{column}'" in message and check in message
    assert message.count("column '") == 1  # only the corrupted column is blamed


def test_wrong_dtype_and_missing_column(frame: pl.DataFrame) -> None:
    with pytest.raises(FeatureValidationError, match="'rsi_14'"):
        validate_features(frame.with_columns(pl.col("rsi_14").cast(pl.Float32)), RECIPE)
    with pytest.raises(FeatureValidationError, match="'adx_14'"):
        validate_features(frame.drop("adx_14"), RECIPE)
