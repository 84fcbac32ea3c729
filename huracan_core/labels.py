"""The training label (DESIGN §3) and the per-bar returns the backtest earns, both without look-ahead.

The decision is made at bar t's close, so the earliest fill is the NEXT bar's open. The label of row t is
the forward log return over h bars measured from that open:

    label_t = ln(open[t+1+h] / open[t+1]) × 1e4   (bps)

The last h+1 rows have no label (null, never filled in). A training row t therefore "knows" prices up to
open[t+1+h]; walk-forward splits purge h+1 rows before each test block for that reason.
"""

from __future__ import annotations

import numpy as np
import polars as pl

LABEL = "label_bps"


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
