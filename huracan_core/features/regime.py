"""Regime family: how trending, how volatile and what kind of market the coin is in.

- trend_strength: Kaufman's efficiency ratio over 20 bars, |close - close[t-20]| / sum(|close - close[t-1]|),
  in [0, 1]: 1 is a straight line, 0 a round trip. Scale-free, so comparable across coins.
- volatility_percentile: where volatility_20 ranks among its last 100 values (0 = lowest, 1 = highest),
  ties averaged; values are rounded to 10 significant digits first so that equal volatilities tie exactly.
- volatility_regime: 0 low / 1 medium / 2 high by that percentile's terciles (< 1/3, < 2/3, else).
- market_regime: one code per bar by the first rule that holds, in this order:
    3 ILLIQUID  volume_ratio < 0.25 (the bar traded under a quarter of its 20-bar average volume);
    2 PANIC     log_ret_5 < -2 * volatility_20 * sqrt(5) (a five-bar fall beyond two sigma);
    0 TREND     adx_14 >= 25 (Wilder's classic trend threshold);
    1 RANGE     otherwise.
  The code is for reports; the model sees the four one-hot columns regime_trend/range/panic/illiquid
  (a nominal code must not be read as ordered).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from huracan_core.features.ops import Add, Op, Params, Scratch, col, safe_div
from huracan_core.features.volatility import rolling_std_step

FAMILY = "regime"
REGIME_CODES = {"TREND": 0, "RANGE": 1, "PANIC": 2, "ILLIQUID": 3}


def _efficiency_ratio(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    x, n = col(i[0]), p["window"]
    return safe_div((x - x.shift(n)).abs(), x.diff().abs().rolling_sum(n))


def _volatility_percentile(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """Percentile of the rolling volatility of returns within its last `window` values.

    It reads the returns instead of volatility_20, which puts the rank one dependency level earlier, where
    it runs in parallel with the other indicators instead of alone; the rolling std itself is the shared
    helper that volatility_20 reads too (one kernel, the same bits).
    Values are rounded to `sig_figs` significant digits before ranking: when a window gains and loses the
    same return the volatility is mathematically unchanged but its last bit is rounding noise, and an
    unrounded rank would order such ties by that noise (a 0.5 / (n - 1) jump)."""
    n = p["window"]
    vol = rolling_std_step(i[0], p["vol_window"], p["ddof"], s)
    x = s.step(rounded=vol.round_sig_figs(p["sig_figs"]))["rounded"]
    rank = x.map_batches(lambda values: rolling_rank_average(values, n), return_dtype=pl.Float64)
    return (rank - 1.0) / (n - 1)


def rolling_rank_average(values: pl.Series, window: int) -> pl.Series:
    """`values.rolling_rank(window, method="average")`, the same numbers five times faster.

    Polars' kernel costs half a second on a million bars (a quarter of the whole recipe). The rank of the
    last value among the window's values, ties averaged, is #less + (#equal + 1) / 2; twice that is counted
    here as sum over the previous window - 1 values of [v < x] + [v <= x], plus 2 for x itself, by window - 1
    vectorised comparisons of the column with itself shifted, in cache-sized chunks, into uint8 counters
    (at most 2 * 99 for a 100-bar window). Integer counts halved are exact, so the result is bit for bit
    Polars'. The fast path covers the series of this library (a leading block of nulls, then numbers);
    anything else (nulls later, NaN, whose order Polars defines) goes to Polars' kernel."""
    height = values.len()
    lead = values.null_count()
    if not 2 <= window <= 128 or (lead and values.slice(0, lead).null_count() != lead):
        return values.rolling_rank(window, method="average")
    x = values.slice(lead).cast(pl.Float64).to_numpy()
    if np.isnan(x).any():
        return values.rolling_rank(window, method="average")
    out = np.full(height, np.nan)
    m = x.size
    if m >= window:
        counts = np.zeros(m, dtype=np.uint8)
        hit = np.empty(m, dtype=bool)
        chunk = 1 << 15
        for start in range(0, m, chunk):
            stop = min(m, start + chunk)
            for k in range(1, window):
                lo = max(start, k)  # first bar of the chunk with a bar k back
                if lo >= stop:
                    continue
                now, before, flag, acc = x[lo:stop], x[lo - k : stop - k], hit[lo:stop], counts[lo:stop]
                np.less(before, now, out=flag)
                acc += flag
                np.less_equal(before, now, out=flag)
                acc += flag
        out[lead + window - 1 :] = (counts[window - 1 :] + 2.0) / 2.0
    return pl.Series(values.name, out, dtype=pl.Float64, nan_to_null=True)


