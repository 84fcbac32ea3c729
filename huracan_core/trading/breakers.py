"""Circuit breakers: the account-level rules that override the consensus, each activation logged with its cause.

- Daily drawdown: equity `breaker_daily_drawdown_pct` below the day's starting equity (marked at a bar's
  close) halts the day: every position is closed at the next open and nothing opens until the next UTC day.
- Loss streak: `breaker_loss_streak` losing trades in a row multiply every new position's risk by
  `breaker_loss_streak_size_mult` until a winning trade resets the streak.
- Volatility: a coin whose 20-bar volatility is above the `breaker_vol_percentile` quantile of its own
  past `breaker_vol_window` values (bars strictly before t: point in time) is traded in defence: risk x
  `defence_size_mult` and the consensus must clear `defence_k_mult` x the usual bar.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

from huracan_core.config import TradingSettings


@dataclass(frozen=True)
class BreakerEvent:
    timestamp: datetime
    breaker: str  # "daily_drawdown", "loss_streak", "volatility", "kill_switch"
    action: str  # what it did ("halt day", "cut size", "defence on", "defence off", ...)
    cause: str
    symbol: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["timestamp"] = self.timestamp.isoformat()
        return out


def volatility_alarm(volatility: np.ndarray, settings: TradingSettings) -> np.ndarray:
    """True at t when volatility[t] exceeds the `breaker_vol_percentile` quantile of volatility[< t]
    over the last `breaker_vol_window` bars (needs a fifth of the window before it can fire)."""
    vol = pl.Series(np.asarray(volatility, dtype=float)).fill_nan(None)
    window = settings.breaker_vol_window
    q = vol.shift(1).rolling_quantile(
        settings.breaker_vol_percentile,
        window_size=window,
        min_samples=max(20, window // 5),
        interpolation="linear",
    )
    alarm = (vol > q).fill_null(False)
    return alarm.to_numpy().astype(bool)


@dataclass
class Breakers:
    """Account-level breaker state through one simulation; `events` is the activation log."""

    settings: TradingSettings
    day: date | None = None
    day_start_equity: float = 1.0
    halted: bool = False
    loss_streak: int = 0
    defence: dict[str, bool] = field(default_factory=dict)
    events: list[BreakerEvent] = field(default_factory=list)

    def new_day(self, day: date, equity: float) -> None:
        self.day, self.day_start_equity, self.halted = day, equity, False

    def check_drawdown(self, ts: datetime, equity: float) -> bool:
        """Halt the day when the drawdown since the day's start reaches the limit; True on activation."""
        limit = self.settings.breaker_daily_drawdown_pct
        down = 100.0 * (1.0 - equity / self.day_start_equity)
        if self.halted or down < limit:
            return False
        self.halted = True
        self.events.append(
            BreakerEvent(
                ts,
                "daily_drawdown",
                "halt day: close all, no entries until next day",
                f"equity down {down:.2f} % since the day's start (limit {limit:g} %)",
            )
        )
        return True

    def record_trade(self, ts: datetime, symbol: str, net_pnl: float) -> None:
        if net_pnl < 0:
            self.loss_streak += 1
            if self.loss_streak == self.settings.breaker_loss_streak:
                self.events.append(
                    BreakerEvent(
                        ts,
                        "loss_streak",
                        f"cut size x{self.settings.breaker_loss_streak_size_mult:g}",
                        f"{self.loss_streak} losing trades in a row (last: {symbol} {net_pnl:+.2f})",
                        symbol,
                    )
                )
        else:
            if self.loss_streak >= self.settings.breaker_loss_streak:
                self.events.append(
                    BreakerEvent(
                        ts,
                        "loss_streak",
                        "size restored",
                        f"winning trade {symbol} {net_pnl:+.2f} ends the streak",
                        symbol,
                    )
                )
            self.loss_streak = 0

    def set_defence(self, ts: datetime, symbol: str, on: bool, volatility: float) -> None:
        if self.defence.get(symbol, False) == on:
            return
        self.defence[symbol] = on
        pct = self.settings.breaker_vol_percentile
        cause = (
            f"volatility_20 {volatility:.5f} above its past {pct:.0%} quantile"
            if on
            else f"volatility_20 {volatility:.5f} back under its past {pct:.0%} quantile"
        )
        self.events.append(
            BreakerEvent(ts, "volatility", "defence on" if on else "defence off", cause, symbol)
        )

    def size_mult(self, symbol: str) -> float:
        mult = 1.0
        if self.loss_streak >= self.settings.breaker_loss_streak:
            mult *= self.settings.breaker_loss_streak_size_mult
        if self.defence.get(symbol, False):
            mult *= self.settings.defence_size_mult
        return mult

    def k_mult(self, symbol: str) -> float:
        return self.settings.defence_k_mult if self.defence.get(symbol, False) else 1.0
