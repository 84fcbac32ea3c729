"""Funding by settlement: a long held across a positive settlement pays it, a short receives it (by hand),
the constant only where no rate is recorded, and no rate published after t changes a cost at t."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from huracan_core.backtest import run_backtest, trade_details
from huracan_core.config import CostSettings
from huracan_core.funding import FUNDING_CONSTANT, FUNDING_RECORDED, FundingSeries, bar_funding

HOUR_MS = 3_600_000
T0 = 1_747_699_200_000  # 2025-05-20 00:00 UTC, a settlement hour
COSTS = CostSettings(funding_bps_per_8h=1.0)


def series(times: list[int], rates: list[float], covered_to: int) -> FundingSeries:
    frame = pl.DataFrame({"timestamp": times, "funding_rate": rates})
    return FundingSeries.from_frame(frame, "test", covered_to)


def test_a_long_pays_a_positive_settlement_and_a_short_receives_it() -> None:
    # hourly bars; decisions (= fills) at T0-2h, T0-1h, T0, T0+1h: the settlement at T0 + 5 ms (Binance's
    # settlements land a few ms after the hour) falls inside the hold (T0, T0 + 1h] of the row decided at T0
    rate = 0.0004  # 4 bps
    fs = series([T0 - 8 * HOUR_MS + 3, T0 + 5], [0.0001, rate], covered_to=T0 + 10 * HOUR_MS)
    decisions = np.array([T0 - 2 * HOUR_MS, T0 - HOUR_MS, T0, T0 + HOUR_MS])
    bf = bar_funding(decisions, 3600, 1, COSTS, "swap", fs)
    assert bf.long.tolist() == [0.0, 0.0, rate, 0.0]
    assert bf.short.tolist() == [0.0, 0.0, -rate, 0.0]
    assert set(bf.source.tolist()) == {FUNDING_RECORDED}

    # a position entered at T0 and left at T0 + 1h at one flat price, no fees: the account is the funding
    prices = np.full(3, 100.0)
    grid_long = np.array([0.0, bf.long[2], 0.0])  # grid bar 1 pays what row 2 paid while held
    grid_short = np.array([0.0, bf.short[2], 0.0])
    long = run_backtest(prices, np.array([1, 0, 0]), 0.0, funding_long=grid_long, funding_short=grid_short)
    short = run_backtest(prices, np.array([-1, 0, 0]), 0.0, funding_long=grid_long, funding_short=grid_short)
    assert long.value[-1] == pytest.approx(1.0 - 0.0004, abs=1e-15)  # paid 4 bps
    assert short.value[-1] == pytest.approx(1.0 + 0.0004, abs=1e-15)  # received 4 bps
    assert long.trade_return[0] * 1e4 == pytest.approx(-4.0)
    assert short.trade_return[0] * 1e4 == pytest.approx(4.0)
    d_long = trade_details(long, prices, 0.0, funding_long=grid_long, funding_short=grid_short)
    d_short = trade_details(short, prices, 0.0, funding_long=grid_long, funding_short=grid_short)
    assert d_long.funding_fraction[0] == pytest.approx(rate)
    assert d_short.funding_fraction[0] == pytest.approx(-rate)


def test_a_negative_rate_reverses_who_pays() -> None:
    fs = series([T0 + 5], [-0.0002], covered_to=T0 + 10 * HOUR_MS)
    bf = bar_funding(np.array([T0]), 3600, 1, COSTS, "swap", fs)
    assert bf.long[0] == pytest.approx(-0.0002) and bf.short[0] == pytest.approx(0.0002)


def test_without_recorded_rates_the_constant_is_charged_to_either_side_and_named() -> None:
    decisions = np.array([T0, T0 + HOUR_MS])
    bf = bar_funding(decisions, 3600, 4, COSTS, "swap", None, "no recorded funding for LTC-USDT")
    per_bar = 1.0 / 1e4 / 8  # 1 bps per 8 h, one hour
    assert bf.long.tolist() == pytest.approx([per_bar] * 2)
    assert bf.short.tolist() == pytest.approx([per_bar] * 2)
    assert bf.expected_bps.tolist() == pytest.approx([4 / 8] * 2)  # horizon 4 h of 1 bps / 8 h
    report = bf.report(np.arange(2), COSTS)
    assert report["funding_source"] == FUNDING_CONSTANT == "constant funding_bps_per_8h"
    assert report["note"] == "no recorded funding for LTC-USDT"
    spot = bar_funding(decisions, 3600, 4, COSTS, "spot", None)
    assert not spot.long.any() and not spot.short.any() and not spot.expected_bps.any()


def test_bars_the_series_does_not_cover_fall_back_to_the_constant() -> None:
    # asked only up to T0 + 1h: the hold (T0 + 1h, T0 + 2h] is not covered, nor anything > 8 h before
    fs = series([T0 + 5], [0.0004], covered_to=T0 + HOUR_MS + 1)
    bf = bar_funding(np.array([T0 - 9 * HOUR_MS, T0, T0 + HOUR_MS]), 3600, 1, COSTS, "swap", fs)
    assert bf.source.tolist() == [FUNDING_CONSTANT, FUNDING_RECORDED, FUNDING_CONSTANT]


def test_a_rate_published_after_t_never_changes_a_cost_at_t() -> None:
    """Every cost of a row decided at t (its threshold term and what it pays by the fill at t + bar) and
    the account path up to t are the same whatever the rates after t are."""
    times = [T0 + k * 8 * HOUR_MS + 7 for k in range(-3, 4)]
    base = [0.0001, -0.0003, 0.0002, 0.0005, 0.0001, -0.0004, 0.0003]
    later = [*base[:4], 0.05, -0.05, 0.05]  # only the settlements after T0 + 8h change
    decisions = T0 + np.arange(-20, 30) * HOUR_MS
    t = T0 + 8 * HOUR_MS  # rates settled after t: indices 4.. (T0 + 16 h + 7 ms on)
    a = bar_funding(decisions, 3600, 4, COSTS, "swap", series(times, base, T0 + 40 * HOUR_MS))
    b = bar_funding(decisions, 3600, 4, COSTS, "swap", series(times, later, T0 + 40 * HOUR_MS))
    known = decisions + HOUR_MS <= t  # rows whose whole hold ended by t
    assert known.sum() == 28
    assert np.array_equal(a.long[known], b.long[known]) and np.array_equal(a.short[known], b.short[known])
    decided = decisions <= t
    assert np.array_equal(a.expected_bps[decided], b.expected_bps[decided])
    assert not np.array_equal(a.long, b.long)  # the later rates do reach the later rows

    prices = 100.0 + np.sin(np.arange(len(decisions) + 1))
    target = np.append(np.where(np.arange(len(decisions)) % 3 == 0, 1.0, -1.0), 0.0)
    runs = [
        run_backtest(
            prices,
            target,
            0.0005,
            funding_long=np.concatenate([[0.0], f.long]),
            funding_short=np.concatenate([[0.0], f.short]),
        )
        for f in (a, b)
    ]
    grid_known = np.concatenate([[True], known])  # grid bar j is the fill at decisions[j - 1] + bar
    assert np.array_equal(runs[0].value[grid_known], runs[1].value[grid_known])
    assert not np.array_equal(runs[0].value, runs[1].value)
