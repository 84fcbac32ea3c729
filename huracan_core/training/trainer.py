"""Train one coin end to end: walk-forward OOS evaluation after costs, gates, refit, artifacts.

Why this order: the numbers a trader sees must come from predictions the model could have made at the
time. Each walk-forward fold searches hyperparameters inside its own training window (purged inner split),
fits, and predicts its test block; the concatenated OOS predictions are saved and evaluated after costs by
`evaluate_predictions`, which produces metrics.json. Only then is the shipping model refit on all labelled
rows up to the date — its in-sample fit is never evaluated or reported. Its hyperparameters and rounds
are the last fold's (`training.final_search: last_fold`, the default): the choice whose out-of-sample
block the metrics just measured, so nothing un-measured sits between the reported numbers and the shipped
model, and no fifth search is paid for (with a seeded TPE's 10 start-up trials every search ranks the
same 10 candidates anyway: only the validation rows differ). `all_rows` searches once more on a purged
inner split of every row instead.

Targets (`training.target`, `.objective`, `.meta_label`; labels.py, models.py): the label is a forward
return or a triple barrier, and every split purges the label's span (splits.label_span_of), not the
forward horizon. A classifier is fitted on the label's sign and its probability becomes an expected edge
(models.edge_bps) before the same cost threshold, in the search's score, the OOS table and the shipped
model alike. Meta-labelling fits, inside each fold's training window only, a second binary model on the
primary's own out-of-sample signals there (an inner walk-forward of the primary with the fold's chosen
parameters): "did acting on this signal earn more than its round trip?"; on the test block it lets a
signal through only when P >= `meta_threshold` (a gate, not a size: the after-cost backtest trades one
unit per position, so a fractional size could not be evaluated the way it would be traded). config.json's
`target` records all of it, which is what `LoadedModel.predict` (models.predict_bps) applies live.

`train_coin` is a top-level function taking plain, picklable arguments, so Ray can run it remotely.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from huracan_core.atomic import sha256_bytes, write_bytes, write_json, write_manifest, write_parquet
from huracan_core.backtest import signal_positions, trade_sum_bps
from huracan_core.config import Settings
from huracan_core.costs import CostInputs
from huracan_core.funding import FundingSeries
from huracan_core.gates import GateReport, evaluate_gates, not_evaluated
from huracan_core.labels import LABEL, SIDE
from huracan_core.metrics import periods_per_year
from huracan_core.paths import EngineHome
from huracan_core.symbols import normalise_symbol
from huracan_core.training import models
from huracan_core.training.artifacts import (
    ENCODER_FILES,
    FINALS,
    PARTIALS,
    LoadedModel,
    complete_models,
    load_model,
    model_uuid,
    new_model_dir,
    recipe_payload,
    write_current_metadata,
)
from huracan_core.training.dataset import LeakError, Prepared, check_no_leak, cost_report, oos_table, prepare
from huracan_core.training.encoder import resolve_encoder
from huracan_core.training.evaluate import evaluate_predictions
from huracan_core.training.learning import write_learning_snapshot
from huracan_core.training.search import default_params, search
from huracan_core.training.splits import (
    TooShortError,
    inner_split,
    label_span_of,
    purge_gap,
    walk_forward,
)

__all__ = ["LeakError", "LoadedModel", "TrainOptions", "TrainResult", "load_model", "train_coin"]
ENGINE_VERSION = "0.1.0"


@dataclass(frozen=True)
class TrainOptions:
    """Training knobs not (yet) in `Settings.training`; a setting of the same name wins over the default,
    an explicit `options=` argument wins over both."""

    n_trials: int = 10
    model_type: str = "lightgbm"
    min_test_bars: int = 20
    inner_val_fraction: float = 0.2
    min_deflated_sharpe: float | None = None  # None: gates.min_deflated_sharpe if set, else 0.95
    vol_window: int = 24
    early_stopping_rounds: int = 25  # 0: every trial boosts num_boost_round rounds
    search_full_budget_rows: int = 0  # 0: the full budget at any size (see search_budget)

    @classmethod
    def resolve(cls, settings: Settings, options: TrainOptions | None) -> TrainOptions:
        if options is not None:
            return options
        values = {
            f.name: getattr(settings.training, f.name)
            for f in fields(cls)
            if hasattr(settings.training, f.name)
        }
        return cls(**values)


@dataclass
class TrainResult:
    symbol: str
    model_id: str
    model_dir: Path | None
    metrics: dict[str, Any]
    gates: GateReport
    n_samples: int
    n_trades: int
    train_seconds: float
    fit_seconds: float
    feature_importance: dict[str, float] = field(default_factory=dict)
    skipped_reason: str | None = None

    @property
    def passed(self) -> bool:
        return self.skipped_reason is None and self.gates.passed


def _skip(symbol: str, reason: str, n_samples: int, start: float) -> TrainResult:
    return TrainResult(
        symbol,
        "",
        None,
        {},
        not_evaluated(reason),
        n_samples,
        0,
        time.perf_counter() - start,
        0.0,
        {},
        reason,
    )


def val_score(p: Prepared, lo: int, hi: int, market_type: str) -> Callable[[np.ndarray], float]:
    """After-cost net PnL (bps, summed over closed trades) of the signal rule on rows [lo, hi), from
    expected edges in bps (a classifier's probabilities are turned into edges before: `_edge_score`).

    Early stopping calls this after every boosting round, so it is the search's inner loop: the grid's
    prices, leg costs and funding are built once here, and each call runs only the after-cost account
    path and round trips of `run_backtest` (backtest.trade_sum_bps: the same code, so the sum is the one
    `run_backtest(...).trade_return` gives, bit for bit: tests/core/training/test_search.py). The positions often do not
    change from one round to the next, so the last positions and their score are kept and the path is
    skipped then."""
    prices = np.append(p.exec_price[lo:hi], p.next_exec[hi - 1])
    leg = np.append(p.leg[lo:hi], p.leg[hi - 1])
    fl = fs = None
    if p.funding is not None:  # grid bar j pays what row lo + j - 1 pays while held; nothing into bar 0
        fl = np.concatenate([[0.0], p.funding.long[lo:hi]])
        fs = np.concatenate([[0.0], p.funding.short[lo:hi]])
    score = trade_sum_bps(prices, leg, p.funding_per_bar, fl, fs)
    threshold = p.threshold[lo:hi]
    last: list[Any] = [None, 0.0]

    def on_edges(pred: np.ndarray) -> float:
        target = np.append(signal_positions(pred, threshold, market_type), 0.0)
        if last[0] is not None and np.array_equal(target, last[0]):
            return last[1]
        last[0], last[1] = target, score(target)
        return last[1]

    return on_edges


def _edge_score(score: Callable[[np.ndarray], float], scale: float) -> Callable[[np.ndarray], float]:
    """`score` of a classifier's probabilities, read as (2p − 1) × `scale` bps (models.edge_bps)."""

    def on_probabilities(prob: np.ndarray) -> float:
        return score(models.edge_bps(prob, "classification", scale))

    return on_probabilities


def search_budget(rows: int, n_trials: int, num_boost_round: int, full_budget_rows: int) -> tuple[int, int]:
    """(trials, rounds) for a search over `rows` training rows: the configured budget from
    `full_budget_rows` rows up (or always, when it is 0), below that both shrink in proportion to the rows,
    never under 3 trials (the defaults plus two TPE proposals) or 50 rounds."""
    if full_budget_rows <= 0 or rows >= full_budget_rows:
        return n_trials, num_boost_round
    share = rows / full_budget_rows
    return (
        min(n_trials, max(3, int(np.ceil(n_trials * share)))),
        min(num_boost_round, max(50, int(np.ceil(num_boost_round * share)))),
    )


def fit_labels(p: Prepared, objective: str) -> np.ndarray:
    """What the booster is fitted on: the label in bps (regression) or its sign, 1 when > 0 (a
    classifier; a triple barrier credited to neither side, label 0, counts as not up)."""
    if objective == "regression":
        return p.y
    if objective == "classification":
        return (p.y > 0).astype(float)
    raise ValueError(f"objective must be one of {models.OBJECTIVES}, not {objective!r}")


def edge_scale(p: Prepared, lo: int, hi: int, bars: int) -> float:
    """Mean |label| (bps) of the last `bars` rows of [lo, hi): the magnitude a classifier's (2p − 1) is
    scaled by. Rows of a training window only, so it is known when the model is (point in time)."""
    y = np.abs(p.y[max(lo, hi - bars) : hi])
    y = y[np.isfinite(y)]
    return float(y.mean()) if len(y) else 0.0


@dataclass
class _Fitted:
    booster: Any
    params: dict[str, Any]
    trials: list[dict[str, Any]]
    fit_seconds: float
    rounds: int
    edge_scale_bps: float | None = None  # a classifier's; None for a regression

    def edge(self, model_type: str, x: np.ndarray, objective: str, num_threads: int) -> np.ndarray:
        """The expected edge (bps) of rows `x`."""
        raw = models.predict(model_type, self.booster, x, num_threads)
        return models.edge_bps(raw, objective, self.edge_scale_bps)


def _search_and_fit(
    p: Prepared,
    lo: int,
    hi: int,
    settings: Settings,
    opts: TrainOptions,
    market_type: str,
    device: str,
    num_threads: int,
) -> _Fitted:
    """Search hyperparameters on a purged inner split of rows [lo, hi), then fit on all of [lo, hi) with the
    best trial's parameters and boosting rounds."""
    t = settings.training
    split = inner_split(lo, hi, label_span_of(t), t.embargo_bars, opts.inner_val_fraction)
    y = fit_labels(p, t.objective)
    params = default_params(t.num_leaves, t.learning_rate)
    n_trials, max_rounds = search_budget(
        hi - lo, opts.n_trials, t.num_boost_round, opts.search_full_budget_rows
    )
    rounds = max_rounds
    trials: list[dict[str, Any]] = []
    fit_seconds = 0.0
    if split is not None and n_trials > 0:
        (a, b), (c, d) = split
        score = val_score(p, c, d, market_type)
        if t.objective == "classification":  # probabilities -> edges with the fit rows' own scale
            score = _edge_score(score, edge_scale(p, a, b, t.edge_scale_bars))
        res = search(
            model_type=opts.model_type,
            x_fit=p.x[a:b],
            y_fit=y[a:b],
            x_val=p.x[c:d],
            y_val=y[c:d],
            score=score,
            n_trials=n_trials,
            seed=t.seed,
            num_boost_round=max_rounds,
            max_leaves=t.num_leaves,
            base_lr=t.learning_rate,
            device=device,
            num_threads=num_threads,
            feature_names=p.inputs,
            early_stopping_rounds=opts.early_stopping_rounds,
            objective=t.objective,
            max_bin=t.max_bin,
        )
        params, trials, fit_seconds, rounds = res.best_params, res.trials, res.fit_seconds, res.best_rounds
    out = _refit(p, lo, hi, params, rounds, settings, opts, device, num_threads)
    out.trials, out.fit_seconds = trials, fit_seconds + out.fit_seconds
    return out


def _refit(
    p: Prepared,
    lo: int,
    hi: int,
    params: dict[str, Any],
    rounds: int,
    settings: Settings,
    opts: TrainOptions,
    device: str,
    num_threads: int,
) -> _Fitted:
    """Fit rows [lo, hi) with given parameters and rounds (a search's choice; no trials of its own)."""
    t = settings.training
    y = fit_labels(p, t.objective)
    out = models.fit(
        opts.model_type,
        params,
        p.x[lo:hi],
        y[lo:hi],
        rounds,
        device=device,
        num_threads=num_threads,
        seed=t.seed,
        feature_names=p.inputs,
        objective=t.objective,
        max_bin=t.max_bin,
    )
    scale = edge_scale(p, lo, hi, t.edge_scale_bars) if t.objective == "classification" else None
    return _Fitted(out.booster, params, [], out.seconds, rounds, scale)


MIN_META_ROWS = 30  # signals (and both outcomes) a meta model needs: fewer and the primary trades alone


@dataclass
class _Meta:
    """A fold's (or the shipped model's) meta model and the rows it learned from."""

    booster: Any | None
    rows: np.ndarray  # the training-window rows it was fitted on (the primary's inner-OOS signals)
    positives: int
    reason: str
    seconds: float = 0.0

    @property
    def fitted(self) -> bool:
        return self.booster is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "fitted": self.fitted,
            "reason": self.reason,
            "rows": int(len(self.rows)),
            "first_row": int(self.rows.min()) if len(self.rows) else None,
            "last_row": int(self.rows.max()) if len(self.rows) else None,
            "profitable": self.positives,
        }


