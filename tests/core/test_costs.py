"""The DESIGN §3 round-trip cost: every component, in bps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from huracan_core.config import CostSettings
from huracan_core.costs import (
    ADV_FALLBACK,
    SPREAD_FALLBACK,
    CostInputs,
    cost_breakdown,
    leg_cost_fraction,
    point_in_time_inputs,
    rolling_adv_usd,
    round_trip_cost_bps,
)

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
    assert cost_breakdown(
        SPOT, CostSettings(trade_size_usd=40_000), 0.01, 1, 3600
    ).slippage_bps == pytest.approx(2 * b)
    assert cost_breakdown(SPOT, base, 0.02, 1, 3600).slippage_bps == pytest.approx(2 * b)
    thin = CostInputs(2.0, 2.0, 4.0, adv_usd=1e6)
    assert cost_breakdown(thin, base, 0.01, 1, 3600).slippage_bps == pytest.approx(10 * b)


def test_funding_only_for_perps_per_8h_held() -> None:
    perp = CostInputs(2.0, 2.0, 4.0, 1e8, market_type="swap")
    costs = CostSettings(funding_bps_per_8h=1.0, slippage_impact_coef=0)
    assert round_trip_cost_bps(perp, costs, 0.0, holding_bars=16, bar_seconds=3600) == pytest.approx(
        10.0 + 2.0
    )
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


def test_per_bar_spread_and_adv_replace_the_scalar_quote() -> None:
    costs = CostSettings(slippage_impact_coef=0.1, trade_size_usd=10_000)
    spread = np.array([1.0, 5.0, 20.0])
    adv = np.array([1e8, 1e6, 1e8])
    b = cost_breakdown(SPOT, costs, 0.01, 1, 3600, spread_bps=spread, adv_usd=adv)
    one = 0.1 * (0.01 * math.sqrt(24) * 1e4) * math.sqrt(10_000 / 1e8)
    np.testing.assert_allclose(b.slippage_bps, [one, 10 * one, one])
    np.testing.assert_allclose(b.total_bps, 2 * 4.0 + spread + 2 * np.array([one, 10 * one, one]))
    assert b.summary()["spread_bps"] == pytest.approx(26.0 / 3)


def test_rolling_adv_is_trailing_quote_volume_scaled_to_a_day() -> None:
    close = np.array([10.0, 20.0, 30.0, 40.0])
    volume = np.array([1.0, 1.0, 2.0, 0.0])
    # hourly bars, 2-bar window: mean of close*volume over bars t-1..t (just t at the start) x 24
    np.testing.assert_allclose(rolling_adv_usd(close, volume, 2, 3600), [240.0, 360.0, 960.0, 720.0])
    assert rolling_adv_usd(close, volume, 1, 86400)[2] == pytest.approx(60.0)
    full = rolling_adv_usd(close, volume, 2, 3600)
    later = rolling_adv_usd(np.append(close, 1e6), np.append(volume, 1e6), 2, 3600)
    np.testing.assert_array_equal(later[:4], full)  # a later bar never changes an earlier ADV


def test_point_in_time_inputs_name_their_source_and_fall_back_honestly() -> None:
    n = 40
    h, lo = np.full(n, 100.5), np.full(n, 99.5)
    c = np.where(np.arange(n) % 2 == 0, 99.5, 100.5)
    vol = np.ones(n)
    vol[:30] = 0.0  # no trade in the first 30 bars
    costs = CostSettings(
        spread_window_bars=10, adv_window_bars=5, default_spread_bps=7.0, spread_floor_bps=0.5
    )
    pit = point_in_time_inputs(h, lo, c, vol, costs, 3600)
    assert pit.spread_source[:5].tolist() == [SPREAD_FALLBACK] * 5  # warm-up (< 5 pairs): the default
    assert np.all(pit.spread_bps[:5] == 7.0)
    assert set(pit.spread_source[5:]) == {"abdi_ranaldo"}
    np.testing.assert_allclose(pit.spread_bps[5:], math.log(100.5 / 99.5) * 1e4)
    assert set(pit.adv_source[:30]) == {ADV_FALLBACK} and np.all(pit.adv_usd[:30] == costs.trade_size_usd)
    assert set(pit.adv_source[30:]) == {"rolling_quote_volume"} and np.all(pit.adv_usd[30:] > 0)
    fixed = point_in_time_inputs(h, lo, c, vol, CostSettings(spread_estimator="default"), 3600)
    assert set(fixed.spread_source) == {SPREAD_FALLBACK}
    cs = point_in_time_inputs(
        h, lo, c, vol, CostSettings(spread_estimator="corwin_schultz", spread_window_bars=10), 3600
    )
    np.testing.assert_allclose(cs.spread_bps[5:], 100.0)
