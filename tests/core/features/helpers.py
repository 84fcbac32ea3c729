"""Candle generators and real-data loaders shared by the feature tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from huracan_core.candles.frame import conform

DAY_MS = 86_400_000
START_MS = 1_600_000_000_000 - (1_600_000_000_000 % DAY_MS)


def random_candles(
    n: int,
    seed: int = 0,
    *,
    vol: float = 0.02,
    flat_prob: float = 0.0,
    zero_volume_prob: float = 0.0,
    step_ms: int = DAY_MS,
    start_ms: int = START_MS,
) -> pl.DataFrame:
    """A seeded random walk with consistent OHLC (low <= open, close <= high).

    flat_prob: chance that a bar repeats the previous close with high == low (zero range, zero change), to
    exercise the 0/0 branches (RSI, stochastic, DI). zero_volume_prob: chance of a bar with no volume.
    """
    rng = np.random.default_rng(seed)
    shocks = rng.standard_t(4, n) * vol / np.sqrt(2.0)
    flat = rng.random(n) < flat_prob
    shocks[flat] = 0.0
    close = 100.0 * np.exp(np.cumsum(shocks))
    open_ = np.r_[close[0] * np.exp(-shocks[0] / 2), close[:-1]]
    high = np.maximum(open_, close) * (1 + np.where(flat, 0.0, rng.uniform(0, vol / 2, n)))
    low = np.minimum(open_, close) * (1 - np.where(flat, 0.0, rng.uniform(0, vol / 2, n)))
    open_ = np.where(flat, close, open_)
    volume = rng.lognormal(10, 0.7, n)
    volume[rng.random(n) < zero_volume_prob] = 0.0
    return conform(
        pl.DataFrame(
            {
                "timestamp": start_ms + step_ms * np.arange(n, dtype=np.int64),
                "open": open_,
                "high": high,
                "low": low,
                "close": close,
                "volume": volume,
            }
        )
    )


def read_real(shared_data: Path, timeframe: str, base: str) -> pl.DataFrame:
    return conform(pl.read_csv(shared_data / "binance" / timeframe / f"{base}-USDT.csv"))
