"""Volatility family: realised volatility of log returns, Wilder ATR, Bollinger bands, Parkinson range
volatility. ATR and the bands are price-level (reports); the model sees atr_14_pct, bb_width, price_vs_bb.

Conventions (for TA-Lib parity):
- True range is undefined on the first bar (no previous close), as in TA-Lib's TRANGE; ATR's first value is
  the mean of the first n true ranges (bar n), then Wilder's recursion.
- Bollinger uses the *population* standard deviation (ddof=0) of the last n closes around their SMA.
- Realised volatility (volatility_n) is the *sample* std (ddof=1) of 1-bar log returns, not annualised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from huracan_core.features.ops import Add, Op, Params, Scratch, col, safe_div
from huracan_core.features.smoothing import wilder

FAMILY = "volatility"


def rolling_std_step(name: str, n: int, ddof: int, s: Scratch) -> pl.Expr:
    """Rolling std as a shared helper (`std<ddof>__<input>__<n>`): volatility_20 and the volatility
    percentile (same level) compute one kernel, the costliest plain rolling kernel of the library."""
    key = f"std{ddof}__{name}__{n}"
    return s.shared_step(**{key: col(name).rolling_std(n, ddof=ddof)})[key]


def _rolling_std(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return rolling_std_step(i[0], p["window"], p["ddof"], s)


def true_range(high: pl.Expr, low: pl.Expr, close: pl.Expr) -> pl.Expr:
    prev = close.shift(1)
    return pl.when(prev.is_not_null()).then(pl.max_horizontal(high, prev) - pl.min_horizontal(low, prev))


def _true_range(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return true_range(col(i[0]), col(i[1]), col(i[2]))


def _wilder(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return wilder(col(i[0]), p["window"])


def _bollinger(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """One band; the window's mean and population std are shared helpers, computed once for the three."""
    name, n = i[0], p["window"]
    x = col(name)
    m = s.shared_step(
        **{f"mean__{name}__{n}": x.rolling_mean(n), f"std0__{name}__{n}": x.rolling_std(n, ddof=0)}
    )
    middle, std = m[f"mean__{name}__{n}"], m[f"std0__{name}__{n}"]
    if p["band"] == "middle":
        return middle
    return middle + (1.0 if p["band"] == "upper" else -1.0) * p["k"] * std


def _band_width(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    upper, lower, middle = (col(n) for n in i)
    return safe_div(upper - lower, middle)


def _position(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """(x - lo) / (hi - lo): where x sits in a band; null when the band has zero width."""
    x, lo, hi = (col(n) for n in i)
    return safe_div(x - lo, hi - lo)


def _parkinson(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    high, low = col(i[0]), col(i[1])
    return (safe_div(high, low).log().pow(2).rolling_mean(p["window"]) / (4.0 * math.log(2.0))).sqrt()


OPS: dict[str, Op] = {
    "rolling_std": Op(_rolling_std, lambda p, w: w + p["window"] - 1),
    "true_range": Op(_true_range, lambda p, w: w + 1),
    "wilder": Op(_wilder, lambda p, w: w + p["window"] - 1),
    "bollinger": Op(_bollinger, lambda p, w: w + p["window"] - 1),
    "band_width": Op(_band_width, lambda p, w: w),
    "position": Op(_position, lambda p, w: w),
    "parkinson": Op(_parkinson, lambda p, w: w + p["window"] - 1),
}


def add_specs(add: Add, timeframe: str) -> None:
    for n in (5, 20):
        add(
            f"volatility_{n}",
            "rolling_std",
            ["log_ret_1"],
            f"sample std of log_ret_1 over {n} bars",
            True,
            window=n,
            ddof=1,
        )
    add(
        "volatility_ratio_5_20",
        "ratio",
        ["volatility_5", "volatility_20"],
        "volatility_5 / volatility_20",
        True,
        minus=0.0,
    )
    add(
        "true_range",
        "true_range",
        ["high", "low", "close"],
        "max(high, close[t-1]) - min(low, close[t-1]) (price units)",
        False,
    )
    add(
        "atr_14",
        "wilder",
        ["true_range"],
        "Wilder mean of true_range, n=14, seeded with SMA (price units)",
        False,
        window=14,
    )
    add("atr_14_pct", "ratio", ["atr_14", "close"], "atr_14 / close", True, minus=0.0)
    for band in ("upper", "middle", "lower"):
        sign = {"upper": "+ 2", "middle": "+ 0", "lower": "- 2"}[band]
        add(
            f"bb_{band}",
            "bollinger",
            ["close"],
            f"sma(close, 20) {sign} * population std(close, 20) (price units)",
            False,
            window=20,
            k=2.0,
            band=band,
        )
    add(
        "bb_width",
        "band_width",
        ["bb_upper", "bb_lower", "bb_middle"],
        "(bb_upper - bb_lower) / bb_middle",
        True,
    )
    add(
        "price_vs_bb",
        "position",
        ["close", "bb_lower", "bb_upper"],
        "(close - bb_lower) / (bb_upper - bb_lower)",
        True,
    )
    add(
        "parkinson_vol_20",
        "parkinson",
        ["high", "low"],
        "sqrt(mean(ln(high/low)^2, 20) / (4 ln 2))",
        True,
        window=20,
    )
