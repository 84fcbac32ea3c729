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
"""

from __future__ import annotations

import math
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


def deflated_sharpe(
    returns: np.ndarray, n_trials: int, trial_sharpes: np.ndarray | None = None
) -> dict[str, float]:
    """Deflated Sharpe ratio probability and its ingredients (per-period, non-annualised)."""
    r = np.asarray(returns, dtype=float)
    t = len(r)
    sd = float(np.std(r, ddof=1)) if t > 1 else 0.0
    if t < 3 or sd <= 1e-15:
        return {
            "dsr": 0.0,
            "sr": 0.0,
            "sr0": float("nan"),
            "skew": 0.0,
            "kurtosis": 3.0,
            "n_trials": n_trials,
        }
    sr = float(np.mean(r) / sd)
    skew = float(stats.skew(r, bias=False))
    kurt = float(stats.kurtosis(r, fisher=False, bias=False))
    variance = 1.0 / (t - 1)
    if trial_sharpes is not None and len(trial_sharpes) >= 2:
        variance = max(variance, float(np.var(np.asarray(trial_sharpes, dtype=float), ddof=1)))
    sr0 = expected_max_sharpe(n_trials, variance)
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    z = (sr - sr0) * math.sqrt(t - 1) / math.sqrt(max(denom, 1e-12))
    return {
        "dsr": float(stats.norm.cdf(z)),
        "sr": sr,
        "sr0": sr0,
        "skew": skew,
        "kurtosis": kurt,
        "n_trials": n_trials,
    }


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
