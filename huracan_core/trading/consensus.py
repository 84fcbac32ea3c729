"""Engine consensus: a reliability-weighted score S, a confidence, and the two-part trade filter.

Point in time, which is the whole point: the vote of an engine at bar s is judged by the label of bar s
(the forward log return from open[s+1] to open[s+1+h], labels.py), and that outcome is known only once
bar s+h+1 has closed. So the weight of an engine at bar t counts only votes at s <= t - h - 1, over the
last `reliability_window` such outcomes; appending future bars never changes a weight, a score or a
decision already made (a test appends bars and compares).

    accuracy_e,t = (hits + 1) / (votes + 2)                      (Laplace: an unknown engine is a coin flip)
    w_e,t        = max(accuracy_e,t - 0.5, 0)   when votes >= min_reliability_obs, else 0
    S_t          = sum_e w_e,t v_e,t / sum_e w_e,t                (in [-1, 1]; 0 when no engine has earned trust)
    confidence_t = 100 x agreement x reliability, agreement = |sum w v| / sum w |v|,
                   reliability = w-weighted accuracy of the engines that voted (a coin flip caps it at 50 %)

Trade filter (both must hold): |S_t| > k x std(S over the last `score_std_window` bars) and the expected
edge beats the round trip plus the safety margin. The expected edge is S_t times the slope of past labels
on past scores (least squares through the origin over the last `edge_window` known outcomes, same
point-in-time rule), so it is in bps and is zero or against S when S has not paid before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from huracan_core.config import TradingSettings


@dataclass(frozen=True)
class Consensus:
    """Per-bar consensus of one coin (arrays of length n; `weights` and `accuracy` are n x engines)."""

    score: np.ndarray
    score_std: np.ndarray
    confidence: np.ndarray
    edge_bps: np.ndarray
    weights: np.ndarray
    accuracy: np.ndarray


def _trailing_known(x: np.ndarray, lag: int, window: int) -> np.ndarray:
    """Row t: sum of x[s] for s in [t - lag - window + 1, t - lag] (rows of x are bars; any trailing shape)."""
    n = x.shape[0]
    cs = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)])
    end = np.clip(np.arange(n) - lag + 1, 0, n)
    start = np.clip(end - window, 0, n)
    return cs[end] - cs[start]


def engine_weights(
    votes: np.ndarray, label_bps: np.ndarray, horizon: int, window: int, min_obs: int
) -> tuple[np.ndarray, np.ndarray]:
    """(weights, accuracy) per bar and engine from outcomes known at each bar (see module doc)."""
    lag = horizon + 1
    y = np.asarray(label_bps, dtype=float)[:, None]
    voted = np.isfinite(votes) & (votes != 0) & np.isfinite(y) & (y != 0)
    hit = voted & (np.sign(np.nan_to_num(votes)) == np.sign(np.nan_to_num(y)))
    n_votes = _trailing_known(voted.astype(float), lag, window)
    n_hits = _trailing_known(hit.astype(float), lag, window)
    accuracy = (n_hits + 1.0) / (n_votes + 2.0)
    weights = np.where(n_votes >= min_obs, np.maximum(accuracy - 0.5, 0.0), 0.0)
    return weights, accuracy


def rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """Sample std over the last `window` values up to and including t (NaN until 10 values)."""
    return pl.Series(np.asarray(x, dtype=float)).rolling_std(window, min_samples=min(10, window)).to_numpy()


def compute_consensus(
    votes: np.ndarray, label_bps: np.ndarray, horizon: int, settings: TradingSettings
) -> Consensus:
    """Score, confidence and expected edge per bar from the votes (n x engines) and the labels (n,)."""
    votes = np.asarray(votes, dtype=float)
    if votes.ndim != 2 or votes.shape[0] != len(label_bps):
        raise ValueError(f"votes must be (bars, engines) matching {len(label_bps)} labels, got {votes.shape}")
    w, acc = engine_weights(
        votes, label_bps, horizon, settings.reliability_window, settings.min_reliability_obs
    )
    v = np.nan_to_num(votes)
    total = w.sum(axis=1)
    wv = (w * v).sum(axis=1)
    wabs = (w * np.abs(v)).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(total > 0, wv / total, 0.0)
        agreement = np.where(wabs > 0, np.abs(wv) / wabs, 0.0)
        active = w * (v != 0)
        reliability = np.where(active.sum(axis=1) > 0, (active * acc).sum(axis=1) / active.sum(axis=1), 0.5)
    confidence = 100.0 * agreement * reliability * (total > 0)

    # expected edge: slope of known labels on known scores, through the origin
    y = np.asarray(label_bps, dtype=float)
    known = np.isfinite(y)
    sy = np.where(known, score * np.nan_to_num(y), 0.0)
    ss = np.where(known, score * score, 0.0)
    cnt = np.where(known & (score != 0), 1.0, 0.0)
    lag = horizon + 1
    num = _trailing_known(sy, lag, settings.edge_window)
    den = _trailing_known(ss, lag, settings.edge_window)
    n_edge = _trailing_known(cnt, lag, settings.edge_window)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where((den > 0) & (n_edge >= settings.min_reliability_obs), num / den, 0.0)
    return Consensus(
        score=score,
        score_std=rolling_std(score, settings.score_std_window),
        confidence=confidence,
        edge_bps=slope * score,
        weights=w,
        accuracy=acc,
    )


def decide(
    cons: Consensus,
    threshold_bps: np.ndarray | float,
    k: float | np.ndarray,
    market_type: str = "spot",
) -> np.ndarray:
    """Direction per bar (+1, -1, 0): |S| > k x std(S) AND the expected edge, in S's direction, beats
    `threshold_bps` (round trip + safety margin). Shorts only on swaps, as in backtest.signal_positions."""
    thr = np.asarray(threshold_bps, dtype=float)
    with np.errstate(invalid="ignore"):
        strong = np.abs(cons.score) > np.asarray(k, dtype=float) * np.nan_to_num(cons.score_std, nan=np.inf)
        long_ = strong & (cons.score > 0) & (cons.edge_bps > thr)
        short = strong & (cons.score < 0) & (-cons.edge_bps > thr)
    out = np.where(long_, 1.0, 0.0)
    if market_type == "swap":
        out = np.where(short, -1.0, out)
    return out
