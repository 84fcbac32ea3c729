"""The market seam: what every source (synthetic, replay, ccxt) must answer, and nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

import polars as pl


class MarketDataError(Exception):
    """A source could not answer (unknown symbol, bad file, exchange error after retries)."""


@dataclass(frozen=True)
class MarketInfo:
    """One tradable market. `symbol` is normalised (`BTC-USDT`)."""

    symbol: str
    base: str
    quote: str
    market_type: str = "spot"
    active: bool = True
    maker_fee_bps: float | None = None
    taker_fee_bps: float | None = None
    price_precision: float | None = None
    amount_precision: float | None = None
    min_notional: float | None = None
    listed_at: datetime | None = None


@dataclass(frozen=True)
class Ticker:
    """Rolling 24 h statistics as of the source's as-of time."""

    symbol: str
    last: float
    quote_volume_usd: float
    bid: float | None = None
    ask: float | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def spread_bps(self) -> float | None:
        if self.bid is None or self.ask is None or self.bid <= 0 or self.ask < self.bid:
            return None
        mid = (self.bid + self.ask) / 2
        return (self.ask - self.bid) / mid * 1e4


@runtime_checkable
class MarketSource(Protocol):
    """Markets with metadata, 24 h tickers and closed OHLCV bars, as seen at `as_of`."""

    name: str
    as_of: datetime

    def markets(self) -> list[MarketInfo]:
        """Every market of the configured quote currency, active or not."""
        ...

    def tickers(self) -> dict[str, Ticker]:
        """24 h tickers keyed by normalised symbol."""
        ...

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: datetime, until: datetime | None = None
    ) -> pl.DataFrame:
        """Closed bars with open time in [since, until) (until defaults to as_of), canonical candle frame."""
        ...

    def first_bar_time(self, symbol: str, timeframe: str) -> datetime | None:
        """Open time of the first bar the source has for `symbol` (its listing), or None if unknown."""
        ...

    @property
    def request_count(self) -> int:
        """How many remote requests this source has made (0 for offline sources)."""
        ...
