"""Returns family: simple and log returns, bar shape ratios. All relative, hence stationary."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from huracan_core.features.ops import Add, Op, Params, Scratch, col, safe_div

FAMILY = "returns"


def _pct_change(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    x = col(i[0])
    return safe_div(x, x.shift(p["periods"])) - 1.0


def _log_return(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    x = col(i[0])
    return safe_div(x, x.shift(p["periods"])).log()


def _difference(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    x = col(i[0])
    return x - x.shift(p["periods"])


OPS: dict[str, Op] = {
    "pct_change": Op(_pct_change, lambda p, w: w + p["periods"]),
    "log_return": Op(_log_return, lambda p, w: w + p["periods"]),
    "difference": Op(_difference, lambda p, w: w + p["periods"]),
}


def add_specs(add: Add, timeframe: str) -> None:
    for k in (1, 5, 20):
        add(f"ret_{k}", "pct_change", ["close"], f"close / close[t-{k}] - 1", True, periods=k)
    for k in (1, 5):
        add(f"log_ret_{k}", "log_return", ["close"], f"ln(close / close[t-{k}])", True, periods=k)
    add(
        "price_change",
        "difference",
        ["close"],
        "close - close[t-1] (price units, report only)",
        False,
        periods=1,
    )
    add("high_low_ratio", "ratio", ["high", "low"], "high / low", True, minus=0.0)
    add("close_open_ratio", "ratio", ["close", "open"], "close / open", True, minus=0.0)
