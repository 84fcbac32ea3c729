"""validate_features without pandera: the same rules and, word for word, the messages the pandera schema
gave (recorded from it before the switch), plus the import that the `huracan features compute` path no
longer pays."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from huracan_core.features import FeatureValidationError, build_features, default_recipe, validate_features
from tests.core.features.helpers import random_candles

RECIPE = default_recipe("1d")
HEAD = "feature frame is invalid:\n  "


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return build_features(random_candles(300, 4, flat_prob=0.05, zero_volume_prob=0.02))


def corrupt(frame: pl.DataFrame, column: str, value: object, row: int = 250) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )


def _null(frame: pl.DataFrame, column: str, row: int = 5) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(None).otherwise(pl.col(column)).alias(column)
    )


CASES = {
    "inf": (
        lambda f: corrupt(f, "volatility_20", float("inf")),
        ["column 'volatility_20' fails must be finite (no inf or NaN) (1 rows, e.g. inf)"],
    ),
    "nan_and_out_of_range": (
        lambda f: corrupt(corrupt(f, "rsi_14", float("nan")), "rsi_14", 120.0, 260),
        [
            "column 'rsi_14' fails must be finite (no inf or NaN) (1 rows, e.g. NaN)",
            "column 'rsi_14' fails less_than_or_equal_to(100.000000001) (2 rows, e.g. NaN, 120.0)",
        ],
    ),
    "missing_range_dtype": (
        lambda f: (
            corrupt(corrupt(corrupt(f, "stoch_k", -0.1, 100), "stoch_k", -0.2, 101), "stoch_k", 101.0, 102)
            .drop("adx_14")
            .with_columns(pl.col("trend_strength").cast(pl.Float32))
        ),
        [
            "column 'adx_14' is missing",
            "column 'stoch_k' fails greater_than_or_equal_to(-1e-09) (2 rows, e.g. -0.1, -0.2)",
            "column 'stoch_k' fails less_than_or_equal_to(100.000000001) (1 rows, e.g. 101.0)",
            "column 'trend_strength' fails dtype('Float64') (1 rows, e.g. Float32)",
        ],
    ),
    "candle_null_and_dtype": (
        lambda f: _null(f, "close").with_columns(pl.col("volume").cast(pl.Int64)),
        [
            "column 'close' fails not_nullable (1 rows, e.g. None)",
            "column 'volume' fails dtype('Float64') (1 rows, e.g. Int64)",
        ],
    ),
    "missing_candle": (lambda f: f.drop("open"), ["column 'open' is missing"]),
    "minus_inf_below_range": (
        lambda f: corrupt(f, "atr_14", float("-inf")),
        [
            "column 'atr_14' fails must be finite (no inf or NaN) (1 rows, e.g. -inf)",
            "column 'atr_14' fails greater_than_or_equal_to(-1e-09) (1 rows, e.g. -inf)",
        ],
    ),
    "timestamp_dtype": (
        lambda f: f.with_columns(pl.col("timestamp").dt.replace_time_zone(None)),
        [
            "column 'timestamp' fails dtype('Datetime(time_unit='ms', time_zone='UTC')') "
            "(1 rows, e.g. Datetime(time_unit='ms', time_zone=None))"
        ],
    ),
    "float32_inf": (
        lambda f: corrupt(f, "rsi_14", float("inf")).with_columns(pl.col("rsi_14").cast(pl.Float32)),
        [
            "column 'rsi_14' fails dtype('Float64') (1 rows, e.g. Float32)",
            "column 'rsi_14' fails must be finite (no inf or NaN) (1 rows, e.g. inf)",
            "column 'rsi_14' fails less_than_or_equal_to(100.000000001) (1 rows, e.g. inf)",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_messages_are_pandera_s_word_for_word(frame: pl.DataFrame, case: str) -> None:
    make, lines = CASES[case]
    with pytest.raises(FeatureValidationError) as info:
        validate_features(make(frame), RECIPE)
    assert str(info.value) == HEAD + "\n  ".join(lines)


def test_nulls_in_a_feature_column_are_allowed_but_not_in_candles(frame: pl.DataFrame) -> None:
    assert validate_features(_null(frame, "rsi_14", 250), RECIPE) is not None  # warm-up / missing reference
    with pytest.raises(FeatureValidationError, match="'high' fails not_nullable"):
        validate_features(_null(frame, "high"), RECIPE)


def test_a_text_column_is_named_by_its_dtype_only(frame: pl.DataFrame) -> None:
    with pytest.raises(FeatureValidationError) as info:
        validate_features(frame.with_columns(pl.col("rsi_14").cast(pl.String)), RECIPE)
    assert str(info.value) == HEAD + "column 'rsi_14' fails dtype('Float64') (1 rows, e.g. String)"


def test_validation_imports_neither_pandera_nor_pandas() -> None:
    code = (
        "import sys; import huracan_core.features.schema, huracan_core.candles.validation; "
        "print(sorted(m for m in ('pandera', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "[]"
