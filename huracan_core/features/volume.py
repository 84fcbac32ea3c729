"""Volume family: volume averages and ratios, on-balance volume and price-volume trend.

OBV and PVT are running sums (their level depends on where the history starts), so they are kept for reports
and the model sees their *flow* over a window: the change of the running sum over n bars divided by the
volume traded in those n bars (OBV flow lies in [-1, 1]; PVT flow is the volume-weighted mean return).
Conventions: OBV starts at the first bar's volume (TA-Lib), PVT starts at 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from huracan_core.features.ops import Add, Op, Params, Scratch, col, safe_div

FAMILY = "volume"


def on_balance_volume(close: pl.Expr, volume: pl.Expr) -> pl.Expr:
    step = close.diff().sign() * volume
    return pl.when(step.is_null()).then(volume).otherwise(step).cum_sum()


def price_volume_trend(close: pl.Expr, volume: pl.Expr) -> pl.Expr:
    step = safe_div(close.diff(), close.shift(1)) * volume
    first = pl.int_range(pl.len()) == 0
    return pl.when(first).then(0.0).otherwise(step).cum_sum()


def _obv(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return on_balance_volume(col(i[0]), col(i[1]))


def _pvt(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return price_volume_trend(col(i[0]), col(i[1]))


def _flow(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    running, n = col(i[0]), p["window"]
    key = f"sum__{i[1]}__{n}"  # shared: obv_flow and pvt_flow divide by the same traded volume
    traded = s.shared_step(**{key: col(i[1]).rolling_sum(n)})[key]
    return safe_div(running - running.shift(n), traded)


def _log_zscore(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    x = col(i[0]).log1p()
    n = p["window"]
    return safe_div(x - x.rolling_mean(n), x.rolling_std(n))


OPS: dict[str, Op] = {
    "obv": Op(_obv, lambda p, w: w),
    "pvt": Op(_pvt, lambda p, w: w),
    "flow": Op(_flow, lambda p, w: w + p["window"]),
    "log_zscore": Op(_log_zscore, lambda p, w: w + p["window"] - 1),
}


def add_specs(add: Add, timeframe: str) -> None:
    for n in (5, 20):
        add(f"volume_sma_{n}", "sma", ["volume"], f"mean(volume, {n}) (volume units)", False, window=n)
    add("volume_ratio", "ratio", ["volume", "volume_sma_20"], "volume / volume_sma_20", True, minus=0.0)
    add(
        "volume_ratio_5_20",
        "ratio",
        ["volume_sma_5", "volume_sma_20"],
        "volume_sma_5 / volume_sma_20",
        True,
        minus=0.0,
    )
    add(
        "on_balance_volume",
        "obv",
        ["close", "volume"],
        "cumsum(sign(close - close[t-1]) * volume), starting at volume[0] (volume units)",
        False,
    )
    add(
        "price_volume_trend",
        "pvt",
        ["close", "volume"],
        "cumsum(ret_1 * volume), starting at 0 (volume units)",
        False,
    )
    add(
        "obv_flow_20",
        "flow",
        ["on_balance_volume", "volume"],
        "(obv - obv[t-20]) / sum(volume, 20)",
        True,
        window=20,
    )
    add(
        "pvt_flow_20",
        "flow",
        ["price_volume_trend", "volume"],
        "(pvt - pvt[t-20]) / sum(volume, 20)",
        True,
        window=20,
    )
    add("volume_z_20", "log_zscore", ["volume"], "z-score of ln(1 + volume) over 20 bars", True, window=20)
