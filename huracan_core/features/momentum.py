"""Momentum family: RSI, MACD, slow stochastic, ADX and directional indicators, with TA-Lib's conventions.

Conventions (each one reproduced so TA-Lib parity holds to 1e-6 after the warm-up):
- RSI(n): Wilder averages of gains and losses, seeded with the plain mean of the first n changes (first value
  on bar n); RSI = 100 * avg_gain / (avg_gain + avg_loss), and 0 when both averages are 0 (TA-Lib's choice).
- MACD(12, 26, 9): both EMAs use alpha 2/(n+1). TA-Lib seeds the *fast* EMA on the slow EMA's seed bar
  (bar 25) with the mean of closes 14..25, not with the first 12 closes, so `macd` here is not
  ema_12 - ema_26 of the standalone EMA; the signal is an EMA(9) of the MACD line seeded with the mean of
  its first 9 values (first value on bar 33). TA-Lib hides the MACD line before bar 33; we publish it from
  bar 25 (its own warm-up), which changes nothing after bar 33.
- STOCH(14, 3, 3): fast %K = 100 * (close - lowest low 14) / (highest high 14 - lowest low 14), 0 when the
  range is 0; stoch_k (slow %K) = SMA3(fast %K); stoch_d = SMA3(stoch_k). TA-Lib publishes both from bar 17,
  we publish stoch_k from bar 15.
- ADX(14): +DM/-DM as in Wilder (the larger positive move wins, ties give 0), Wilder *sums* seeded with the
  sum of the first n-1 values, DI = 100 * sum(DM) / sum(TR) (0 when the TR sum is 0), DX = 100 * |+DI - -DI|
  / (+DI + -DI) (0 when both are 0), ADX = Wilder mean of DX seeded with the mean of the first n DX (bar 2n-1).
  Differences, both confined to perfectly flat prices: TA-Lib's zero tests (TA_IS_ZERO) allow a tiny
  tolerance where we test for an exact 0 (results are identical on the recorded data and on prices scaled
  down by 1e-16); when +DI + -DI is 0 after the seed TA-Lib keeps the previous ADX while we feed DX = 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from huracan_core.features.ops import Add, Op, Params, Scratch, col
from huracan_core.features.smoothing import ema, seeded_ewm, wilder

FAMILY = "momentum"


def _rsi(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    n = p["window"]
    change = s.step(change=col(i[0]).diff())["change"]
    moves = s.step(
        gain=pl.when(change > 0).then(change).when(change.is_not_null()).then(0.0),
        loss=pl.when(change < 0).then(-change).when(change.is_not_null()).then(0.0),
    )
    avg = s.step(gain=wilder(moves["gain"], n), loss=wilder(moves["loss"], n))
    total = s.step(total=avg["gain"] + avg["loss"])["total"]
    return pl.when(total != 0).then(100.0 * avg["gain"] / total).when(total.is_not_null()).then(0.0)


def _macd(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """MACD line with TA-Lib's seeding of the fast EMA (see the module docstring)."""
    close, fast, slow = col(i[0]), p["fast"], p["slow"]
    emas = s.step(fast=seeded_ewm(close, 2.0 / (fast + 1), fast, seed_at=slow), slow=ema(close, slow))
    return emas["fast"] - emas["slow"]


