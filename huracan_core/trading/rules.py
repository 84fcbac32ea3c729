"""The account rules applied to one coin at one bar's close: what to do with the position, and how big.

Why a module of its own: the portfolio simulator (simulator.py) and the live decision (decide.py) must take
the same decision from the same state, so both call these functions instead of keeping two copies of the
rules. The simulator holds the account state itself; a live bot passes its own (`OpenPosition`s, equity,
the day's starting equity, its loss streak).

    signal (the consensus direction) + held side + kill switch + daily-drawdown halt
        -> target side and action (`position_action`)
    target + equity + open risk + confidence + ATR + breaker cut
        -> size of the new position (risk.size_position; `open_risk_of` what stays open beside it)
        -> final action (`final_action`: an entry that finds no room leaves the coin flat)

The kill switch and the daily-drawdown halt both make the target flat: no entry, and a held position is
closed at the next open (the simulator's halt already closes every position; under the kill switch it never
opens one, so the two agree on every state either can reach).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from huracan_core.config import TradingSettings
from huracan_core.trading.risk import OpenRisk, SizeDecision, stop_fraction

ACTIONS = ("open", "hold", "close", "reverse", "none")
SIDES = {1: "long", -1: "short", 0: "flat"}


@dataclass(frozen=True)
class OpenPosition:
    """A position the account holds (or has ordered): its coin, side (+1 long, -1 short), notional in
    account currency and the loss if its stop is hit (notional x stop distance)."""

    symbol: str
    side: int
    notional: float
    risk: float

    def __post_init__(self) -> None:
        if self.side not in (1, -1):
            raise ValueError(
                f"open position {self.symbol}: side must be +1 (long) or -1 (short), not {self.side!r}"
            )
        if not (self.notional >= 0 and self.risk >= 0):
            raise ValueError(
                f"open position {self.symbol}: notional and risk must be >= 0, got {self.notional!r}, {self.risk!r}"
            )


def open_risk_of(positions: Iterable[OpenPosition]) -> OpenRisk:
    """Gross notional and the loss at every stop of the positions that stay open."""
    gross = risk = 0.0
    for p in positions:
        gross += p.notional
        risk += p.risk
    return OpenRisk(gross, risk)


def position_action(signal: int, held: int, *, kill_switch: bool, halted: bool) -> tuple[int, str, str]:
    """(target side, action, why) for a coin whose consensus says `signal` while the account holds `held`
    (+1 / -1 / 0). Actions: open (flat -> a side), hold (already on that side), close (a side -> flat),
    reverse (one side -> the other), none (flat stays flat)."""
    why = ""
    if kill_switch:
        signal, why = 0, "kill switch on: no entries, held positions close"
    elif halted:
        signal, why = 0, "daily drawdown breaker: flat until the next UTC day"
    if held and held == signal:
        return signal, "hold", why
    if held and signal == 0:
        return 0, "close", why
    if held:
        return signal, "reverse", why
    return signal, ("open" if signal else "none"), why


def no_entry(reason: str, atr_pct: float, settings: TradingSettings) -> SizeDecision:
    """A zero size that says why nothing is sized (hold, close, flat signal, kill switch)."""
    return SizeDecision(0.0, 0.0, 0.0, stop_fraction(atr_pct, settings), reason)


def final_action(action: str, held: int, size: SizeDecision | None) -> str:
    """The action once sized: an open that finds no room is none, a reverse that finds none is a close."""
    if action in ("open", "reverse") and (size is None or not size.opens):
        return "close" if held else "none"
    return action
