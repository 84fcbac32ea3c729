"""Performance metrics computed from per-period strategy returns and closed trades (DESIGN §3).

Why these definitions: the original reported mean/std × √n_trades (a t-statistic) as "Sharpe".
Here Sharpe is annualised from PER-PERIOD returns (√periods_per_year × mean / std), hit rate is winning
trades / trades, drawdown is on the compounded equity curve, and every PnL is after all costs.

The deflated Sharpe ratio (Bailey & López de Prado, 2014) is the probability that the true Sharpe exceeds
the best Sharpe one would expect from `n_trials` configurations of a strategy with no skill:

    SR0 = sqrt(V) × ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))      (γ = Euler–Mascheroni)
    DSR = Φ( (SR − SR0) √(T − 1) / sqrt(1 − skew·SR + (kurt − 1)/4 · SR²) )

with SR the per-period (non-annualised) Sharpe, T the number of returns, skew and (non-excess) kurtosis
of the returns. V, the variance of Sharpe estimates across trials, is taken as the sampling variance of a
zero-skill Sharpe, 1/(T − 1), unless the trials' own Sharpe ratios are given (then their variance, if larger).

Selection deflation: a champion is not picked from one coin's search alone. The roster (and `huracan
research`) compares every coin of the night, every variant tried and the coin's earlier nights, so the
number that guards a champion is `selection_deflated_sharpe`: the same formula with N = trials per model ×
models compared (`SelectionCount`), computed from the moments metrics.json stores of the OOS returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from huracan_core.backtest import BacktestResult

EULER_GAMMA = 0.5772156649015329
YEAR_S = 365.0 * 86400.0  # crypto trades every day


def periods_per_year(bar_seconds: int) -> float:
    return YEAR_S / bar_seconds


def sharpe_ratio(returns: np.ndarray, ppy: float) -> float:
    """√ppy × mean / std (ddof=1) of per-period returns; 0 when there is no variation."""
    r = np.asarray(returns, dtype=float)
    if len(r) < 2:
        return 0.0
    sd = float(np.std(r, ddof=1))
    if sd <= 1e-15:
        return 0.0
    return float(math.sqrt(ppy) * np.mean(r) / sd)


def sortino_ratio(returns: np.ndarray, ppy: float) -> float:
    """√ppy × mean / downside deviation (root mean square of negative returns, target 0)."""
    r = np.asarray(returns, dtype=float)
    if len(r) < 2:
        return 0.0
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    if downside <= 1e-15:
        return 0.0
    return float(math.sqrt(ppy) * np.mean(r) / downside)


def max_drawdown_pct(value: np.ndarray) -> float:
    """Largest peak-to-trough fall of the equity curve (starting at 1.0), in % of the peak."""
    v = np.concatenate([[1.0], np.asarray(value, dtype=float)])
    peak = np.maximum.accumulate(v)
    return float(np.max(1.0 - v / peak) * 100.0)


def expected_max_sharpe(n_trials: int, variance: float) -> float:
    """SR0: the best per-period Sharpe expected among `n_trials` skill-less configurations."""
    if n_trials <= 1:
        return 0.0
    z1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def _no_skill(n_trials: int) -> dict[str, float]:
    """What a series too short (or flat) to judge deflates to: probability 0, nothing to show for it."""
    return {"dsr": 0.0, "sr": 0.0, "sr0": float("nan"), "skew": 0.0, "kurtosis": 3.0, "n_trials": n_trials}


def deflated_sharpe_from_moments(
    sr: float, periods: int, skew: float, kurtosis: float, n_trials: int, variance: float | None = None
) -> dict[str, float]:
    """The deflated Sharpe of a return series known by its moments: per-period Sharpe `sr`, `periods`
    returns, skew and (non-excess) kurtosis, against the best of `n_trials` skill-less configurations.

    Why from moments: metrics.json stores exactly these four numbers of the OOS after-cost returns, so a
    later count of candidates (the roster's selection count, `selection_deflated_sharpe`) deflates the very
    series the per-model number came from without re-running the backtest. `variance` defaults to the
    sampling variance of a zero-skill Sharpe, 1/(periods - 1)."""
    t = int(periods)
    if t < 3 or not all(math.isfinite(x) for x in (sr, skew, kurtosis)):
        return _no_skill(n_trials)
    v = max(1.0 / (t - 1), variance) if variance is not None else 1.0 / (t - 1)
    sr0 = expected_max_sharpe(n_trials, v)
    denom = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr
    z = (sr - sr0) * math.sqrt(t - 1) / math.sqrt(max(denom, 1e-12))
    return {
        "dsr": float(stats.norm.cdf(z)),
        "sr": float(sr),
        "sr0": sr0,
        "skew": float(skew),
        "kurtosis": float(kurtosis),
        "n_trials": n_trials,
    }


def deflated_sharpe(
    returns: np.ndarray, n_trials: int, trial_sharpes: np.ndarray | None = None
) -> dict[str, float]:
    """Deflated Sharpe ratio probability and its ingredients (per-period, non-annualised)."""
    r = np.asarray(returns, dtype=float)
    t = len(r)
    sd = float(np.std(r, ddof=1)) if t > 1 else 0.0
    if t < 3 or sd <= 1e-15:
        return _no_skill(n_trials)
    sr = float(np.mean(r) / sd)
    skew = float(stats.skew(r, bias=False))
    kurt = float(stats.kurtosis(r, fisher=False, bias=False))
    variance = None
    if trial_sharpes is not None and len(trial_sharpes) >= 2:
        variance = float(np.var(np.asarray(trial_sharpes, dtype=float), ddof=1))
    return deflated_sharpe_from_moments(sr, t, skew, kurt, n_trials, variance)


@dataclass(frozen=True)
class SelectionCount:
    """How many candidates were compared to pick a model: its own search trials plus every other model it
    was picked from. `parts` names what the models are (coins of the night, variants, earlier nights of the
    coin) so a report can show the count behind the number, e.g. 40 trials + 12 other models.

    Why a sum and not trials x models: a model's search never sees its out-of-sample rows (each fold
    searches inside its own training window), so the one OOS Sharpe a model brings to the comparison is the
    outcome of its whole procedure. Its own trials stay counted, as the per-model deflated Sharpe counts
    them (conservatively: they were scored in sample); each other model compared is one more OOS Sharpe
    looked at. Multiplying would charge every other coin's in-sample trials as if each had been compared out
    of sample: at 40 trials x 20 coins no planted AR(1) signal of phi 0.3 passes (Sharpe 7-10, selection-
    deflated 0.83-0.93), i.e. no night could ever hand out a champion."""

    trials_per_model: int
    models: int
    parts: dict[str, int] = field(default_factory=dict)

    @property
    def n_candidates(self) -> int:
        return max(1, int(self.trials_per_model)) + max(1, int(self.models)) - 1

    def describe(self) -> str:
        shown = ", ".join(f"{k} {v}" for k, v in self.parts.items())
        others = max(1, int(self.models)) - 1
        return f"{self.n_candidates} candidates = {self.trials_per_model} trials + {others} other models" + (
            f" ({shown})" if shown else ""
        )


MOMENT_KEYS = ("per_period_sharpe", "periods", "return_skew", "return_kurtosis")


def selection_deflated_sharpe(metrics: Mapping[str, Any], count: SelectionCount) -> dict[str, Any]:
    """The deflated Sharpe of a model's OOS after-cost returns (their moments in `metrics`, as written by
    `backtest_metrics`) against every candidate compared to select it (`count`), not only its own search
    trials. With one model it equals the per-model `deflated_sharpe`; it falls as the count grows.

    Returns {"dsr": probability or None when the metrics lack the moments, "sr0", "n_candidates", ...}:
    a model whose returns are unknown has no selection-deflated value and passes no check on it."""
    out: dict[str, Any] = {
        "dsr": None,
        "sr0": None,
        "n_candidates": count.n_candidates,
        "trials_per_model": count.trials_per_model,
        "models": count.models,
        "parts": dict(count.parts),
    }
    raw = [metrics.get(k) for k in MOMENT_KEYS]
    if not all(isinstance(v, int | float) and math.isfinite(float(v)) for v in raw):
        return out
    if "deflated_sharpe_sr0" in metrics and metrics["deflated_sharpe_sr0"] is None:
        out["dsr"] = 0.0  # a constant or too short series: backtest_metrics gave it 0, so does the selection
        return out
    sr, periods, skew, kurt = (float(v) for v in raw)  # type: ignore[arg-type]
    d = deflated_sharpe_from_moments(sr, int(periods), skew, kurt, count.n_candidates)
    out["dsr"] = d["dsr"]
    out["sr0"] = _finite(d["sr0"])
    return out


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def backtest_metrics(bt: BacktestResult, ppy: float, n_trials: int = 1) -> dict[str, Any]:
    """Every reported after-cost metric of one backtest. Values are JSON-safe (None when undefined)."""
    trades = bt.n_trades
    wins = int(np.sum(bt.trade_return > 0))
    net_bps = float(np.sum(bt.trade_return) * 1e4)
    gross_bps = float(np.sum(bt.trade_gross_return) * 1e4)
    cost_bps = gross_bps - net_bps
    periods = len(bt.returns)
    dsr = deflated_sharpe(bt.returns, n_trials)
    return {
        "sharpe": sharpe_ratio(bt.returns, ppy),
        "sortino": sortino_ratio(bt.returns, ppy),
        "hit_rate": wins / trades if trades else 0.0,
        "trades": trades,
        "winning_trades": wins,
        "net_pnl_bps": net_bps,
        "net_pnl_pct": float((bt.value[-1] - 1.0) * 100.0),
        "gross_pnl_bps": gross_bps,
        "cost_bps": cost_bps,
        "cost_share_of_gross": _finite(cost_bps / gross_bps) if gross_bps > 0 else None,
        "max_drawdown_pct": max_drawdown_pct(bt.value),
        "turnover": bt.legs / periods if periods else 0.0,
        "exposure": float(np.mean(bt.position != 0)) if periods else 0.0,
        "avg_trade_net_bps": net_bps / trades if trades else 0.0,
        "periods": periods,
        "periods_per_year": ppy,
        "deflated_sharpe": dsr["dsr"],
        "deflated_sharpe_sr0": _finite(dsr["sr0"]),
        "per_period_sharpe": dsr["sr"],
        "return_skew": dsr["skew"],
        "return_kurtosis": dsr["kurtosis"],
        "n_trials": n_trials,
    }


def buy_and_hold(prices: np.ndarray, ppy: float) -> dict[str, float]:
    """Holding the coin over the same execution grid, no costs: the bar a model must clear."""
    p = np.asarray(prices, dtype=float)
    rets = p[1:] / p[:-1] - 1.0
    value = p / p[0]
    return {
        "buy_hold_return_pct": float((p[-1] / p[0] - 1.0) * 100.0),
        "buy_hold_sharpe": sharpe_ratio(rets, ppy),
        "buy_hold_max_drawdown_pct": max_drawdown_pct(value),
    }