def _tercile(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    x = col(i[0])
    return pl.when(x < 1.0 / 3.0).then(0.0).when(x < 2.0 / 3.0).then(1.0).when(x.is_not_null()).then(2.0)


def _market_regime(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    volume_ratio, log_ret_5, volatility_20, adx = (col(n) for n in i)
    known = pl.all_horizontal(
        volume_ratio.is_not_null(), log_ret_5.is_not_null(), volatility_20.is_not_null(), adx.is_not_null()
    )
    panic_line = -p["panic_sigmas"] * volatility_20 * math.sqrt(p["panic_bars"])
    return (
        pl.when(~known)
        .then(None)
        .when(volume_ratio < p["illiquid_volume_ratio"])
        .then(float(REGIME_CODES["ILLIQUID"]))
        .when(log_ret_5 < panic_line)
        .then(float(REGIME_CODES["PANIC"]))
        .when(adx >= p["trend_adx"])
        .then(float(REGIME_CODES["TREND"]))
        .otherwise(float(REGIME_CODES["RANGE"]))
    )


def _equals(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    x = col(i[0])
    return pl.when(x.is_not_null()).then((x == p["value"]).cast(pl.Float64))


OPS: dict[str, Op] = {
    "efficiency_ratio": Op(_efficiency_ratio, lambda p, w: w + p["window"]),
    "volatility_percentile": Op(
        _volatility_percentile, lambda p, w: w + p["vol_window"] - 1 + p["window"] - 1
    ),
    "tercile": Op(_tercile, lambda p, w: w),
    "market_regime": Op(_market_regime, lambda p, w: w),
    "equals": Op(_equals, lambda p, w: w),
}


def add_specs(add: Add, timeframe: str) -> None:
    add(
        "trend_strength",
        "efficiency_ratio",
        ["close"],
        "|close - close[t-20]| / sum(|close - close[t-1]|, 20)",
        True,
        window=20,
    )
    add(
        "volatility_percentile",
        "volatility_percentile",
        ["log_ret_1"],
        "(rank of volatility_20 (10 significant digits) among its last 100 values - 1) / 99",
        True,
        vol_window=20,
        ddof=1,
        window=100,
        sig_figs=10,
    )
    add(
        "volatility_regime",
        "tercile",
        ["volatility_percentile"],
        "0 low (< 1/3), 1 medium (< 2/3), 2 high by volatility_percentile",
        True,
    )
    add(
        "market_regime",
        "market_regime",
        ["volume_ratio", "log_ret_5", "volatility_20", "adx_14"],
        "3 ILLIQUID if volume_ratio < 0.25, else 2 PANIC if log_ret_5 < -2 vol_20 sqrt(5), "
        "else 0 TREND if adx_14 >= 25, else 1 RANGE (code for reports)",
        False,
        illiquid_volume_ratio=0.25,
        panic_sigmas=2.0,
        panic_bars=5,
        trend_adx=25.0,
    )
    for label, code in REGIME_CODES.items():
        add(
            f"regime_{label.lower()}",
            "equals",
            ["market_regime"],
            f"1 if market_regime == {code} ({label}) else 0",
            True,
            value=float(code),
        )
