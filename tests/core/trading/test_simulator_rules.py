"""The account follows every rule when a hand-built market tries to break it (huracan_core/trading/simulator.py).

Hourly bars from a Monday 00:00 UTC, so bars 0-23 are day 1 and 24-47 day 2.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from huracan_core.config import TradingSettings
from huracan_core.trading.simulator import simulate
from tests.core.trading.plans import HOUR_MS, START_MS, make_plan

T = TradingSettings()


def _at(bar: int) -> datetime:
    return datetime.fromtimestamp((START_MS + bar * HOUR_MS) / 1000, tz=UTC)


def _gap_plan(symbol: str, gap: float, at: int = 10, n: int = 48):
    """Flat at 100, then at bar `at` the open gaps down by `gap` (through any 2 % stop) and stays there."""
    close = np.full(n, 100.0)
    close[at:] = 100.0 * (1 - gap)
    return make_plan(symbol, close, np.ones(n), open_=close.copy(), atr_pct=0.01)  # flat bars, gap between


def test_entries_fill_at_the_next_open_after_the_decision() -> None:
    close = np.linspace(100, 110, 10)
    direction = np.zeros(10)
    direction[3] = 1
    res = simulate([make_plan("A", close, direction)], T)
    (trade,) = res.trades
    assert trade.entry_time == _at(4) and trade.entry_price == pytest.approx(close[3])  # open[4] = close[3]
    assert trade.exit_time == _at(5) and trade.exit_reason == "signal"


def test_daily_drawdown_breaker_flattens_and_halts_the_day() -> None:
    """Three coins gap 20 % through their stops: equity falls ~15 % (> 3 %). The fourth coin's position is
    closed at the next open, nothing opens for the rest of the day, trading resumes the next day."""
    plans = [_gap_plan(s, 0.20) for s in ("A", "B", "C")] + [_gap_plan("D", 0.0)]
    res = simulate(plans, T)
    halts = [e for e in res.events if e.breaker == "daily_drawdown"]
    assert len(halts) == 1 and halts[0].timestamp == _at(10)
    assert "since the day's start (limit 3 %)" in halts[0].cause
    d_trades = [t for t in res.trades if t.symbol == "D"]
    assert d_trades[0].exit_reason == "daily_drawdown" and d_trades[0].exit_time == _at(11)
    entries = sorted(t.entry_time for t in res.trades)
    assert not [e for e in entries if _at(10) < e <= _at(24)]  # halted until the day ends
    assert _at(25) in entries  # decided at day 2's first close


def test_daily_stop_blocks_entries_but_keeps_positions() -> None:
    """A ~2.8 % loss: past the 2.5 % daily stop, short of the 3 % breaker. The stopped-out coins cannot
    re-enter that day; the untouched coin stays open; the next day they re-enter."""
    plans = [_gap_plan(s, 0.0367) for s in ("A", "B", "C")] + [_gap_plan("D", 0.0)]
    res = simulate(plans, T)
    assert not [e for e in res.events if e.breaker == "daily_drawdown"]
    stops = [e for e in res.events if e.breaker == "daily_stop"]
    assert stops and stops[0].timestamp == _at(10) and "limit 2.5 %" in stops[0].cause
    a = sorted((t for t in res.trades if t.symbol == "A"), key=lambda t: t.entry_time)
    assert a[0].exit_reason == "stop" and a[0].exit_time == _at(10)
    assert a[1].entry_time == _at(25)  # not before the next day's first decision
    d = [t for t in res.trades if t.symbol == "D"]
    assert len(d) == 1 and d[0].exit_reason == "end"


def test_loss_streak_cuts_size_until_a_win() -> None:
    """Four losing round trips then a winner then one more: trades 4-5 are halved, trade 6 is full size."""
    close, direction = [], []
    moves = [-1, -1, -1, -1, +1, +1]  # % move while each trade is held
    price = 100.0
    for m in moves:
        close += [price, price * (1 + m / 100), price * (1 + m / 100)]  # long from open 1 to open 2
        direction += [1, 0, 0]
        price = close[-1]
    plan = make_plan("A", np.array(close + [price]), np.array(direction + [0]), atr_pct=0.05)
    res = simulate([plan], T)
    assert [t.net_pnl < 0 for t in res.trades] == [True, True, True, True, False, False]
    assert [t.size_mult for t in res.trades] == [1.0, 1.0, 1.0, 0.5, 0.5, 1.0]
    assert res.trades[3].notional == pytest.approx(0.5 * res.trades[2].notional, rel=0.02)
    acts = [(e.breaker, e.action) for e in res.events]
    assert acts == [("loss_streak", "cut size x0.5"), ("loss_streak", "size restored")]
    assert "3 losing trades in a row" in res.events[0].cause


def test_volatility_alarm_switches_the_coin_to_defence() -> None:
    n = 12
    alarm = np.zeros(n, dtype=bool)
    alarm[5:8] = True
    direction = np.tile([1, 0], n // 2)
    rising = 100.0 * 1.01 ** np.arange(n)  # every trade wins: no loss-streak cut mixed in
    res = simulate([make_plan("A", rising, direction, atr_pct=0.05, vol_alarm=alarm)], T)
    mults = {t.entry_time: t.size_mult for t in res.trades}
    assert mults[_at(7)] == T.defence_size_mult  # decided at bar 6, in the alarm
    assert mults[_at(5)] == 1.0 and mults[_at(9)] == 1.0
    acts = [(e.breaker, e.action, e.timestamp) for e in res.events]
    assert acts == [("volatility", "defence on", _at(5)), ("volatility", "defence off", _at(8))]


def test_kill_switch_opens_nothing() -> None:
    plan = make_plan("A", np.linspace(100, 120, 30), np.ones(30))
    assert simulate([plan], T).trades
    res = simulate([plan], T, kill_switch=True)
    assert res.trades == [] and np.allclose(res.equity, 1.0)
    assert [e.breaker for e in res.events] == ["kill_switch"]


def _crowd(n_coins: int, atr_pct: float):
    return [
        make_plan(f"C{i}", np.full(6, 100.0), [1, 1, 1, 1, 1, 0], atr_pct=atr_pct) for i in range(n_coins)
    ]


def test_leverage_cap_in_the_account() -> None:
    """Twelve coins signal at once: gross notional never exceeds max_leverage x equity."""
    s = TradingSettings(max_leverage=0.9)
    res = simulate(_crowd(12, 0.001), s)
    gross = sum(t.notional for t in res.trades)
    assert gross == pytest.approx(0.9, rel=1e-6)  # 25 + 25 + 25 + 15 %
    # the cap holds on the equity at the decision; the entry fees then lower equity by 5 bps of notional
    assert np.all(res.exposure <= 0.9 / (1.0 - 0.0005) + 1e-9)
    assert [t.bound_by for t in res.trades].count("max leverage") == 1


def test_coin_cap_in_the_account() -> None:
    res = simulate(_crowd(3, 0.001), T)
    assert [t.notional for t in res.trades] == pytest.approx([0.25] * 3)


def test_open_risk_stays_within_the_daily_loss_limit_in_the_account() -> None:
    """Each coin alone would risk 1 % at its stop; the sum over coins is held to 2.5 % of equity."""
    res = simulate(_crowd(8, 0.02), TradingSettings(max_coin_exposure_pct=100.0, max_leverage=10.0))
    risk = sum(t.risk for t in res.trades)
    assert risk == pytest.approx(T.daily_stop_pct / 100.0, rel=1e-6)
    assert len(res.trades) == 3  # 1 % + 1 % + 0.5 %


def test_costs_are_charged_on_both_legs() -> None:
    close = np.full(6, 100.0)
    res = simulate([make_plan("A", close, [1, 1, 0, 0, 0, 0], leg_cost=0.001, atr_pct=0.05)], T)
    (t,) = res.trades
    assert t.gross_pnl == pytest.approx(0.0)
    assert t.costs == pytest.approx(2 * 0.001 * t.notional)
    assert res.equity[-1] == pytest.approx(1.0 - t.costs)


def test_volatility_alarm_is_point_in_time() -> None:
    """The alarm at t compares volatility[t] with bars strictly before t: a spike fires, and wild values
    after t change nothing at t."""
    from huracan_core.trading.breakers import volatility_alarm

    s = TradingSettings(breaker_vol_window=20)
    vol = 0.01 - 1e-6 * np.arange(100)  # slowly falling: never above its own past
    vol[60] = 0.05
    alarm = volatility_alarm(vol, s)
    assert alarm[60] and not alarm[:60].any()
    future = vol.copy()
    future[61:] = 1e6
    np.testing.assert_array_equal(volatility_alarm(future, s)[:61], alarm[:61])