def _stochastic(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """Slow %K (SMA of fast %K); slow %D is an SMA of this column."""
    high, low, close = (col(n) for n in i)
    window = s.step(lowest=low.rolling_min(p["fastk"]), highest=high.rolling_max(p["fastk"]))
    span = s.step(span=window["highest"] - window["lowest"])["span"]
    fast_k = (
        pl.when(span != 0).then(100.0 * (close - window["lowest"]) / span).when(span.is_not_null()).then(0.0)
    )
    return s.step(fast_k=fast_k)["fast_k"].rolling_mean(p["slowk"])


def _directional_index(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """+DI or -DI; inputs high, low, true_range."""
    high, low, tr = (col(n) for n in i)
    n = p["window"]
    # the moves and the true-range sum are shared helpers: +DI and -DI compute them once
    up_key, down_key, tr_key = f"up__{i[0]}", f"down__{i[1]}", f"wilder_sum__{i[2]}__{n}"
    moves = s.shared_step(**{up_key: high.diff(), down_key: low.shift(1) - low})
    up, down = moves[up_key], moves[down_key]
    if p["part"] == "plus":
        dm = pl.when((up > down) & (up > 0)).then(up).when(up.is_not_null()).then(0.0)
    else:
        dm = pl.when((down > up) & (down > 0)).then(down).when(down.is_not_null()).then(0.0)
    dm = s.step(dm=dm)["dm"]
    # Wilder sums as means: seeded with the sum of the first n-1 values, divided by n (the n cancels in DI)
    sums = s.step(
        dm=seeded_ewm(dm, 1.0 / n, n - 1, seed_div=n),
        shared={tr_key: seeded_ewm(tr, 1.0 / n, n - 1, seed_div=n)},
    )
    dm_sum, tr_sum = sums["dm"], sums[tr_key]
    ready = tr_sum.shift(1).is_not_null()  # TA-Lib publishes DI from one update after the seed (bar n)
    return pl.when(ready & (tr_sum != 0)).then(100.0 * dm_sum / tr_sum).when(ready).then(0.0)


def _adx(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """Wilder mean of DX; inputs +DI, -DI."""
    plus_di, minus_di = col(i[0]), col(i[1])
    total = plus_di + minus_di
    dx = (
        pl.when(total != 0)
        .then(100.0 * (plus_di - minus_di).abs() / total)
        .when(total.is_not_null())
        .then(0.0)
    )
    return wilder(s.step(dx=dx)["dx"], p["window"])


def _scaled_difference(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return (col(i[0]) - col(i[1])) / p["scale"]


OPS: dict[str, Op] = {
    "rsi": Op(_rsi, lambda p, w: w + p["window"]),
    "macd": Op(_macd, lambda p, w: w + p["slow"] - 1),
    "stochastic": Op(_stochastic, lambda p, w: w + p["fastk"] - 1 + p["slowk"] - 1),
    "directional_index": Op(_directional_index, lambda p, w: w + p["window"] - 1),
    "adx": Op(_adx, lambda p, w: w + p["window"] - 1),
    "scaled_difference": Op(_scaled_difference, lambda p, w: w),
}


def add_specs(add: Add, timeframe: str) -> None:
    add(
        "rsi_14",
        "rsi",
        ["close"],
        "100 * wilder(gain, 14) / (wilder(gain, 14) + wilder(loss, 14))",
        True,
        window=14,
    )
    add(
        "macd",
        "macd",
        ["close"],
        "EMA12(close) - EMA26(close), TA-Lib seeding (price units)",
        False,
        fast=12,
        slow=26,
    )
    add(
        "macd_signal",
        "ema",
        ["macd"],
        "EMA9(macd), seeded with the mean of its first 9 values (price units)",
        False,
        window=9,
    )
    add("macd_histogram", "difference_of", ["macd", "macd_signal"], "macd - macd_signal (price units)", False)
    for name in ("macd", "macd_signal", "macd_histogram"):
        add(f"{name}_pct", "ratio", [name, "close"], f"{name} / close", True, minus=0.0)
    add(
        "stoch_k",
        "stochastic",
        ["high", "low", "close"],
        "SMA3(100 * (close - min(low,14)) / (max(high,14) - min(low,14)))",
        True,
        fastk=14,
        slowk=3,
    )
    add("stoch_d", "sma", ["stoch_k"], "SMA3(stoch_k)", True, window=3)
    for side, sign in (("plus", "+"), ("minus", "-")):
        add(
            f"{side}_di_14",
            "directional_index",
            ["high", "low", "true_range"],
            f"100 * wilder_sum({sign}DM, 14) / wilder_sum(true_range, 14)",
            True,
            window=14,
            part=side,
        )
    add(
        "adx_14",
        "adx",
        ["plus_di_14", "minus_di_14"],
        "wilder(100 * |+DI - -DI| / (+DI + -DI), 14)",
        True,
        window=14,
    )
    add(
        "di_spread_14",
        "scaled_difference",
        ["plus_di_14", "minus_di_14"],
        "(plus_di_14 - minus_di_14) / 100",
        True,
        scale=100.0,
    )
