"""Each sizing rule, fed a situation that would break it, holds (huracan_core/trading/risk.py)."""

from __future__ import annotations

import pytest

from huracan_core.config import TradingSettings
from huracan_core.trading.risk import OpenRisk, size_position

T = TradingSettings()


def _size(**kw):
    args = {
        "equity": 1.0,
        "day_start_equity": 1.0,
        "confidence": 50.0,
        "atr_pct": 0.05,
        "open_risk": OpenRisk(),
        "settings": T,
    }
    args.update(kw)
    return size_position(**args)


@pytest.mark.parametrize(
    ("confidence", "risk_pct"), [(0.0, 0.5), (50.0, 1.0), (100.0, 1.5), (400.0, 1.5), (-20.0, 0.5)]
)
def test_risk_per_trade_stays_between_min_and_max(confidence: float, risk_pct: float) -> None:
    """Even an absurd confidence never risks more than 1.5 % (or less than 0.5 %) of equity at the stop."""
    d = _size(confidence=confidence)
    assert d.bound_by == "risk per trade"
    assert d.risk_pct == pytest.approx(risk_pct)
    assert d.risk == pytest.approx(risk_pct / 100.0)  # notional x stop distance = the risked equity
    assert d.stop_fraction == pytest.approx(T.atr_stop_mult * 0.05)


def test_breaker_multiplier_cuts_the_risk() -> None:
    assert _size(size_mult=0.5).risk == pytest.approx(0.5 * _size().risk)


def test_coin_cap_bounds_a_tight_stop() -> None:
    """A 0.1 % ATR would ask for 5x equity at 1 % risk; the coin is held to 25 % of equity."""
    d = _size(atr_pct=0.001)
    assert d.bound_by == "coin cap"
    assert d.notional == pytest.approx(0.25)


def test_leverage_bounds_gross_notional() -> None:
    d = _size(atr_pct=0.001, open_risk=OpenRisk(gross_notional=1.9, risk_at_stops=0.0))
    assert d.bound_by == "max leverage"
    assert d.notional == pytest.approx(0.1)
    assert _size(atr_pct=0.001, open_risk=OpenRisk(gross_notional=2.0)).notional == 0.0


def test_open_risk_stays_within_the_daily_loss_limit() -> None:
    """2.4 % already at risk at the stops: the next position may add only 0.1 % (limit 2.5 %)."""
    d = _size(open_risk=OpenRisk(gross_notional=0.2, risk_at_stops=0.024))
    assert d.bound_by == "open risk <= daily loss limit"
    assert d.risk == pytest.approx(0.001)
    assert 0.024 + d.risk <= T.daily_stop_pct / 100.0 + 1e-12


def test_daily_stop_blocks_new_entries() -> None:
    blocked = _size(equity=0.974, day_start_equity=1.0)
    assert not blocked.opens and blocked.bound_by.startswith("daily stop")
    assert _size(equity=0.976, day_start_equity=1.0).opens


def test_no_usable_stop_opens_nothing() -> None:
    for atr in (0.0, float("nan"), 0.6):
        assert not _size(atr_pct=atr).opens


def test_settings_refuse_an_inverted_risk_range() -> None:
    with pytest.raises(ValueError, match="risk_per_trade_min_pct"):
        TradingSettings(risk_per_trade_min_pct=2.0, risk_per_trade_max_pct=1.0)
