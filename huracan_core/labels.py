"""The training label (DESIGN §3) and the per-bar returns the backtest earns, both without look-ahead.

The decision is made at bar t's close, so the earliest fill is the NEXT bar's open. The label of row t is
the forward log return over h bars measured from that open:

    label_t = ln(open[t+1+h] / open[t+1]) × 1e4   (bps)

The last h+1 rows have no label (null, never filled in). A training row t therefore "knows" prices up to
open[t+1+h]; walk-forward splits purge h+1 rows before each test block for that reason.

Triple-barrier labels (`training.target: triple_barrier`, López de Prado, AFML ch. 3): the same entry at
open[t+1] = P0, a profit-take U = P0·exp(k_up·σ_t·√B) and a stop L = P0·exp(−k_down·σ_t·√B), where σ_t is
the trailing std of closed-bar log returns known at t's close (the caller's `vol`, the same column that
prices slippage) and B = `barrier_bars`. Bars t+1 … t+B are read in order, each by its own open, high and
low; the first bar that reaches a barrier decides:

* a bar that OPENS beyond a barrier (a gap) exits at that open: the realised return is ln(open/P0);
* a bar whose high reaches U (low stays above L) exits at U: +k_up·σ_t·√B; symmetrically the stop;
* a bar whose range holds BOTH barriers, without a gap, cannot say which came first from its candle:
  it is credited to neither side (label 0 bps, side 0). Why: "stop first" would be the conservative
  reading for a long and the optimistic one for a short (swaps trade both), so neither is assumed;
* no touch by bar t+B: the vertical barrier, exit at open[t+1+B] (the forward return with h = B), side 0.

Label = the realised log return to the exit (bps), side = +1 (profit-take), −1 (stop), 0 (vertical or
ambiguous). Row t reads prices up to open[t+1+B], so its span is B+1 rows, exactly as a forward return
with h = B: `label_span` is what the walk-forward purges. The last B+1 rows, and rows with σ_t not > 0,
have no label.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

LABEL = "label_bps"
SIDE = "label_side"
Target = Literal["forward_return", "triple_barrier"]


def forward_log_return_bps(open_: np.ndarray, horizon: int) -> np.ndarray:
    """label_t = ln(open[t+1+h]/open[t+1]) × 1e4; NaN where the future is not yet known."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1 bar, got {horizon}")
    o = np.asarray(open_, dtype=float)
    n = len(o)
    out = np.full(n, np.nan)
    if n > horizon + 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            out[: n - horizon - 1] = np.log(o[horizon + 1 :] / o[1 : n - horizon]) * 1e4
    return out


def add_label(frame: pl.DataFrame, horizon: int, name: str = LABEL) -> pl.DataFrame:
    """Frame with the label column appended (null in the last h+1 rows). Needs a sorted `open` column."""
    if "open" not in frame.columns:
        raise ValueError("the frame needs an 'open' column to build the label")
    if frame.height > 1 and not frame["timestamp"].is_sorted():
        raise ValueError("the frame must be sorted by timestamp before labelling")
    label = forward_log_return_bps(frame["open"].to_numpy(), horizon)
    return frame.with_columns(pl.Series(name, label).fill_nan(None))


