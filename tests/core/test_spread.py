"""High-low spread estimators (huracan_core/spread.py): hand-computed cases, the papers' treatment of negative
estimates, recovery of a known spread, and point-in-time behaviour (bar t never sees a later bar)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from huracan_core.spread import (
    abdi_ranaldo,
    abdi_ranaldo_products,
    corwin_schultz,
    corwin_schultz_pairs,
    estimate_spread_bps,
    trailing_mean,
)

K = 3 - 2 * math.sqrt(2)


def _cs_by_hand(h0: float, l0: float, h1: float, l1: float) -> float:
    beta = math.log(h0 / l0) ** 2 + math.log(h1 / l1) ** 2
    gamma = math.log(max(h0, h1) / min(l0, l1)) ** 2
    alpha = (math.sqrt(2 * beta) - math.sqrt(beta)) / K - math.sqrt(gamma / K)
    return 2 * (math.exp(alpha) - 1) / (1 + math.exp(alpha))


def _bounce(n: int, bid: float = 99.5, ask: float = 100.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mid fixed at 100, every bar trades at both bid and ask, closes alternate between them."""
    close = np.where(np.arange(n) % 2 == 0, bid, ask)
    return np.full(n, ask), np.full(n, bid), close


def test_pure_bid_ask_bounce_by_hand() -> None:
    # CS: beta = 2x^2, gamma = x^2 with x = ln(ask/bid) -> alpha = x -> S = 2 tanh(x/2) = (ask-bid)/mid = 1 %
    # AR: c - eta = -+x/2 on every bar, so 4 E[(c_t - eta_t)(c_t - eta_t+1)] = x^2 -> S = x = ln(ask/bid)
    h, lo, c = _bounce(40)
    cs = corwin_schultz(h, lo, c, window=10)
    ar = abdi_ranaldo(h, lo, c, window=10)
    assert np.all(np.isnan(cs[:5])) and np.all(np.isnan(ar[:5]))  # fewer than 5 pairs (half the window)
    assert cs[5:] == pytest.approx(np.full(35, 0.01), rel=1e-12)
    assert ar[5:] == pytest.approx(np.full(35, math.log(100.5 / 99.5)), rel=1e-12)
    assert estimate_spread_bps(h, lo, c, "corwin_schultz", 10)[-1] == pytest.approx(100.0, rel=1e-12)


def test_corwin_schultz_two_bar_formula_and_gap_adjustment() -> None:
    h = np.array([102.0, 103.0, 106.0])
    lo = np.array([100.0, 101.0, 104.0])
    c = np.array([101.0, 101.5, 105.0])
    pairs = corwin_schultz_pairs(h, lo, c)
    assert np.isnan(pairs[0])
    assert pairs[1] == pytest.approx(_cs_by_hand(102, 100, 103, 101), rel=1e-12)
    # bar 2 trades entirely above the previous close 101.5: shifted down by its low's gap (104 - 101.5)
    assert pairs[2] == pytest.approx(_cs_by_hand(103, 101, 106 - 2.5, 104 - 2.5), rel=1e-12)
    assert pairs[2] != pytest.approx(_cs_by_hand(103, 101, 106, 104))


def test_negative_estimates_are_zero_as_in_the_papers_and_the_floor_applies() -> None:
    h = np.array([102.0, 103.0, 103.0])
    lo = np.array([100.0, 101.0, 101.0])
    c = np.array([101.0, 102.0, 102.0])
    assert corwin_schultz_pairs(h, lo, c)[1] < 0  # a trend inside the pair: the raw estimate is negative
    assert corwin_schultz(h, lo, c, window=2, min_pairs=1)[1] == 0.0
    # CS sets negative two-bar estimates to 0 BEFORE averaging: mean(0, 0.01) = 0.005, not mean(neg, 0.01)
    h2, l2, c2 = (
        np.array([102.0, 103.0, 100.5, 100.5]),
        np.array([100.0, 101.0, 99.5, 99.5]),
        np.array([101.0, 100.0, 99.5, 100.5]),
    )
    pairs = corwin_schultz_pairs(h2, l2, c2)
    assert pairs[2] < 0 < pairs[3]
    expected = np.mean(np.maximum(pairs[2:4], 0.0))
    assert corwin_schultz(h2, l2, c2, window=2, min_pairs=2)[3] == pytest.approx(expected, rel=1e-12)
    # AR: products of a steady trend are negative on average -> 0 (the paper's treatment), then the floor
    up = np.linspace(100, 120, 30)
    h3, l3, c3 = up * 1.002, up * 0.998, up * 1.0015
    assert np.nanmean(abdi_ranaldo_products(h3, l3, c3)) < 0
    assert np.all(abdi_ranaldo(h3, l3, c3, window=10)[5:] == 0.0)
    assert np.all(estimate_spread_bps(h3, l3, c3, "abdi_ranaldo", 10, floor_bps=1.5)[5:] == 1.5)


