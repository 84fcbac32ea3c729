"""Recursive smoothers (EMA, Wilder) with TA-Lib's seeding, as Polars expressions.

Why seeding matters for look-ahead: a recursion y_t = (1 - a) * y_{t-1} + a * x_t depends on where it
starts. We start it like TA-Lib: the first output is the simple mean of the first `seed_len` valid inputs,
placed on the bar where that window completes; earlier bars are null. The value at bar t then depends
only on bars <= t and on the fixed start of the series, so computing on any prefix of the frame gives
the same value at t (the point-in-time property test checks this for every feature).

Polars' `ewm_mean(adjust=False)` skips leading nulls and seeds with the first non-null value; we feed it
nulls up to the seed bar, the seed (SMA) on that bar and the raw inputs afterwards, which reproduces the
TA-Lib recursion in one vectorised kernel. The series is assembled by concatenation (nulls, seed, tail)
rather than by a when/then over a running count: three times faster, which matters with a dozen
recursions per coin.
"""

from __future__ import annotations

import polars as pl


def seeded_ewm(
    x: pl.Expr,
    alpha: float,
    seed_len: int,
    *,
    seed_at: int | None = None,
    seed_div: float | None = None,
) -> pl.Expr:
    """Exponential recursion with weight `alpha`, seeded with sum(last `seed_len` valid x) / `seed_div`.

    seed_at: the seed is placed on the bar holding the `seed_at`-th valid input (default `seed_len`).
      TA-Lib's MACD places the fast EMA's seed on the slow EMA's seed bar (seed_at = slow period), so its
      seed is the mean of the `fast` inputs just before that bar, not of the first `fast` inputs.
    seed_div: divisor of the seed sum (default `seed_len`). TA-Lib's ADX/DI seed their Wilder *sums*
      with the sum of the first n-1 values; as a mean recursion that is sum / n.
    Inputs must be null only as a leading block (true of every series in this library); a series shorter
    than the seed bar is all null.
    """
    at = seed_len if seed_at is None else seed_at
    div = float(seed_len if seed_div is None else seed_div)
    if at < seed_len:
        raise ValueError(
            f"seed_at ({at}) must be >= seed_len ({seed_len}): the seed window ends on the seed bar"
        )
    first_valid = x.is_not_null().arg_max().cast(pl.Int64).fill_null(0)  # null only for an empty series
    seed_bar = first_valid + (at - 1)
    window = x.slice(seed_bar - (seed_len - 1), seed_len)
    seed = pl.when(window.count() == seed_len).then(window.sum() / div)  # null if the history is too short
    started = (
        pl.repeat(None, seed_bar, dtype=pl.Float64)
        .append(seed.cast(pl.Float64))
        .append(x.slice(seed_bar + 1).cast(pl.Float64))
        .head(pl.len())
    )
    return started.ewm_mean(alpha=alpha, adjust=False)


def ema(x: pl.Expr, period: int) -> pl.Expr:
    """TA-Lib EMA: alpha = 2 / (period + 1), seeded with the SMA of the first `period` values."""
    return seeded_ewm(x, 2.0 / (period + 1), period)


def wilder(x: pl.Expr, period: int) -> pl.Expr:
    """Wilder's smoothing (RSI, ATR, ADX): alpha = 1 / period, seeded with the SMA of the first `period`."""
    return seeded_ewm(x, 1.0 / period, period)
