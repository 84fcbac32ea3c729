"""The DESIGN §3 round-trip cost: every component, in bps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from huracan_core.config import CostSettings
from huracan_core.costs import CostInputs, cost_breakdown, leg_cost_fraction, round_trip_cost_bps

SPOT = CostInputs(spread_bps=2.0, maker_fee_bps=2.0, taker_fee_bps=4.0, adv_usd=1e8)


def test_round_trip_is_two_fees_spread_two_slippages() -> None:
    costs = CostSettings(slippage_impact_coef=0.1, trade_size_usd=10_000)
    vol = 0.01  # 1 % per hourly bar
    slip = 0.1 * (0.01 * math.sqrt(24) * 1e4) * math.sqrt(10_000 / 1e8)
    total = round_trip_cost_bps(SPOT, costs, vol, holding_bars=1, bar_seconds=3600)
    assert total == pytest.approx(2 * 4.0 + 2.0 + 2 * slip)


def test_maker_fees_when_configured() -> None:
    maker = round_trip_cost_bps(SPOT, CostSettings(use_maker=True, slippage_impact_coef=0), 0.01, 1, 3600)
    assert maker == pytest.approx(2 * 2.0 + 2.0)


def test_slippage_grows_with_size_and_volatility_and_falls_with_liquidity() -> None:
    base = CostSettings()
    b = cost_breakdown(SPOT, base, 0.01, 1, 3600).slippage_bps
    assert cost_breakdown(SPOT, CostSettings(trade_size_usd=40_000), 0.01, 1, 3600).slippage_bps == pytest.approx(2 * b)
    assert cost_breakdown(SPOT, base, 0.02, 1, 3600).slippage_bps == pytest.approx(2 * b)
    thin = CostInputs(2.0, 2.0, 4.0, adv_usd=1e6)
    assert cost_breakdown(thin, base, 0.01, 1, 3600).slippage_bps == pytest.approx(10 * b)


def test_funding_only_for_perps_per_8h_held() -> None:
    perp = CostInputs(2.0, 2.0, 4.0, 1e8, market_type="swap")
    costs = CostSettings(funding_bps_per_8h=1.0, slippage_impact_coef=0)
    assert round_trip_cost_bps(perp, costs, 0.0, holding_bars=16, bar_seconds=3600) == pytest.approx(10.0 + 2.0)
    assert round_trip_cost_bps(SPOT, costs, 0.0, holding_bars=16, bar_seconds=3600) == pytest.approx(10.0)
    assert cost_breakdown(perp, costs, 0.0, 3, 86400).funding_bps == pytest.approx(9.0)


def test_per_bar_volatility_gives_per_bar_costs() -> None:
    vol = np.array([0.005, 0.01, 0.02])
    out = round_trip_cost_bps(SPOT, CostSettings(), vol, 1, 3600)
    assert out.shape == (3,) and np.all(np.diff(out) > 0)
    assert leg_cost_fraction(out).shape == (3,)
    assert leg_cost_fraction(20.0) == pytest.approx(0.001)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="market_type"):
        CostInputs(2, 2, 4, 1e8, market_type="future")
    with pytest.raises(ValueError, match="adv_usd"):
        CostInputs(2, 2, 4, float("nan"))
    with pytest.raises(ValueError, match="holding_bars"):
        round_trip_cost_bps(SPOT, CostSettings(), 0.01, 0, 3600)
