"""Replay a folder of recorded candles as if it were the exchange at a past moment.

Files are `<BASE>-<QUOTE>.csv` (header `timestamp,open,high,low,close,volume`, ms open times) or
`.parquet` in the canonical frame. Why a replay source: backtests and nightly runs for a past date
must see exactly what the exchange showed then — only bars closed at the as-of time, and tickers
(24 h quote volume, age) derived from those bars, never from later ones.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path

import polars as pl

from huracan_core.candles.frame import closed_only, conform
from huracan_core.config import TIMEFRAMES
from huracan_core.market.base import MarketDataError, MarketInfo, Ticker
from huracan_core.symbols import SymbolError, normalise_symbol

STALE_AFTER = timedelta(days=3)


class ReplayMarket:
    """`MarketSource` over a folder of recorded candles for one timeframe, as seen at `as_of`."""

    name = "replay"

    def __init__(self, folder: Path, as_of: datetime, timeframe: str = "1d", quote: str = "USDT") -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise MarketDataError(f"market.replay_dir {folder} is not a folder")
        if timeframe not in TIMEFRAMES:
            raise MarketDataError(f"timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
        self.folder = folder
        self.as_of = as_of
        self.timeframe = timeframe
        self.quote = quote
        self._frames: dict[str, pl.DataFrame] = {}

    @property
    def request_count(self) -> int:
        return 0

    @cached_property
    def _files(self) -> dict[str, Path]:
        files: dict[str, Path] = {}
        for path in sorted(self.folder.iterdir()):
            if path.suffix not in (".csv", ".parquet"):
                continue
            try:
                symbol = normalise_symbol(path.stem)
            except SymbolError:
                continue
            if symbol.endswith(f"-{self.quote}"):
                files.setdefault(symbol, path)
        if not files:
            raise MarketDataError(
                f"market.replay_dir {self.folder} holds no <BASE>-{self.quote}.csv/.parquet files"
            )
        return files

    def _all_bars(self, symbol: str) -> pl.DataFrame:
        symbol = normalise_symbol(symbol)
        if symbol not in self._frames:
            path = self._files.get(symbol)
            if path is None:
                raise MarketDataError(f"symbol {symbol} has no file in replay folder {self.folder}")
            try:
                raw = pl.read_parquet(path) if path.suffix == ".parquet" else pl.read_csv(path)
                frame = conform(raw)
            except Exception as exc:  # a bad file names itself; the caller skips that coin
                raise MarketDataError(f"replay file {path} is unreadable: {exc}") from exc
            self._check_timeframe(path, frame)
            self._frames[symbol] = frame
        return self._frames[symbol]

    def _check_timeframe(self, path: Path, frame: pl.DataFrame) -> None:
        if frame.height < 3:
            return
        step_ms = frame["timestamp"].dt.epoch("ms").diff().drop_nulls().median()
        expected = TIMEFRAMES[self.timeframe] * 1000
        if step_ms != expected:
            raise MarketDataError(
                f"replay file {path} has a bar spacing of {step_ms / 1000:.0f}s but market.timeframe is "
                f"{self.timeframe!r} ({expected / 1000:.0f}s)"
            )

    def _closed(self, symbol: str) -> pl.DataFrame:
        return closed_only(self._all_bars(symbol), TIMEFRAMES[self.timeframe], self.as_of)

    def markets(self) -> list[MarketInfo]:
        out = []
        for symbol in self._files:
            bars = self._closed(symbol)
            if bars.is_empty():
                continue  # not listed yet at as_of
            last_close = bars["timestamp"][-1] + timedelta(seconds=TIMEFRAMES[self.timeframe])
            base, quote = symbol.split("-")
            out.append(
                MarketInfo(
                    symbol=symbol,
                    base=base,
                    quote=quote,
                    market_type="spot",
                    active=self.as_of - last_close <= STALE_AFTER,
                    listed_at=bars["timestamp"][0],
                )
            )
        return out

    def tickers(self) -> dict[str, Ticker]:
        out: dict[str, Ticker] = {}
        window_start = self.as_of - timedelta(hours=24)
        for symbol in self._files:
            bars = self._closed(symbol)
            if bars.is_empty():
                continue
            # bars that closed inside (as_of - 24 h, as_of]
            bar = timedelta(seconds=TIMEFRAMES[self.timeframe])
            last_day = bars.filter(pl.col("timestamp") > window_start - bar)
            if last_day.is_empty():
                continue
            quote_volume = float((last_day["close"] * last_day["volume"]).sum())
            # recorded candles carry no order book: spread is unknown, never invented
            out[symbol] = Ticker(symbol, float(bars["close"][-1]), quote_volume, bid=None, ask=None)
        return out

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: datetime, until: datetime | None = None
    ) -> pl.DataFrame:
        if timeframe != self.timeframe:
            raise MarketDataError(
                f"replay folder {self.folder} serves {self.timeframe} bars, not {timeframe}"
            )
        end = min(until or self.as_of, self.as_of)
        bars = closed_only(self._all_bars(symbol), TIMEFRAMES[timeframe], end)
        return bars.filter(pl.col("timestamp") >= since)

    def first_bar_time(self, symbol: str, timeframe: str) -> datetime | None:
        bars = self._closed(symbol)
        return None if bars.is_empty() else bars["timestamp"][0]
