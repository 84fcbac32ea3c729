"""After-cost backtest: hand-computed trades, and vectorbt's from_signals on identical signals and fees."""

from __future__ import annotations

import numpy as np
import pytest

from huracan_core.backtest import run_backtest, signal_positions


def test_one_long_trade_by_hand() -> None:
    p = np.array([100.0, 110.0, 121.0, 121.0])
    bt = run_backtest(p, np.array([1.0, 1.0, 0.0, 0.0]), leg_cost=0.001)
    expected = (1 / 1.001) * (121 / 100) * (1 - 0.001)
    assert bt.value[-1] == pytest.approx(expected, rel=1e-14)
    assert bt.n_trades == 1 and bt.trade_return[0] == pytest.approx(expected - 1, rel=1e-12)
    assert bt.trade_gross_return[0] == pytest.approx(0.21)
    assert np.prod(1 + bt.returns) == pytest.approx(bt.value[-1])


def test_one_short_trade_by_hand() -> None:
    p = np.array([100.0, 90.0, 80.0])
    bt = run_backtest(p, np.array([-1.0, -1.0, 0.0]), leg_cost=0.001)
    n = 1 / 1.001
    expected = n * (2 - 0.8) - n * 0.8 * 0.001
    assert bt.value[-1] == pytest.approx(expected, rel=1e-14)
    assert bt.trade_side.tolist() == [-1]


def test_flip_costs_both_legs_and_open_position_is_closed_at_the_end() -> None:
    p = np.array([100.0, 100.0, 100.0, 100.0])
    bt = run_backtest(p, np.array([1.0, -1.0, -1.0, -1.0]), leg_cost=0.001)
    assert bt.n_trades == 2 and bt.legs == 4
    assert bt.value[-1] == pytest.approx((1 / 1.001) * 0.999 * (1 / 1.001) * (1 - 0.001), rel=1e-12)


def test_funding_is_charged_per_bar_held() -> None:
    p = np.full(5, 100.0)
    bt = run_backtest(p, np.array([1.0, 1.0, 1.0, 1.0, 0.0]), leg_cost=0.0, funding_per_bar=1e-4)
    assert bt.value[-1] == pytest.approx((1 - 1e-4) ** 4)


def test_signal_rule_spot_long_flat_swap_long_short() -> None:
    pred = np.array([20.0, 5.0, -20.0, np.nan])
    assert signal_positions(pred, 13.0, "spot").tolist() == [1, 0, 0, 0]
    assert signal_positions(pred, 13.0, "swap").tolist() == [1, 0, -1, 0]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        run_backtest(np.array([1.0, -2.0]), np.array([1.0, 0.0]), 0.0)
    with pytest.raises(ValueError):
        run_backtest(np.array([1.0, 2.0]), np.array([1.0]), 0.0)


@pytest.mark.parametrize("direction", ["longonly", "both"])
def test_same_pnl_as_vectorbt_from_signals(direction: str) -> None:
    pd = pytest.importorskip("pandas")
    vbt = pytest.importorskip("vectorbt")
    rng = np.random.default_rng(3)
    n = 2000
    p = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    choices = [0.0, 1.0] if direction == "longonly" else [-1.0, 0.0, 1.0]
    target = rng.choice(choices, size=n)
    target[-1] = 0
    fees = rng.uniform(3e-4, 8e-4, n)
    ours = run_backtest(p, target, fees)
    prev = np.concatenate([[0.0], target[:-1]])
    kw = {"entries": (target > 0) & (prev <= 0), "exits": (target <= 0) & (prev > 0)}
    if direction == "both":
        kw |= {
            "short_entries": (target < 0) & (prev >= 0),
            "short_exits": (target >= 0) & (prev < 0),
            "upon_opposite_entry": "reverse",
        }
    pf = vbt.Portfolio.from_signals(
        pd.Series(p),
        fees=fees,
        init_cash=1.0,
        size=np.inf,
        **{k: pd.Series(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()},
    )
    theirs = pf.value().to_numpy()
    assert np.max(np.abs(ours.value / theirs - 1)) <= 1e-9
    assert ours.n_trades == int(pf.trades.count())
