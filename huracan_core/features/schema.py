"""Validation of a feature frame with a pandera (polars backend) schema built from the recipe.

Why: a feature that silently turns into inf, NaN or an impossible value (RSI 140, a correlation of 3) trains a
model on garbage. Every recipe column must be Float64 and finite where present (null is allowed: warm-up and
missing references); columns with a known range are checked against it (with a 1e-9 tolerance for rounding).
The error names every offending column, the check and a few bad values.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from huracan_core.candles.frame import CANDLE_SCHEMA
from huracan_core.features.recipe import FeatureRecipe, FeatureSpec

TOLERANCE = 1e-9

# known ranges by op (then by feature name, which wins)
OP_RANGES: dict[str, tuple[float | None, float | None]] = {
    "rsi": (0.0, 100.0),
    "stochastic": (0.0, 100.0),
    "directional_index": (0.0, 100.0),
    "adx": (0.0, 100.0),
    "efficiency_ratio": (0.0, 1.0),
    "volatility_percentile": (0.0, 1.0),
    "tercile": (0.0, 2.0),
    "market_regime": (0.0, 3.0),
    "equals": (0.0, 1.0),
    "hour_of_day": (0.0, 23.0),
    "day_of_week": (1.0, 7.0),
    "is_weekend": (0.0, 1.0),
    "rolling_corr": (-1.0, 1.0),
    "rolling_std": (0.0, None),
    "parkinson": (0.0, None),
    "true_range": (0.0, None),
    "band_width": (0.0, None),
    "scaled_difference": (-1.0, 1.0),
}
NAME_RANGES: dict[str, tuple[float | None, float | None]] = {
    "close_pos_20": (0.0, 1.0),
    "stoch_d": (0.0, 100.0),
    "obv_flow_20": (-1.0, 1.0),
    "high_low_ratio": (1.0, None),
    "atr_14": (0.0, None),
    "atr_14_pct": (0.0, None),
    "volume_ratio": (0.0, None),
    "volume_ratio_5_20": (0.0, None),
    "close_vs_high_20": (None, 0.0),
    "close_vs_low_20": (0.0, None),
    "trend_strength": (0.0, 1.0),
}


class FeatureValidationError(ValueError):
    """The feature frame breaks the schema; the message names each column at fault."""


def feature_range(spec: FeatureSpec) -> tuple[float | None, float | None]:
    return NAME_RANGES.get(spec.name, OP_RANGES.get(spec.op, (None, None)))


def _finite(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_finite())


def feature_schema(recipe: FeatureRecipe) -> pa.DataFrameSchema:
    columns: dict[str, pa.Column] = {
        name: pa.Column(dtype, nullable=False) for name, dtype in CANDLE_SCHEMA.items()
    }
    for spec in recipe.features:
        checks = [pa.Check(_finite, name="finite", error="must be finite (no inf or NaN)")]
        lo, hi = feature_range(spec)
        if lo is not None:
            checks.append(pa.Check.ge(lo - TOLERANCE))
        if hi is not None:
            checks.append(pa.Check.le(hi + TOLERANCE))
        columns[spec.name] = pa.Column(pl.Float64, checks=checks, nullable=True)
    return pa.DataFrameSchema(columns, strict=False, name=f"features {recipe.version} {recipe.timeframe}")


def validate_features(frame: pl.DataFrame, recipe: FeatureRecipe) -> pl.DataFrame:
    """Return `frame` unchanged when it satisfies the schema, else raise FeatureValidationError."""
    try:
        feature_schema(recipe).validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        lines = []
        for (column, check), group in cases.group_by(["column", "check"], maintain_order=True):
            if check == "column_in_dataframe":
                lines.extend(f"column {name!r} is missing" for name in group["failure_case"].to_list())
                continue
            sample = ", ".join(str(v) for v in group["failure_case"].head(3).to_list())
            lines.append(f"column {column!r} fails {check} ({group.height} rows, e.g. {sample})")
        raise FeatureValidationError("feature frame is invalid:\n  " + "\n  ".join(lines)) from exc
    return frame