def bar_volatility(close: np.ndarray, window: int = 24) -> np.ndarray:
    """Trailing std of 1-bar log returns, known at each bar's close (no look-ahead). NaN during warm-up."""
    c = np.asarray(close, dtype=float)
    ret = np.full(len(c), np.nan)
    if len(c) > 1:
        ret[1:] = np.log(c[1:] / c[:-1])
    return pl.Series(ret).rolling_std(window_size=window, min_samples=max(2, window // 2)).to_numpy()


def label_span(target: Target, horizon: int, barrier_bars: int) -> int:
    """Bars of future a label reads beyond its decision bar, before the +1 of the next-bar entry: the
    purge of the walk-forward is `label_span + 1` rows (+ embargo). h for a forward return, B for a
    triple barrier (both read up to open[t+1+span])."""
    if target == "forward_return":
        return int(horizon)
    if target == "triple_barrier":
        return int(barrier_bars)
    raise ValueError(f"target must be 'forward_return' or 'triple_barrier', not {target!r}")


def triple_barrier_bps(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    vol: np.ndarray,
    barrier_bars: int,
    k_up: float,
    k_down: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(label bps, side, bars to the exit) of every row, first touch decided in bar order (module doc).

    `vol[t]` is the per-bar log-return std known at t's close. NaN label / side 0 / 0 bars where the
    span is not complete yet or `vol[t]` is not a positive number."""
    if barrier_bars < 1:
        raise ValueError(f"barrier_bars must be >= 1, got {barrier_bars}")
    if k_up <= 0 or k_down <= 0:
        raise ValueError(f"barrier multipliers must be > 0, got {k_up} and {k_down}")
    o = np.asarray(open_, dtype=float)
    h = np.asarray(high, dtype=float)
    lo = np.asarray(low, dtype=float)
    v = np.asarray(vol, dtype=float)
    n = len(o)
    b = int(barrier_bars)
    label = np.full(n, np.nan)
    side = np.zeros(n, dtype=np.int8)
    bars = np.zeros(n, dtype=np.int64)
    m = n - b - 1  # rows 0 .. m-1 have every price of their span
    if m <= 0:
        return label, side, bars
    t = np.arange(m)
    p0 = o[t + 1]
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(v[:m]) & (v[:m] > 0) & np.isfinite(p0) & (p0 > 0)
    width = np.where(ok, v[:m], 0.0) * np.sqrt(b)
    up_w, dn_w = k_up * width, k_down * width
    upper, lower = p0 * np.exp(up_w), p0 * np.exp(-dn_w)
    out = np.full(m, np.nan)
    out_side = np.zeros(m, dtype=np.int8)
    out_bars = np.zeros(m, dtype=np.int64)
    open_rows = ok.copy()  # rows not decided yet
    with np.errstate(divide="ignore", invalid="ignore"):
        for j in range(1, b + 1):  # bar t+j, in time order: the first bar to touch decides
            oj, hj, lj = o[t + j], h[t + j], lo[t + j]
            gap_up = open_rows & (oj >= upper)
            gap_dn = open_rows & (oj <= lower) & ~gap_up
            gap = gap_up | gap_dn
            hit_up = open_rows & ~gap & (hj >= upper)
            hit_dn = open_rows & ~gap & (lj <= lower)
            both = hit_up & hit_dn
            out[gap] = np.log(oj[gap] / p0[gap]) * 1e4
            out_side[gap_up], out_side[gap_dn] = 1, -1
            only_up, only_dn = hit_up & ~both, hit_dn & ~both
            out[only_up], out_side[only_up] = up_w[only_up] * 1e4, 1
            out[only_dn], out_side[only_dn] = -dn_w[only_dn] * 1e4, -1
            out[both], out_side[both] = 0.0, 0
            decided = gap | hit_up | hit_dn
            out_bars[decided] = j
            open_rows &= ~decided
        vertical = open_rows
        out[vertical] = np.log(o[t + 1 + b][vertical] / p0[vertical]) * 1e4
        out_bars[vertical] = b
    label[:m], side[:m], bars[:m] = out, out_side, out_bars
    return label, side, bars


def add_target_label(
    frame: pl.DataFrame,
    target: Target,
    horizon: int,
    vol: np.ndarray | None = None,
    barrier_bars: int = 6,
    k_up: float = 1.0,
    k_down: float = 1.0,
) -> pl.DataFrame:
    """The frame with `label_bps` (and `label_side`: +1 / −1 / 0, the side a triple barrier touched; the
    label's sign for a forward return) for the configured target; null where the label is not known."""
    if target == "forward_return":
        out = add_label(frame, horizon)
        return out.with_columns(pl.col(LABEL).sign().cast(pl.Int8).fill_null(0).alias(SIDE))
    if target != "triple_barrier":
        raise ValueError(f"target must be 'forward_return' or 'triple_barrier', not {target!r}")
    for col in ("open", "high", "low"):
        if col not in frame.columns:
            raise ValueError(f"the frame needs an {col!r} column for triple-barrier labels")
    if frame.height > 1 and not frame["timestamp"].is_sorted():
        raise ValueError("the frame must be sorted by timestamp before labelling")
    if vol is None or len(vol) != frame.height:
        raise ValueError("triple-barrier labels need the trailing volatility of every row")
    label, side, _ = triple_barrier_bps(
        frame["open"].to_numpy(),
        frame["high"].to_numpy(),
        frame["low"].to_numpy(),
        vol,
        barrier_bars,
        k_up,
        k_down,
    )
    return frame.with_columns(pl.Series(LABEL, label).fill_nan(None), pl.Series(SIDE, side))