def primary_inner_oos(
    p: Prepared,
    lo: int,
    hi: int,
    fitted: _Fitted,
    settings: Settings,
    opts: TrainOptions,
    device: str,
    num_threads: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, edge): the primary's out-of-sample expected edge on rows of [lo, hi) from an inner, purged,
    expanding walk-forward inside that window (the fold's parameters and rounds, each inner model's own
    edge scale). No row at or after `hi` is read: neither as an input nor through a label's span."""
    t = settings.training
    try:
        inner = walk_forward(
            hi - lo,
            t.meta_inner_folds,
            label_span_of(t),
            t.embargo_bars,
            "expanding",
            t.min_train_bars,
            opts.min_test_bars,
        )
    except TooShortError:
        return np.zeros(0, dtype=int), np.zeros(0)
    rows, edges = [], []
    for f in inner:
        a, b, c, d = lo + f.train_start, lo + f.train_end, lo + f.test_start, lo + f.test_end
        inner_fit = _refit(p, a, b, fitted.params, fitted.rounds, settings, opts, device, num_threads)
        rows.append(np.arange(c, d))
        edges.append(inner_fit.edge(opts.model_type, p.x[c:d], t.objective, num_threads))
    return np.concatenate(rows), np.concatenate(edges)


def meta_training_set(
    p: Prepared, rows: np.ndarray, edge: np.ndarray, market_type: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, meta inputs, meta labels) of the signals the primary would have acted on: 1 where the
    side's label beat the row's round trip (profitable after costs), else 0."""
    side = signal_positions(edge, p.threshold[rows], market_type)
    act = side != 0
    r = rows[act]
    won = (side[act] * p.y[r] - p.round_trip[r] > 0).astype(float)
    return r, models.meta_inputs(p.x[r], edge[act]), won


def fit_meta(
    p: Prepared,
    lo: int,
    hi: int,
    fitted: _Fitted,
    settings: Settings,
    opts: TrainOptions,
    market_type: str,
    device: str,
    num_threads: int,
) -> _Meta:
    """The meta model of training window [lo, hi) (module doc); not fitted, with the reason, when the
    window holds too few signals or only one outcome."""
    t = settings.training
    start = time.perf_counter()
    rows, edge = primary_inner_oos(p, lo, hi, fitted, settings, opts, device, num_threads)
    if not len(rows):
        return _Meta(None, rows, 0, "training window too short for the inner walk-forward")
    r, xm, won = meta_training_set(p, rows, edge, market_type)
    positives = int(won.sum())
    if len(r) < MIN_META_ROWS or positives in (0, len(r)):
        why = f"{len(r)} inner out-of-sample signals, {positives} profitable: too few to learn from"
        return _Meta(None, r, positives, why, time.perf_counter() - start)
    out = models.fit(
        opts.model_type,
        default_params(t.num_leaves, t.learning_rate),
        xm,
        won,
        t.meta_num_boost_round,
        device=device,
        num_threads=num_threads,
        seed=t.seed,
        feature_names=[*p.inputs, "primary_edge_bps"],
        objective="classification",
        max_bin=t.max_bin,
    )
    return _Meta(out.booster, r, positives, "fitted", time.perf_counter() - start)


def gated_edge(
    meta: _Meta, model_type: str, x: np.ndarray, edge: np.ndarray, threshold: float, num_threads: int
) -> tuple[np.ndarray, np.ndarray]:
    """(edge after the meta gate, meta probability; NaN where no meta model was fitted)."""
    if not meta.fitted:
        return edge, np.full(len(edge), np.nan)
    prob = models.predict(model_type, meta.booster, models.meta_inputs(x, edge), num_threads)
    return models.meta_gate(edge, prob, threshold), prob


def target_record(
    settings: Settings,
    span: int,
    final: _Fitted,
    final_meta: _Meta | None,
    p: Prepared,
    fold_logs: list[dict[str, Any]],
) -> dict[str, Any]:
    """config.json's `target`: what the label is, how the shipped model's output becomes an edge in bps
    (`models.predict_bps` reads `objective`, `edge_scale_bps` and `meta`), and the label's sides."""
    t = settings.training
    sides = p.side if p.side is not None else np.sign(np.nan_to_num(p.y)).astype(int)
    out: dict[str, Any] = {
        "target": t.target,
        "objective": t.objective,
        "meta_label": t.meta_label,
        "horizon_bars": t.horizon_bars,
        "label_span_bars": span,
        "purge_rows": purge_gap(span, t.embargo_bars),
        "label": "ln(open[t+1+h]/open[t+1]) x 1e4"
        if t.target == "forward_return"
        else "log return (bps) from open[t+1] to the first touch of +/- k x sigma_t x sqrt(barrier_bars), "
        "bars in order; a bar reaching both without a gap: 0 (neither side); untouched: open[t+1+B]",
        "label_sides": {
            "up": int(np.sum(sides > 0)),
            "down": int(np.sum(sides < 0)),
            "neither": int(np.sum(sides == 0)),
        },
        "edge_rule": "prediction in bps"
        if t.objective == "regression"
        else "(2p - 1) x edge_scale_bps (mean |label| of the model's last edge_scale_bars training rows)",
        "edge_scale_bps": final.edge_scale_bps,
        "edge_scale_bars": t.edge_scale_bars if t.objective == "classification" else None,
        "fold_edge_scale_bps": [f.get("edge_scale_bps") for f in fold_logs],
    }
    if t.target == "triple_barrier":
        out.update(
            {
                "barrier_bars": t.barrier_bars,
                "barrier_upper_k": t.barrier_upper_k,
                "barrier_lower_k": t.barrier_lower_k,
                "volatility_window_bars": p.vol_window,
            }
        )
    if final_meta is not None:
        out["meta"] = {
            **final_meta.to_json(),
            "threshold": t.meta_threshold,
            "inner_folds": t.meta_inner_folds,
            "num_boost_round": t.meta_num_boost_round,
            "file": models.META_MODEL_FILE if final_meta.fitted else None,
            "rule": "the primary's edge where P(profitable after costs) >= threshold, else 0 (flat)",
        }
    return out


