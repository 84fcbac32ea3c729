"""An in-memory `MarketSource` over a fixed candle frame that counts and records every call.

Why not the synthetic market alone: store tests must see exactly which ranges were requested, inject
transient holes and still-open bars, and count requests (the synthetic market is offline, count 0).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from huracan_core.candles.frame import closed_only, from_ms, to_ms
from huracan_core.config import TIMEFRAMES
from huracan_core.market.base import MarketDataError, MarketInfo, Ticker
from huracan_core.market.synthetic import SyntheticMarket


class FrameSource:
    """Serves `frame` as an exchange would at `as_of`; each fetch/first-bar call counts as one request."""

    name = "replay"

    def __init__(self, frame: pl.DataFrame, as_of: datetime, timeframe: str = "1h") -> None:
        self.frame = frame
        self.as_of = as_of
        self.timeframe = timeframe
        self.calls: list[tuple[datetime, datetime]] = []
        self.first_bar_calls = 0
        self.drop_once: set[datetime] = set()  # bars missing from the next response that would hold them
        self.serve_open_bar = False  # also return the still-open bar, as a careless source would
        self.corrupt: pl.Expr | None = None

    @property
    def request_count(self) -> int:
        return len(self.calls) + self.first_bar_calls

    def markets(self) -> list[MarketInfo]:
        return []

    def tickers(self) -> dict[str, Ticker]:
        return {}

    def first_bar_time(self, symbol: str, timeframe: str) -> datetime | None:
        self.first_bar_calls += 1
        return self.frame["timestamp"][0] if self.frame.height else None

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: datetime, until: datetime | None = None
    ) -> pl.DataFrame:
        if timeframe != self.timeframe:
            raise MarketDataError(f"no {timeframe} data")
        end = min(until or self.as_of, self.as_of)
        self.calls.append((since, end))
        tf_s = TIMEFRAMES[timeframe]
        ms = pl.col("timestamp").dt.epoch("ms")
        if self.serve_open_bar:
            out = self.frame.filter((ms >= to_ms(since)) & (ms < to_ms(end)))
        else:
            out = closed_only(self.frame, tf_s, end).filter(ms >= to_ms(since))
        dropped = {t for t in self.drop_once if to_ms(since) <= to_ms(t) < to_ms(end)}
        if dropped:
            self.drop_once -= dropped
            out = out.filter(~pl.col("timestamp").is_in(list(dropped)))
        if self.corrupt is not None:
            out = out.with_columns(self.corrupt)
        return out


def synthetic_frame(as_of: datetime, timeframe: str = "1h", days: int = 200) -> pl.DataFrame:
    """Realistic closed bars of one synthetic major up to `as_of` (plus one extra, still-open bar)."""
    market = SyntheticMarket(as_of + timedelta(hours=2), seed=11, n_coins=5, timeframe=timeframe)
    coin = sorted(market._coins)[0]
    frame = market.fetch_ohlcv(coin, timeframe, as_of - timedelta(days=days), as_of + timedelta(hours=2))
    return frame


AS_OF = datetime(2024, 6, 1, 12, 30, tzinfo=UTC)
SYMBOL = "ALFA-USDT"


def hours(n: int) -> timedelta:
    return timedelta(hours=n)


__all__ = ["AS_OF", "SYMBOL", "FrameSource", "from_ms", "hours", "synthetic_frame"]
