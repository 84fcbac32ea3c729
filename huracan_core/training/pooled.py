"""The pooled model, a research option beside the per-coin model: one model fitted on the rows of every coin of
the universe (features + shared encoder codes, exactly the per-coin inputs), judged per coin.

Why: one coin's 120 hourly days are ~2,900 rows, a few hundred per fold's test block; a tree model learns
noise from so few. The patterns that survive costs (mean reversion after a shock, volatility regimes) are
mostly common to liquid coins, and the shared encoder already puts every coin's features on one scale, so
one model over N coins sees N times the rows. Whether that helps is an empirical question, so the pooled
model is judged exactly as the per-coin model: each coin's matrix comes from `dataset.prepare` (its own
label, point-in-time costs and cost threshold, encoder codes), its out-of-sample table from
`dataset.oos_table`, its metrics from `evaluate.evaluate_predictions`, its gates from `gates.evaluate_gates`.
Nothing is written to the engine home and nothing is wired into the night (`huracan research` runs it).

Walk-forward by timestamp across coins: the folds are cut on the sorted union of the coins' decision times
(`splits.walk_forward` over that axis), so a test block is one time range for every coin. A row trains a
fold only when its label has ended before the test block starts, for every coin and by the label's actual
end: row t of a coin reads prices up to its bar t+1+span (`dataset.Prepared.span`; h for a forward return),
and the purge keeps a row only when that bar's open + `embargo_bars` bars < the first test timestamp. On a
gap-free coin this is the per-coin purge (span + 1 + embargo rows); a coin with missing bars is purged by
time, not by a row count that its gaps would stretch. The hyperparameter search is inside each fold's
training rows only, on a purged inner split by time (`splits.inner_split` on the same axis), scored by the
summed after-cost PnL of each coin's validation rows (the trainer's own score); the deflated Sharpe of every
coin is charged all the trials the pooled searches ran.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from huracan_core.config import Settings
from huracan_core.costs import CostInputs
from huracan_core.funding import FundingSeries
from huracan_core.gates import GateReport, evaluate_gates
from huracan_core.metrics import periods_per_year
from huracan_core.symbols import normalise_symbol
from huracan_core.training import models
from huracan_core.training.dataset import Prepared, as_of_for, check_no_leak, oos_table, prepare
from huracan_core.training.encoder import resolve_encoder
from huracan_core.training.evaluate import evaluate_predictions
from huracan_core.training.search import default_params, search
from huracan_core.training.splits import Fold, inner_split, walk_forward
from huracan_core.training.trainer import TrainOptions, search_budget, val_score


@dataclass
class PooledCoin:
    """One coin's share of the pooled model: its OOS table and metrics, as a per-coin model's would be."""

    symbol: str
    rows: int  # usable labelled rows
    oos: pl.DataFrame | None
    metrics: dict[str, Any]
    gates: GateReport | None
    skipped_reason: str | None = None


@dataclass
class PooledFold:
    """One walk-forward fold of the pooled model: the time range tested and what trained on it."""

    index: int
    test_from: str
    test_to: str
    purge_before: str  # a training row's label ends (+ embargo) strictly before this time
    train_rows: int
    test_rows: int
    train_rows_by_coin: dict[str, int]
    train_last_by_coin: dict[str, str | None]  # each coin's latest training row (its decision bar's open)
    params: dict[str, Any]
    rounds: int
    trials: list[dict[str, Any]]


@dataclass
class PooledResult:
    coins: dict[str, PooledCoin]
    folds: list[PooledFold]
    inputs: list[str]
    n_trials_total: int
    rows: int
    fit_seconds: float
    seconds: float
    encoder_note: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Coin:
    symbol: str
    p: Prepared
    ts: np.ndarray  # decision bar open time (ms) of each usable row
    label_end: np.ndarray  # open time (ms) of the last bar each row's label reads
    market_type: str


def _label_end_ms(features: pl.DataFrame, p: Prepared, as_of_cut: Any, span: int) -> np.ndarray:
    """Open time of bar t+1+span for each usable row t (the last price its label reads), on the coin's own
    bars up to the cut-off as `prepare` saw them."""
    full = features.select("timestamp").sort("timestamp").filter(pl.col("timestamp") <= as_of_cut)
    full_ms = full["timestamp"].dt.epoch("ms").to_numpy()
    ts = p.frame["timestamp"].dt.epoch("ms").to_numpy()
    pos = np.searchsorted(full_ms, ts) + 1 + span
    if len(pos) and pos.max() >= len(full_ms):  # prepare labels only rows whose label bars exist
        raise ValueError("a labelled row reads past the coin's last bar: label span and prepare disagree")
    return full_ms[pos]


def _pooled_score(coins: list[_Coin], ranges: list[tuple[int, int]]) -> Callable[[np.ndarray], float]:
    """Summed after-cost PnL (bps) of each coin's rows [lo, hi) under the pooled predictions, which arrive
    concatenated coin by coin in `ranges` order (the trainer's `val_score` per coin)."""
    scorers, bounds, at = [], [], 0
    for c, (lo, hi) in zip(coins, ranges, strict=True):
        if hi > lo:
            scorers.append(val_score(c.p, lo, hi, c.market_type))
            bounds.append((at, at + hi - lo))
            at += hi - lo

    def score(pred: np.ndarray) -> float:
        return float(sum(f(pred[a:b]) for f, (a, b) in zip(scorers, bounds, strict=True)))

    return score


def _stack(coins: list[_Coin], ranges: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    xs = [c.p.x[lo:hi] for c, (lo, hi) in zip(coins, ranges, strict=True)]
    ys = [c.p.y[lo:hi] for c, (lo, hi) in zip(coins, ranges, strict=True)]
    return np.concatenate(xs), np.concatenate(ys)


def _rows_between(c: _Coin, start_ms: int, purge_ms: int) -> tuple[int, int]:
    """The coin's rows from `start_ms` on whose label (+ embargo) ends before `purge_ms`: one contiguous range
    (timestamps and label ends both increase with the row)."""
    lo = int(np.searchsorted(c.ts, start_ms, side="left"))
    hi = int(np.searchsorted(c.label_end, purge_ms, side="left"))
    return lo, max(lo, hi)


def train_pooled(
    frames_by_symbol: Mapping[str, pl.DataFrame],
    *,
    recipe: Any,
    encoder_dir: Path | None,
    cost_inputs: Mapping[str, CostInputs],
    settings: Settings,
    training_date: date,
    bar_seconds: int,
    options: TrainOptions | None = None,
    funding: Mapping[str, FundingSeries] | None = None,
    device: str = "cpu",
    num_threads: int = 1,
) -> PooledResult:
    """Walk-forward one model over every coin's rows and evaluate it per coin (module doc).

    `frames_by_symbol`: each coin's features frame (as the features stage writes it, built with `recipe`);
    `cost_inputs`: each coin's cost inputs (stages.cost_inputs_for); `funding`: recorded settlements of
    perpetuals. Raises splits.TooShortError when the pooled time axis cannot hold the folds."""
    start = time.perf_counter()
    t = settings.training
    opts = TrainOptions.resolve(settings, options)
    if t.objective != "regression" or t.meta_label:
        raise ValueError(
            "the pooled model fits a regression on the label without a meta gate; training.objective is "
            f"{t.objective!r}, training.meta_label {t.meta_label}"
        )
    if opts.model_type not in models.MODEL_TYPES:
        raise ValueError(f"model_type must be one of {models.MODEL_TYPES}, not {opts.model_type!r}")
    encoder_dir, encoder_note = resolve_encoder(encoder_dir)
    cut = as_of_for(training_date) - timedelta(seconds=bar_seconds)
    coins: list[_Coin] = []
    skipped: dict[str, str] = {}
    inputs: list[str] | None = None
    for raw_symbol, features in sorted(frames_by_symbol.items()):
        symbol = normalise_symbol(raw_symbol)
        inp = cost_inputs[raw_symbol] if raw_symbol in cost_inputs else cost_inputs[symbol]
        fund = (funding or {}).get(raw_symbol, (funding or {}).get(symbol))
        p = prepare(
            features, recipe, encoder_dir, inp, settings, training_date, bar_seconds, opts.vol_window, fund
        )
        if p.frame.height == 0:
            skipped[symbol] = "no usable labelled rows after the warm-up"
            continue
        check_no_leak(p.x, p.y, p.inputs)
        if inputs is None:
            inputs = list(p.inputs)
        elif p.inputs != inputs:
            raise ValueError(f"{symbol}'s inputs differ from the other coins': pooled rows need one matrix")
        span = p.span  # the label's span (labels.label_span): h, or barrier_bars for a triple barrier
        ts = p.frame["timestamp"].dt.epoch("ms").to_numpy()
        coins.append(_Coin(symbol, p, ts, _label_end_ms(features, p, cut, span), inp.market_type))
    if not coins or inputs is None:
        raise ValueError("no coin has usable rows: nothing to pool")
    span = coins[0].p.span
    bar_ms = bar_seconds * 1000
    embargo_ms = t.embargo_bars * bar_ms
    axis = np.unique(np.concatenate([c.ts for c in coins]))
    folds = walk_forward(
        len(axis), t.folds, span, t.embargo_bars, t.window, t.min_train_bars, opts.min_test_bars
    )
    tables: dict[str, list[pl.DataFrame]] = {c.symbol: [] for c in coins}
    fold_log: list[PooledFold] = []
    fit_seconds = 0.0
    n_trials_total = 0
    for fold in folds:
        test_lo_ms = int(axis[fold.test_start])
        test_hi_ms = int(axis[fold.test_end - 1])
        train_from_ms = int(axis[fold.train_start])
        purge_ms = test_lo_ms - embargo_ms  # label end must be < this
        train = [_rows_between(c, train_from_ms, purge_ms) for c in coins]
        x_tr, y_tr = _stack(coins, train)
        params = default_params(t.num_leaves, t.learning_rate)
        n_trials, rounds = search_budget(
            len(y_tr), opts.n_trials, t.num_boost_round, opts.search_full_budget_rows
        )
        trials: list[dict[str, Any]] = []
        split = inner_split(fold.train_start, fold.train_end, span, t.embargo_bars, opts.inner_val_fraction)
        if split is not None and n_trials > 0:
            (a, _), (v, _) = split
            val_ms = int(axis[v])
            fit = [_rows_between(c, int(axis[a]), val_ms - embargo_ms) for c in coins]
            val = [
                (int(np.searchsorted(c.ts, val_ms, side="left")), hi)
                for c, (_, hi) in zip(coins, train, strict=True)
            ]
            val = [(lo, max(lo, hi)) for lo, hi in val]
            x_fit, y_fit = _stack(coins, fit)
            x_val, y_val = _stack(coins, val)
            if len(y_fit) and len(y_val):
                res = search(
                    model_type=opts.model_type,
                    x_fit=x_fit,
                    y_fit=y_fit,
                    x_val=x_val,
                    y_val=y_val,
                    score=_pooled_score(coins, val),
                    n_trials=n_trials,
                    seed=t.seed,
                    num_boost_round=rounds,
                    max_leaves=t.num_leaves,
                    base_lr=t.learning_rate,
                    device=device,
                    num_threads=num_threads,
                    feature_names=inputs,
                    early_stopping_rounds=opts.early_stopping_rounds,
                    max_bin=t.max_bin,
                )
                params, trials, rounds = res.best_params, res.trials, res.best_rounds
                fit_seconds += res.fit_seconds
        out = models.fit(
            opts.model_type,
            params,
            x_tr,
            y_tr,
            rounds,
            device=device,
            num_threads=num_threads,
            seed=t.seed,
            feature_names=inputs,
            max_bin=t.max_bin,
        )
        fit_seconds += out.seconds
        n_trials_total += len(trials)
        test_rows = 0
        for c, (tr_lo, tr_hi) in zip(coins, train, strict=True):
            lo = int(np.searchsorted(c.ts, test_lo_ms, side="left"))
            hi = int(np.searchsorted(c.ts, test_hi_ms, side="right"))
            if hi <= lo:
                continue
            pred = models.predict(opts.model_type, out.booster, c.p.x[lo:hi], num_threads)
            tables[c.symbol].append(oos_table(c.p, Fold(fold.index, tr_lo, tr_hi, lo, hi), pred))
            test_rows += hi - lo
        iso = pl.Series([test_lo_ms, test_hi_ms, purge_ms]).cast(pl.Datetime("ms", "UTC")).to_list()
        fold_log.append(
            PooledFold(
                index=fold.index,
                test_from=iso[0].isoformat(),
                test_to=iso[1].isoformat(),
                purge_before=iso[2].isoformat(),
                train_rows=len(y_tr),
                test_rows=test_rows,
                train_rows_by_coin={c.symbol: hi - lo for c, (lo, hi) in zip(coins, train, strict=True)},
                train_last_by_coin={
                    c.symbol: c.p.frame["timestamp"][hi - 1].isoformat() if hi > lo else None
                    for c, (lo, hi) in zip(coins, train, strict=True)
                },
                params=params,
                rounds=rounds,
                trials=trials,
            )
        )
    n_trials_total = max(1, n_trials_total)
    ppy = periods_per_year(bar_seconds)
    results: dict[str, PooledCoin] = {
        s: PooledCoin(s, 0, None, {}, None, reason) for s, reason in skipped.items()
    }
    for c in coins:
        if not tables[c.symbol]:
            results[c.symbol] = PooledCoin(
                c.symbol, c.p.frame.height, None, {}, None, "no rows in any test block"
            )
            continue
        oos = pl.concat(tables[c.symbol])
        metrics = evaluate_predictions(oos, c.market_type, ppy, n_trials_total, c.p.funding_per_bar)
        metrics["evaluation"] = "pooled model: out-of-sample walk-forward folds by timestamp, after costs"
        gates = evaluate_gates(metrics, settings.gates, opts.min_deflated_sharpe)
        results[c.symbol] = PooledCoin(c.symbol, c.p.frame.height, oos, metrics, gates)
    return PooledResult(
        coins=results,
        folds=fold_log,
        inputs=inputs,
        n_trials_total=n_trials_total,
        rows=int(sum(c.p.frame.height for c in coins)),
        fit_seconds=fit_seconds,
        seconds=time.perf_counter() - start,
        encoder_note=encoder_note,
    )