def train_coin(
    *,
    symbol: str,
    features: pl.DataFrame,
    recipe: Any,
    encoder_dir: Path | None,
    cost_inputs: CostInputs,
    settings: Settings,
    home: EngineHome,
    training_date: date,
    bar_seconds: int,
    device: str = "cpu",
    num_threads: int = 1,
    options: TrainOptions | None = None,
    funding: FundingSeries | None = None,
    funding_note: str = "",
) -> TrainResult:
    """Walk-forward, after-cost evaluation, gates and a refit model folder for one coin (see module doc).

    `funding`: the coin's recorded funding settlements (perpetuals); without them a swap is charged the
    constant `costs.funding_bps_per_8h` and costs.json says so (`funding_note` says why)."""
    start = time.perf_counter()
    symbol = normalise_symbol(symbol)
    opts = TrainOptions.resolve(settings, options)
    if opts.model_type not in models.MODEL_TYPES:
        raise ValueError(f"model_type must be one of {models.MODEL_TYPES}, not {opts.model_type!r}")
    t = settings.training
    encoder_dir, encoder_note = resolve_encoder(encoder_dir)  # small universe: reduced encoder or none
    p = prepare(
        features,
        recipe,
        encoder_dir,
        cost_inputs,
        settings,
        training_date,
        bar_seconds,
        opts.vol_window,
        funding,
        funding_note,
    )
    n = p.frame.height
    check_no_leak(p.x, p.y, p.inputs)
    span = label_span_of(t)
    try:
        folds = walk_forward(n, t.folds, span, t.embargo_bars, t.window, t.min_train_bars, opts.min_test_bars)
    except TooShortError as exc:
        return _skip(symbol, f"too little data: {exc}", n, start)

    model_dir = new_model_dir(home, symbol)
    version = model_dir.name
    model_id = f"{symbol}_{version}"
    market_type = cost_inputs.market_type
    saved = p.frame.select("row", "timestamp", *p.inputs, LABEL, SIDE, "volatility", "round_trip_bps")
    write_parquet(model_dir / "features.parquet", saved)
    write_json(
        model_dir / "split_indices.json",
        {
            "rows": n,
            "horizon_bars": t.horizon_bars,
            "target": t.target,
            "label_span_bars": span,
            "purge_rows": purge_gap(span, t.embargo_bars),
            "embargo_bars": t.embargo_bars,
            "window": t.window,
            "index": "row of features.parquet (after warm-up, labelled rows only)",
            "folds": [
                {
                    **f.to_json(),
                    "train_from": p.frame["timestamp"][f.train_start].isoformat(),
                    "train_to": p.frame["timestamp"][f.train_end - 1].isoformat(),
                    "test_from": p.frame["timestamp"][f.test_start].isoformat(),
                    "test_to": p.frame["timestamp"][f.test_end - 1].isoformat(),
                }
                for f in folds
            ],
        },
    )
    log: dict[str, Any] = {
        "symbol": symbol,
        "model_id": model_id,
        "status": "training",
        "started_at": datetime.now(UTC).isoformat(),
        "training_date": training_date.isoformat(),
        "rows": n,
        "dropped_rows_after_date": p.dropped_future_rows,
        "device": device,
    }
    write_json(model_dir / "training_log.json", log)

    fit_seconds = 0.0
    tables, fold_logs = [], []
    for fold in folds:
        fitted = _search_and_fit(
            p, fold.train_start, fold.train_end, settings, opts, market_type, device, num_threads
        )
        fit_seconds += fitted.fit_seconds
        x_test = p.x[fold.test_start : fold.test_end]
        pred = fitted.edge(opts.model_type, x_test, t.objective, num_threads)
        entry: dict[str, Any] = {
            "fold": fold.index,
            "params": fitted.params,
            "rounds": fitted.rounds,
            "trials": fitted.trials,
            "edge_scale_bps": fitted.edge_scale_bps,
        }
        table = oos_table(p, fold, pred)
        if t.meta_label:
            meta = fit_meta(
                p,
                fold.train_start,
                fold.train_end,
                fitted,
                settings,
                opts,
                market_type,
                device,
                num_threads,
            )
            fit_seconds += meta.seconds
            gated, prob = gated_edge(meta, opts.model_type, x_test, pred, t.meta_threshold, num_threads)
            table = oos_table(p, fold, gated).with_columns(
                pl.Series("primary_bps", pred), pl.Series("meta_probability", prob)
            )
            entry["meta"] = meta.to_json()
        tables.append(table)
        fold_logs.append(entry)
    oos = pl.concat(tables)
    n_trials_total = max(
        1, sum(len(f["trials"]) for f in fold_logs)
    )  # trials actually run (budget may shrink)
    ppy = periods_per_year(bar_seconds)
    metrics = evaluate_predictions(oos, market_type, ppy, n_trials_total, p.funding_per_bar)
    metrics["evaluation"] = "out-of-sample walk-forward folds, after costs"
    gates = evaluate_gates(metrics, settings.gates, opts.min_deflated_sharpe)

    if t.final_search == "last_fold":  # the last fold's choice, whose OOS block the metrics just measured
        last = fold_logs[-1]
        final = _refit(p, 0, n, last["params"], last["rounds"], settings, opts, device, num_threads)
    else:
        final = _search_and_fit(p, 0, n, settings, opts, market_type, device, num_threads)
    fit_seconds += final.fit_seconds
    importance = models.gain_importance(opts.model_type, final.booster, p.inputs)
    model_bytes = models.to_bytes(opts.model_type, final.booster)
    final_meta = None
    if t.meta_label:
        final_meta = fit_meta(p, 0, n, final, settings, opts, market_type, device, num_threads)
        fit_seconds += final_meta.seconds
    target_spec = target_record(settings, span, final, final_meta, p, fold_logs)
    metrics["target"] = {
        k: target_spec[k] for k in ("target", "objective", "label_span_bars", "purge_rows", "meta_label")
    }

    previous = complete_models(home, symbol, before=training_date)  # only models known before this date
    write_bytes(model_dir / "model.bin", model_bytes)
    write_parquet(model_dir / "oos_predictions.parquet", oos)
    files = [*PARTIALS, *FINALS]
    if final_meta is not None and final_meta.fitted:
        write_bytes(model_dir / models.META_MODEL_FILE, models.to_bytes(opts.model_type, final_meta.booster))
        files.append(models.META_MODEL_FILE)
    if encoder_dir is not None:
        for name in ENCODER_FILES:
            (model_dir / "encoder").mkdir(exist_ok=True)
            shutil.copyfile(Path(encoder_dir) / Path(name).name, model_dir / name)
        files += list(ENCODER_FILES)
    training_parameters = {
        "model_type": opts.model_type,
        "final_params": final.params,
        "num_boost_round": t.num_boost_round,
        "final_rounds": final.rounds,
        "final_search": t.final_search,
        "early_stopping_rounds": opts.early_stopping_rounds,
        "n_trials_per_search": opts.n_trials,
        "n_trials_total_oos": n_trials_total,
        "seed": t.seed,
        "horizon_bars": t.horizon_bars,
        "folds": t.folds,
        "embargo_bars": t.embargo_bars,
        "window": t.window,
        "min_train_bars": t.min_train_bars,
        "device": device,
        "num_threads": num_threads,
        "target": target_spec,
    }
    write_json(
        model_dir / "config.json",
        {
            **training_parameters,
            "symbol": symbol,
            "bar_seconds": bar_seconds,
            "input_columns": p.inputs,
            "market_type": market_type,
            "encoder_hash": p.encoder_hash,
            "fold_params": [f["params"] for f in fold_logs],
            "options": {f.name: getattr(opts, f.name) for f in fields(opts)},
            "settings": {
                "training": t.model_dump(mode="json"),
                "costs": settings.costs.model_dump(mode="json"),
                "gates": settings.gates.model_dump(mode="json"),
            },
        },
    )
    write_json(model_dir / "metrics.json", {**metrics, "gates": gates.to_json()})
    costs_json = cost_report(
        p, settings, cost_inputs, oos["row"].to_numpy(), bar_seconds
    )  # per-bar, point in time
    write_json(model_dir / "costs.json", costs_json)
    write_json(model_dir / "features.json", recipe_payload(recipe))
    headline = {
        k: metrics[k]
        for k in (
            "sharpe",
            "sortino",
            "hit_rate",
            "net_pnl_bps",
            "net_pnl_pct",
            "max_drawdown_pct",
            "trades",
            "deflated_sharpe",
            "buy_hold_return_pct",
            "last_7d_net_bps",
        )
    }
    write_json(
        model_dir / "metadata.json",
        {
            "model_id": model_id,
            "uuid": model_uuid(model_id),
            "symbol": symbol,
            "version": version,
            "training_date": training_date.isoformat(),
            "created_at": datetime.now(UTC).isoformat(),
            "engine_version": ENGINE_VERSION,
            "performance_metrics": {**headline, "source": "out-of-sample walk-forward folds"},
            "gates_passed": gates.passed,
            "feature_importance": importance,
            "training_parameters": training_parameters,
            "recipe_hash": str(recipe.content_hash),
            "encoder_hash": p.encoder_hash,
            "encoder": {"used": encoder_dir is not None, "hash": p.encoder_hash, "reason": encoder_note},
            "model_sha256": sha256_bytes(model_bytes),
            "n_samples": n,
        },
    )
    train_seconds = time.perf_counter() - start
    write_json(
        model_dir / "training_log.json",
        {
            **log,
            "status": "complete",
            "finished_at": datetime.now(UTC).isoformat(),
            "folds": fold_logs,
            "final_trials": final.trials,
            "final_meta": final_meta.to_json() if final_meta is not None else None,
            "train_seconds": train_seconds,
            "fit_seconds": fit_seconds,
        },
    )
    write_manifest(model_dir, files)  # LAST: only now is the folder a model
    # the coin's current model in the seed's place and fields (a backfill of an older date leaves it)
    write_current_metadata(home, model_dir, settings.market.lookback_days, settings.market.timeframe)
    write_learning_snapshot(
        home, symbol, training_date, model_id, importance, previous[-1] if previous else None, metrics
    )
    return TrainResult(
        symbol,
        model_id,
        model_dir,
        metrics,
        gates,
        n,
        int(metrics["trades"]),
        train_seconds,
        fit_seconds,
        importance,
        None,
    )
