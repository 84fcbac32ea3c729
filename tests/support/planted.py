"""Seeded synthetic coins for the honesty tests: pure random walks (no edge) and coins with a planted,
cost-beating AR(1) component in their hourly log returns.

Why AR(1): r_t = φ r_{t-1} + σ ε_t makes the next bar's return predictable from the last one by φ r_t,
a signal every reasonable feature set carries (ret_1, log_ret_1). With σ = 60 bps/h and φ = 0.3 the
predictable part has a std of ~19 bps, clearly above a ~10 bps round trip + 3 bps margin on many bars;
with φ = 0 the series is a fat-tailed random walk and no model should find an after-cost edge in it.
Bars are contiguous: open_t = close_{t-1}, so the label's next-open return equals the close-to-close one.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import polars as pl

from huracan_core.candles.frame import TIMESTAMP, to_ms

START = datetime(2025, 11, 1, tzinfo=UTC)


def _student(rng: np.random.Generator, df: float, n: int) -> np.ndarray:
    return rng.standard_t(df, size=n) / math.sqrt(df / (df - 2.0))


def planted_candles(
    seed: int,
    n_bars: int = 3600,
    phi: float = 0.3,
    sigma_bps: float = 60.0,
    bar_seconds: int = 3600,
    start: datetime = START,
    tail_df: float = 5.0,
) -> pl.DataFrame:
    """A canonical candle frame whose log returns follow r_t = φ r_{t-1} + σ ε_t (ε Student-t, unit variance)."""
    rng = np.random.default_rng([seed, 991])
    eps = _student(rng, tail_df, n_bars) * sigma_bps / 1e4
    r = np.empty(n_bars)
    prev = 0.0
    for i in range(n_bars):  # recursive by nature; 3600 steps is instant
        prev = phi * prev + eps[i]
        r[i] = prev
    start_price = float(10 ** rng.uniform(0, 3))
    close = start_price * np.exp(np.cumsum(r))
    open_ = np.concatenate([[start_price], close[:-1]])
    wick = np.abs(rng.normal(0.0, 0.5, size=(2, n_bars))) * sigma_bps / 1e4
    high = np.maximum(open_, close) * np.exp(wick[0])
    low = np.minimum(open_, close) * np.exp(-wick[1])
    quote_vol = 2e6 * np.exp(rng.normal(0.0, 0.4, n_bars)) * (1.0 + np.abs(r) / (sigma_bps / 1e4))
    ts = to_ms(start) + np.arange(n_bars, dtype=np.int64) * bar_seconds * 1000
    return pl.DataFrame(
        {
            "timestamp": ts,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": quote_vol / close,
        }
    ).with_columns(pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC").cast(TIMESTAMP))


def random_walk_candles(seed: int, n_bars: int = 3600, sigma_bps: float = 60.0, **kw: object) -> pl.DataFrame:
    """No edge at all: φ = 0."""
    return planted_candles(seed, n_bars=n_bars, phi=0.0, sigma_bps=sigma_bps, **kw)  # type: ignore[arg-type]