def test_recovers_a_known_spread_from_simulated_trades() -> None:
    """Mid random walk, every trade at bid or ask (spread 50 bps, bar volatility 20 bps): both estimators
    land within 10 % of the true spread (a spread-dominated market, the case the papers calibrate)."""
    rng = np.random.default_rng(11)
    bars, ticks, spread = 300, 200, 50e-4
    mid = np.cumsum(rng.normal(0, 0.002 / math.sqrt(ticks), (bars, ticks)).ravel()).reshape(bars, ticks)
    px = 100 * np.exp(mid + rng.choice([-1, 1], size=(bars, ticks)) * spread / 2)
    h, lo, c = px.max(1), px.min(1), px[:, -1]
    for name in ("corwin_schultz", "abdi_ranaldo"):
        est = estimate_spread_bps(h, lo, c, name, window=100)
        assert np.nanmean(est) == pytest.approx(50.0, rel=0.1), name


@pytest.mark.parametrize("name", ["corwin_schultz", "abdi_ranaldo"])
def test_value_at_t_ignores_every_later_bar(name: str) -> None:
    rng = np.random.default_rng(5)
    n = 400
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    h = c * np.exp(np.abs(rng.normal(0, 0.005, n)))
    lo = c * np.exp(-np.abs(rng.normal(0, 0.005, n)))
    full = estimate_spread_bps(h, lo, c, name, window=30, floor_bps=0.5)
    for t in (20, 150, 399):
        head = estimate_spread_bps(h[: t + 1], lo[: t + 1], c[: t + 1], name, window=30, floor_bps=0.5)
        np.testing.assert_array_equal(head, full[: t + 1])  # appending bars changes nothing before them
        h2, l2, c2 = h.copy(), lo.copy(), c.copy()
        h2[t + 1 :] *= 1.5
        l2[t + 1 :] *= 0.5
        c2[t + 1 :] *= 1.2
        altered = estimate_spread_bps(h2, l2, c2, name, window=30, floor_bps=0.5)
        np.testing.assert_array_equal(altered[: t + 1], full[: t + 1])
    # and it does depend on the bars inside its window
    h3 = h.copy()
    h3[140:151] *= 1.05
    assert estimate_spread_bps(h3, lo, c, name, window=30, floor_bps=0.5)[150] != full[150]


def test_trailing_mean_and_bad_inputs() -> None:
    x = np.array([1.0, np.nan, 3.0, 5.0])
    np.testing.assert_allclose(trailing_mean(x, 2, 1), [1.0, 1.0, 3.0, 4.0])
    assert np.isnan(trailing_mean(x, 2, 2)[2]) and trailing_mean(x, 2, 2)[3] == 4.0
    with pytest.raises(ValueError, match="estimator"):
        estimate_spread_bps(x, x, x, "roll", 10)
    with pytest.raises(ValueError, match="equal length"):
        corwin_schultz_pairs(np.ones(3), np.ones(2), np.ones(3))
    # a broken bar (low above high) gives no estimate for its pairs instead of a made-up one
    pairs = corwin_schultz_pairs(
        np.array([101.0, 99.0, 101.0]), np.array([99.0, 101.0, 99.0]), np.array([100.0, 100.0, 100.0])
    )
    assert np.isnan(pairs[1]) and np.isnan(pairs[2])
