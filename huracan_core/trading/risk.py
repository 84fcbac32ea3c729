"""Position sizing under the risk rules (settings.trading), one function the simulator calls per entry.

The rules, in the order they bind:

1. Daily stop: once the account has lost `daily_stop_pct` of the day's starting equity, nothing new opens.
2. Risk per trade: between `risk_per_trade_min_pct` and `risk_per_trade_max_pct` of equity, scaled by the
   consensus confidence (0 % -> min, 100 % -> max), then cut by the circuit breakers' size multiplier.
   The stop sits `atr_stop_mult` x ATR(14) (as a fraction of price) from the entry, so
   notional = equity x risk / stop distance.
3. Coin cap: no coin's notional above `max_coin_exposure_pct` of equity.
4. Leverage: gross notional of all open positions plus this one <= `max_leverage` x equity.
5. Open risk: the sum over open positions of notional x stop distance, plus this one's, stays within
   the daily loss limit (`daily_stop_pct` of the day's starting equity): every stop hit at once still
   leaves the day inside its stop.

Each cap shrinks the position rather than refusing it; the decision says which rule bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from huracan_core.config import TradingSettings

MIN_NOTIONAL_FRACTION = 1e-4  # below 0.01 % of equity a position is not worth its fees: skip


@dataclass(frozen=True)
class OpenRisk:
    """What is already open: gross notional and the loss if every stop were hit (both in account currency)."""

    gross_notional: float = 0.0
    risk_at_stops: float = 0.0


@dataclass(frozen=True)
class SizeDecision:
    notional: float
    risk: float  # notional x stop distance
    risk_pct: float  # of equity, after breaker cuts, before caps
    stop_fraction: float
    bound_by: str  # the rule that set the size ("risk per trade", "coin cap", ...), or why it is zero

    @property
    def opens(self) -> bool:
        return self.notional > 0


def stop_fraction(atr_pct: float, settings: TradingSettings) -> float:
    """Distance from entry to stop as a fraction of price: atr_stop_mult x ATR(14) / close."""
    return settings.atr_stop_mult * atr_pct


def risk_pct_for(confidence: float, settings: TradingSettings) -> float:
    c = min(max(confidence, 0.0), 100.0) / 100.0
    return (
        settings.risk_per_trade_min_pct
        + (settings.risk_per_trade_max_pct - settings.risk_per_trade_min_pct) * c
    )


def size_position(
    *,
    equity: float,
    day_start_equity: float,
    confidence: float,
    atr_pct: float,
    open_risk: OpenRisk,
    settings: TradingSettings,
    size_mult: float = 1.0,
) -> SizeDecision:
    """Notional of a new position under every rule of the module doc (zero, with the reason, if none fits)."""
    stop = stop_fraction(atr_pct, settings)
    if not (equity > 0 and day_start_equity > 0):
        return SizeDecision(0.0, 0.0, 0.0, stop, "no equity")
    if not (stop > 0 and stop < 1):
        return SizeDecision(0.0, 0.0, 0.0, stop, f"no usable ATR stop (atr_pct={atr_pct!r})")
    if equity <= day_start_equity * (1.0 - settings.daily_stop_pct / 100.0):
        return SizeDecision(
            0.0,
            0.0,
            0.0,
            stop,
            f"daily stop: down {100 * (1 - equity / day_start_equity):.2f} % "
            f"today (limit {settings.daily_stop_pct:g} %)",
        )
    risk_pct = risk_pct_for(confidence, settings) * size_mult
    notional = equity * risk_pct / 100.0 / stop
    bound = "risk per trade"
    caps = (
        ("coin cap", equity * settings.max_coin_exposure_pct / 100.0),
        ("max leverage", settings.max_leverage * equity - open_risk.gross_notional),
        (
            "open risk <= daily loss limit",
            (day_start_equity * settings.daily_stop_pct / 100.0 - open_risk.risk_at_stops) / stop,
        ),
    )
    for name, cap in caps:
        if cap < notional:
            notional, bound = max(cap, 0.0), name
    if notional < equity * MIN_NOTIONAL_FRACTION:
        return SizeDecision(0.0, 0.0, risk_pct, stop, f"no room: {bound}")
    return SizeDecision(notional, notional * stop, risk_pct, stop, bound)
