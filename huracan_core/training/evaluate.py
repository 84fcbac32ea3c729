"""After-cost evaluation of out-of-sample predictions: the one function that turns predictions into metrics.

Why one function: metrics.json is produced by `evaluate_predictions` on the saved `oos_predictions.parquet`
and nothing else, so anyone can recompute (and a test does recompute) the reported numbers from the saved
OOS rows. In-sample predictions never reach it.

The prediction table has one row per OOS decision (bar t's close): `prediction_bps`, `label_bps`,
`threshold_bps` (round trip + safety margin), `leg_cost` (fraction per leg), `exec_price` (open[t+1]) and
`next_exec_price` (open[t+2]), and for perpetuals `funding_long` / `funding_short` (the fraction each side
pays in funding while row t's position is held, (open[t+1], open[t+2]]; absent in spot tables and older
model folders, which charge the scalar `funding_per_bar` to either side). Rows must be consecutive (`row` step 1): the OOS blocks of walk-forward
folds tile the end of the history, and the account carries its position across fold boundaries.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

from huracan_core.backtest import BacktestResult, TradeDetail, run_backtest, signal_positions, trade_details
from huracan_core.metrics import backtest_metrics, buy_and_hold

PRED_COLUMNS = (
    "row",
    "timestamp",
    "fold",
    "prediction_bps",
    "label_bps",
    "threshold_bps",
    "round_trip_bps",
    "leg_cost",
    "exec_price",
    "next_exec_price",
)
FUNDING_COLUMNS = ("funding_long", "funding_short")


def table_funding(table: pl.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """The (long, short) funding of each grid bar of `backtest_table`'s grid, from the table's columns
    (grid bar 0 is the first fill: nothing is held into it), or None when the table has none."""
    if not set(FUNDING_COLUMNS) <= set(table.columns):
        return None
    fl = np.concatenate([[0.0], table["funding_long"].cast(pl.Float64).to_numpy()])
    fs = np.concatenate([[0.0], table["funding_short"].cast(pl.Float64).to_numpy()])
    return fl, fs


def backtest_table(
    table: pl.DataFrame, market_type: str, funding_per_bar: float = 0.0
) -> tuple[BacktestResult, np.ndarray, np.ndarray]:
    """Backtest the signal rule over consecutive OOS rows; returns (result, price grid, grid timestamps ms)."""
    if table.is_empty():
        raise ValueError("no out-of-sample rows to evaluate")
    rows = table["row"].to_numpy()
    if len(rows) > 1 and not np.all(np.diff(rows) == 1):
        raise ValueError("out-of-sample rows must be consecutive (walk-forward test blocks tile the history)")
    target = signal_positions(
        table["prediction_bps"].to_numpy(), table["threshold_bps"].to_numpy(), market_type
    )
    prices = np.append(table["exec_price"].to_numpy(), table["next_exec_price"][-1])
    target = np.append(target, 0.0)
    leg = table["leg_cost"].to_numpy()
    leg = np.append(leg, leg[-1])
    ts = table["timestamp"].dt.epoch("ms").to_numpy()
    bar_ms = int(np.median(np.diff(ts))) if len(ts) > 1 else 0
    grid_ts = np.append(ts + bar_ms, ts[-1] + 2 * bar_ms)  # fills happen at the next bar's open
    funding = table_funding(table)
    fl, fs = funding if funding is not None else (None, None)
    bt = run_backtest(prices, target, leg, funding_per_bar=funding_per_bar, funding_long=fl, funding_short=fs)
    return bt, prices, grid_ts


def oos_trade_details(
    table: pl.DataFrame, market_type: str, funding_per_bar: float = 0.0
) -> tuple[BacktestResult, TradeDetail, np.ndarray, np.ndarray]:
    """The same backtest as `evaluate_predictions`, with each trade's accounting (for the trade records):
    (result, per-trade detail, price grid, grid timestamps ms). Grid index i < len(table) is row i's fill."""
    bt, prices, grid_ts = backtest_table(table, market_type, funding_per_bar)
    leg = table["leg_cost"].to_numpy()
    funding = table_funding(table)
    fl, fs = funding if funding is not None else (None, None)
    detail = trade_details(
        bt, prices, np.append(leg, leg[-1]), funding_per_bar, funding_long=fl, funding_short=fs
    )
    return bt, detail, prices, grid_ts


def _last_days_bps(bt: BacktestResult, grid_ts: np.ndarray, days: float) -> float:
    cutoff = grid_ts[-1] - int(timedelta(days=days).total_seconds() * 1000)
    start = int(np.searchsorted(grid_ts, cutoff, side="right")) - 1
    base = bt.value[start] if start >= 0 else 1.0
    return float((bt.value[-1] / base - 1.0) * 1e4)


def evaluate_predictions(
    table: pl.DataFrame, market_type: str, ppy: float, n_trials: int, funding_per_bar: float = 0.0
) -> dict[str, Any]:
    """All reported metrics of one OOS prediction table (plus per-fold and buy-and-hold comparisons)."""
    bt, prices, grid_ts = backtest_table(table, market_type, funding_per_bar)
    out = backtest_metrics(bt, ppy, n_trials)
    out.update(buy_and_hold(prices, ppy))
    pred = table["prediction_bps"].to_numpy()
    label = table["label_bps"].to_numpy()
    ok = np.isfinite(pred) & np.isfinite(label)
    ic = float(np.corrcoef(pred[ok], label[ok])[0, 1]) if ok.sum() > 2 and np.std(pred[ok]) > 0 else 0.0
    out["ic_pearson"] = ic if np.isfinite(ic) else 0.0
    out["last_7d_net_bps"] = _last_days_bps(bt, grid_ts, 7.0)
    out["avg_round_trip_bps"] = float(table["round_trip_bps"].mean())
    out["oos_rows"] = table.height
    out["oos_start"] = table["timestamp"][0].isoformat()
    out["oos_end"] = table["timestamp"][-1].isoformat()
    folds = []
    for fold in sorted(set(table["fold"].to_list())):
        part = table.filter(pl.col("fold") == fold)
        fbt, fprices, _ = backtest_table(part, market_type, funding_per_bar)
        fm = backtest_metrics(fbt, ppy, n_trials)
        fm.update(buy_and_hold(fprices, ppy))
        fm.update(
            {
                "fold": int(fold),
                "oos_start": part["timestamp"][0].isoformat(),
                "oos_end": part["timestamp"][-1].isoformat(),
            }
        )
        folds.append(fm)
    out["folds"] = folds
    out["latest_fold"] = folds[-1] if folds else None
    return out
