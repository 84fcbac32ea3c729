"""Trend family: simple and exponential moving averages (TA-Lib conventions) and their stationary forms.

SMA/EMA are in price units, so they are kept for reports and fed to the model only relative to close
(`sma_20_rel`-style: ma / close - 1) or to each other (crossovers).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from huracan_core.features.ops import Add, Op, Params, Scratch, col
from huracan_core.features.smoothing import ema

FAMILY = "trend"


def _sma(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """A shared helper (`mean__<input>__<n>`): the Bollinger middle band reads the same rolling mean."""
    name, n = i[0], p["window"]
    return s.shared_step(**{f"mean__{name}__{n}": col(name).rolling_mean(n)})[f"mean__{name}__{n}"]


def _ema(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """TA-Lib EMA: alpha 2/(n+1), first value = SMA of the first n inputs (bar n-1), not the first input."""
    return ema(col(i[0]), p["window"])


OPS: dict[str, Op] = {
    "sma": Op(_sma, lambda p, w: w + p["window"] - 1),
    "ema": Op(_ema, lambda p, w: w + p["window"] - 1),
}


def add_specs(add: Add, timeframe: str) -> None:
    for n in (5, 10, 20, 50):
        add(f"sma_{n}", "sma", ["close"], f"mean(close, last {n} bars) (price units)", False, window=n)
    for n in (5, 10, 20):
        add(
            f"ema_{n}",
            "ema",
            ["close"],
            f"EMA(close, alpha=2/{n + 1}), seeded with SMA of first {n}",
            False,
            window=n,
        )
    for ma in ("sma_5", "sma_10", "sma_50", "ema_5", "ema_10", "ema_20"):
        add(f"{ma}_rel", "ratio", [ma, "close"], f"{ma} / close - 1", True, minus=1.0)
    add("price_vs_sma_20", "ratio", ["close", "sma_20"], "close / sma_20 - 1", True, minus=1.0)
    add("sma_5_vs_sma_20", "ratio", ["sma_5", "sma_20"], "sma_5 / sma_20 - 1", True, minus=1.0)
    add("sma_20_vs_sma_50", "ratio", ["sma_20", "sma_50"], "sma_20 / sma_50 - 1", True, minus=1.0)
