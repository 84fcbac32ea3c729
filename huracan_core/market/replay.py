"""Replay a folder of recorded candles as if it were the exchange at a past moment.

Files are `<BASE>-<QUOTE>.csv` (header `timestamp,open,high,low,close,volume`, ms open times) or
`.parquet` in the canonical frame. Why a replay source: backtests and nightly runs for a past date
must see exactly what the exchange showed then — only bars closed at the as-of time, and tickers
(24 h quote volume, age) derived from those bars, never from later ones.

A bad file (empty, a missing column, text in a price, a `;` separator, an unreadable parquet, seconds for
milliseconds, conflicting duplicate bars, NaN prices, another bar spacing than market.timeframe) fails only
its own coin: `markets` and `tickers` leave it out, `bad_files` says why (the universe excludes the coin
with that reason), and asking for its bars raises `MarketDataError` naming the file.

Perpetuals: with `market_type="swap"` the folder is taken as recorded perps (the setting says so; the bars
cannot) and its markets are swaps. Funding comes from `funding_dir/<BASE>-<QUOTE>.csv` (header
`timestamp,funding_rate`, ms settlement times, rate per settlement); a coin without such a file has no
recorded funding (`fetch_funding_rates` answers None) and is charged the configured constant.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from huracan_core.candles.frame import closed_only
from huracan_core.candles.reader import CSV_SUFFIXES, PARQUET_SUFFIXES, CandleFileError, read_candle_file
from huracan_core.config import TIMEFRAMES
from huracan_core.market.base import MarketDataError, MarketInfo, Ticker
from huracan_core.symbols import SymbolError, normalise_symbol

STALE_AFTER = timedelta(days=3)


class ReplayMarket:
    """`MarketSource` over a folder of recorded candles for one timeframe, as seen at `as_of`."""

    name = "replay"

    def __init__(
        self,
        folder: Path,
        as_of: datetime,
        timeframe: str = "1d",
        quote: str = "USDT",
        market_type: str = "spot",
        funding_dir: Path | None = None,
    ) -> None:
        folder = Path(folder)
        if market_type not in ("spot", "swap"):
            raise MarketDataError(f"a replay folder holds spot or swap markets, not {market_type!r}")
        if funding_dir is not None and not Path(funding_dir).is_dir():
            raise MarketDataError(f"market.replay_funding_dir {funding_dir} is not a folder")
        if not folder.exists():
            raise MarketDataError(f"market.replay_dir {folder} is not a folder: it does not exist")
        if not folder.is_dir():
            raise MarketDataError(f"market.replay_dir {folder} is not a folder")
        if timeframe not in TIMEFRAMES:
            raise MarketDataError(f"timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
        self.folder = folder
        self.as_of = as_of
        self.timeframe = timeframe
        self.quote = quote
        self.market_type = market_type
        self.funding_dir = Path(funding_dir) if funding_dir is not None and market_type == "swap" else None
        self._frames: dict[str, pl.DataFrame] = {}
        self._bad: dict[str, str] = {}
        self._files = self._list_files()  # up front: a folder without candle files fails before any work

    @property
    def request_count(self) -> int:
        return 0

    def _list_files(self) -> dict[str, Path]:
        files: dict[str, Path] = {}
        try:
            entries = sorted(self.folder.iterdir())
        except OSError as exc:
            raise MarketDataError(f"market.replay_dir {self.folder} cannot be listed: {exc}") from None
        for path in entries:
            if path.suffix.lower() not in (*CSV_SUFFIXES, *PARQUET_SUFFIXES) or not path.is_file():
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
        """Every bar of the coin's file, read and checked once; a bad file raises the same error each time."""
        symbol = normalise_symbol(symbol)
        if symbol in self._bad:
            raise MarketDataError(self._bad[symbol])
        if symbol not in self._frames:
            path = self._files.get(symbol)
            if path is None:
                raise MarketDataError(f"symbol {symbol} has no file in replay folder {self.folder}")
            try:
                frame = read_candle_file(
                    path,
                    "",  # the file name says the coin; the message need not repeat it
                    TIMEFRAMES[self.timeframe],
                    timeframe_name=f"market.timeframe {self.timeframe!r}",
                )
            except CandleFileError as exc:
                # No log line here: the reason travels in the error and the universe row (a log call
                # would print into `huracan universe --json`, which configures no logging).
                self._bad[symbol] = f"replay file {exc}"
                raise MarketDataError(self._bad[symbol]) from None
            self._frames[symbol] = frame
        return self._frames[symbol]

    def bad_files(self) -> dict[str, str]:
        """Symbol → why its file cannot be served (every file is read once to know)."""
        for symbol in self._files:
            with suppress(MarketDataError):  # recorded in self._bad
                self._all_bars(symbol)
        return dict(self._bad)

    def _readable(self) -> list[str]:
        """The coins whose files are sound; the others are recorded in `bad_files`."""
        self.bad_files()
        return [s for s in self._files if s not in self._bad]

    def _closed(self, symbol: str) -> pl.DataFrame:
        return closed_only(self._all_bars(symbol), TIMEFRAMES[self.timeframe], self.as_of)

    def markets(self) -> list[MarketInfo]:
        out = []
        for symbol in self._readable():
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
                    market_type=self.market_type,
                    active=self.as_of - last_close <= STALE_AFTER,
                    listed_at=bars["timestamp"][0],
                )
            )
        return out

    def tickers(self) -> dict[str, Ticker]:
        out: dict[str, Ticker] = {}
        window_start = self.as_of - timedelta(hours=24)
        for symbol in self._readable():
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

    def funding_origin(self, symbol: str) -> str:
        return f"replay {self._funding_path(symbol)}"

    def _funding_path(self, symbol: str) -> Path | None:
        if self.funding_dir is None:
            return None
        path = self.funding_dir / f"{normalise_symbol(symbol)}.csv"
        return path if path.is_file() else None

    def fetch_funding_rates(self, symbol: str, since: datetime, until: datetime) -> pl.DataFrame | None:
        """Recorded settlements at times in [since, min(until, as_of)); None: no recorded funding for it."""
        from huracan_core.funding import FundingDataError, conform_funding

        path = self._funding_path(symbol)
        if path is None:
            return None
        try:
            frame = conform_funding(
                pl.read_csv(path, schema_overrides={"funding_rate": pl.Float64}), str(path)
            )
        except (FundingDataError, pl.exceptions.PolarsError, OSError) as exc:
            raise MarketDataError(f"replay funding file {path}: {exc}") from None
        end = min(until, self.as_of)
        return frame.filter((pl.col("timestamp") >= since) & (pl.col("timestamp") < end))

    def first_bar_time(self, symbol: str, timeframe: str) -> datetime | None:
        bars = self._closed(symbol)
        return None if bars.is_empty() else bars["timestamp"][0]
