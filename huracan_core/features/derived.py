"""Higher-order features: generic ratios, lags, rolling statistics and interactions of other features.

Interactions are products of centred/scaled features so that each factor is O(1): e.g. rsi_x_volume_ratio
= ((rsi_14 - 50) / 50) * volume_ratio is large only when momentum is extreme *and* volume confirms it.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from huracan_core.features.ops import Add, Op, Params, Scratch, col, safe_div

FAMILY = "derived"
ROLLING_STATS = ("mean", "min", "max", "std")


def _ratio(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return safe_div(col(i[0]), col(i[1])) - p["minus"]


def _difference_of(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return col(i[0]) - col(i[1])


def _lag(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return col(i[0]).shift(p["periods"])


def _rolling_stat(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    x, n, stat = col(i[0]), p["window"], p["stat"]
    if stat not in ROLLING_STATS:
        raise ValueError(f"rolling stat {stat!r} is not one of {ROLLING_STATS}")
    return getattr(x, f"rolling_{stat}")(n)


def _interaction(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    a = (col(i[0]) - p["a_center"]) / p["a_scale"]
    b = (col(i[1]) - p["b_center"]) / p["b_scale"]
    return a * b


OPS: dict[str, Op] = {
    "ratio": Op(_ratio, lambda p, w: w),
    "difference_of": Op(_difference_of, lambda p, w: w),
    "lag": Op(_lag, lambda p, w: w + p["periods"]),
    "rolling_stat": Op(_rolling_stat, lambda p, w: w + p["window"] - 1),
    "interaction": Op(_interaction, lambda p, w: w),
}


def add_specs(add: Add, timeframe: str) -> None:
    for k in (1, 2, 3, 5):
        add(f"ret_1_lag_{k}", "lag", ["ret_1"], f"ret_1[t-{k}]", True, periods=k)
    add("rsi_14_lag_1", "lag", ["rsi_14"], "rsi_14[t-1]", True, periods=1)
    add("volume_ratio_lag_1", "lag", ["volume_ratio"], "volume_ratio[t-1]", True, periods=1)
    for stat in ROLLING_STATS:
        add(
            f"log_ret_1_{stat}_10",
            "rolling_stat",
            ["log_ret_1"],
            f"rolling {stat} of log_ret_1 over 10 bars",
            True,
            window=10,
            stat=stat,
        )
    add("high_max_20", "rolling_stat", ["high"], "max(high, 20) (price units)", False, window=20, stat="max")
    add("low_min_20", "rolling_stat", ["low"], "min(low, 20) (price units)", False, window=20, stat="min")
    add(
        "close_pos_20",
        "position",
        ["close", "low_min_20", "high_max_20"],
        "(close - low_min_20) / (high_max_20 - low_min_20)",
        True,
    )
    add("close_vs_high_20", "ratio", ["close", "high_max_20"], "close / high_max_20 - 1", True, minus=1.0)
    add("close_vs_low_20", "ratio", ["close", "low_min_20"], "close / low_min_20 - 1", True, minus=1.0)
    add(
        "rsi_x_volume_ratio",
        "interaction",
        ["rsi_14", "volume_ratio"],
        "((rsi_14 - 50) / 50) * volume_ratio",
        True,
        a_center=50.0,
        a_scale=50.0,
        b_center=0.0,
        b_scale=1.0,
    )
    add(
        "ret_1_x_volume_ratio",
        "interaction",
        ["ret_1", "volume_ratio"],
        "ret_1 * volume_ratio",
        True,
        a_center=0.0,
        a_scale=1.0,
        b_center=0.0,
        b_scale=1.0,
    )
    add(
        "adx_x_di_spread",
        "interaction",
        ["adx_14", "di_spread_14"],
        "(adx_14 / 100) * di_spread_14",
        True,
        a_center=0.0,
        a_scale=100.0,
        b_center=0.0,
        b_scale=1.0,
    )
    add(
        "trend_x_ret_20",
        "interaction",
        ["trend_strength", "ret_20"],
        "trend_strength * ret_20",
        True,
        a_center=0.0,
        a_scale=1.0,
        b_center=0.0,
        b_scale=1.0,
    )
