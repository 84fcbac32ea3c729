"""Metrics: annualised per-period Sharpe (not a t-stat), Sortino, drawdown, deflated Sharpe."""

from __future__ import annotations

import math

import numpy as np
import pytest

from huracan_core.backtest import run_backtest
from huracan_core.metrics import (
    backtest_metrics,
    buy_and_hold,
    deflated_sharpe,
    expected_max_sharpe,
    max_drawdown_pct,
    periods_per_year,
    sharpe_ratio,
    sortino_ratio,
)


def test_sharpe_is_annualised_from_per_period_returns_not_a_t_stat() -> None:
    r = np.random.default_rng(0).normal(0.001, 0.01, 500)
    assert sharpe_ratio(r, 365) == pytest.approx(math.sqrt(365) * r.mean() / r.std(ddof=1))
    # doubling the sample leaves the Sharpe about the same (a t-stat would grow by √2)
    r2 = np.concatenate([r, r])
    assert sharpe_ratio(r2, 365) == pytest.approx(sharpe_ratio(r, 365), rel=1e-3)
    assert sharpe_ratio(np.zeros(10), 365) == 0.0
    assert periods_per_year(3600) == 8760


def test_sortino_uses_downside_only() -> None:
    r = np.array([0.02, -0.01, 0.03, -0.02])
    down = math.sqrt(np.mean(np.minimum(r, 0) ** 2))
    assert sortino_ratio(r, 1) == pytest.approx(r.mean() / down)


def test_max_drawdown_on_the_equity_curve_in_percent() -> None:
    assert max_drawdown_pct(np.array([1.1, 0.99, 1.2, 0.6])) == pytest.approx(50.0)
    assert max_drawdown_pct(np.array([0.9])) == pytest.approx(10.0)


def test_deflated_sharpe_charges_for_trials() -> None:
    r = np.random.default_rng(1).normal(0.0015, 0.01, 1000)  # t ≈ 4.7
    one, many = deflated_sharpe(r, 1)["dsr"], deflated_sharpe(r, 1000)["dsr"]
    assert one > 0.99 and many < one
    assert expected_max_sharpe(1, 1.0) == 0.0
    assert expected_max_sharpe(100, 1.0) == pytest.approx(2.5, abs=0.1)


def test_deflated_sharpe_of_noise_is_rarely_high() -> None:
    rng = np.random.default_rng(2)
    dsr = [deflated_sharpe(rng.standard_t(4, 800), 20)["dsr"] for _ in range(300)]
    assert np.mean(np.array(dsr) > 0.95) < 0.02


def test_backtest_metrics_definitions() -> None:
    p = np.array([100.0, 102.0, 101.0, 99.0, 103.0, 104.0])
    bt = run_backtest(p, np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0]), 0.0005)
    m = backtest_metrics(bt, 8760, n_trials=3)
    assert m["trades"] == 2
    assert m["hit_rate"] == pytest.approx(np.mean(bt.trade_return > 0))
    assert m["net_pnl_bps"] == pytest.approx(np.sum(bt.trade_return) * 1e4)
    assert m["net_pnl_pct"] == pytest.approx((bt.value[-1] - 1) * 100)
    assert m["cost_bps"] == pytest.approx(m["gross_pnl_bps"] - m["net_pnl_bps"])
    assert 0 < m["cost_share_of_gross"] < 1
    assert m["turnover"] == pytest.approx(4 / 6)
    bh = buy_and_hold(p, 8760)
    assert bh["buy_hold_return_pct"] == pytest.approx(4.0)
