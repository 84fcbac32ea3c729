"""Point-in-time rates of the account currency in the quote currency (e.g. GBP in USDT), from the market source.

Why: the engine measures every price and PnL in the quote currency (USDT); an account kept in another
currency (`market.account_currency`, the seed's GBP) needs a rate for each moment a trade opens or closes,
and only a rate that was known then: the close of the last rate bar that had *closed* by that moment, never
a later one. The rate bars come from the same market source as the candles, as of the same moment:

- `ccxt`: the exchange's `<CCY>/<QUOTE>` market (Binance lists GBP/USDT and EUR/USDT), or its inverse
  `<QUOTE>/<CCY>` when only that one is listed;
- `replay`: a recorded `<CCY>-<QUOTE>.csv` (or `.parquet`) in `market.replay_dir`, at any bar spacing (a
  daily EUR-USDT file serves an hourly night); the recorded data in `../shared/data` has EUR-USDT
  (binance/1d-top250) but no GBP-USDT, and a folder without the file is refused by name;
- `synthetic`: a deterministic mean-reverting rate per currency (about 0.5 % daily volatility, log
  deviations pulled back to a plausible level with a 90-day half-life), a pure function of (seed,
  currency, bar), so a later as-of time only adds bars.

A rate older than `max(3 days, 2 bars)` at the moment asked for is refused (a gap in the recording would
otherwise freeze the rate silently), as is a moment before the first closed rate bar.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from huracan_core.candles.frame import TIMESTAMP, to_ms
from huracan_core.candles.reader import CSV_SUFFIXES, PARQUET_SUFFIXES, CandleFileError, read_candle_file
from huracan_core.config import TIMEFRAMES, Settings
from huracan_core.market.base import MarketDataError

MAX_AGE = timedelta(days=3)
# plausible quote-per-unit levels for the synthetic market (anything else starts at a seeded level)
_SYNTHETIC_LEVELS = {"GBP": 1.27, "EUR": 1.09, "CHF": 1.12, "AUD": 0.66, "CAD": 0.73, "JPY": 0.0067}
_SYNTHETIC_DAILY_VOL = 0.005
_SYNTHETIC_HALF_LIFE_DAYS = 90.0
_FX_STREAM = 2_000_029


@dataclass(frozen=True)
class RateSeries:
    """How many quote units one account-currency unit was worth, bar by bar (close times ascending)."""

    currency: str  # the account currency, e.g. GBP
    quote: str  # the quote currency prices are measured in, e.g. USDT
    pair: str  # the market the bars came from, e.g. GBP-USDT (or USDT-GBP when inverted)
    where: str  # which source served them (file, exchange or synthetic seed), for messages
    close_ms: np.ndarray  # close time (open + bar) of each bar, ms since the epoch, ascending
    rate: np.ndarray  # quote per account unit at each close
    bar_ms: int

    def __post_init__(self) -> None:
        if len(self.close_ms) == 0:
            raise MarketDataError(
                f"account currency {self.currency}: {self.where} has no closed {self.pair} bar"
            )
        bad = ~np.isfinite(self.rate) | (self.rate <= 0)
        if bad.any():
            first = datetime.fromtimestamp(int(self.close_ms[int(np.argmax(bad))]) / 1000, tz=UTC)
            raise MarketDataError(
                f"account currency {self.currency}: {self.where} has a {self.pair} rate that is not a "
                f"positive number at the bar closing {first:%Y-%m-%d %H:%M} UTC"
            )

    @property
    def max_age_ms(self) -> int:
        return max(int(MAX_AGE.total_seconds() * 1000), 2 * self.bar_ms)

    def rate_at(self, moment: datetime) -> float:
        """Quote per account unit known at `moment`: the close of the last bar closed at or before it."""
        ms = to_ms(moment)
        i = int(np.searchsorted(self.close_ms, ms, side="right")) - 1
        if i < 0:
            first = datetime.fromtimestamp(int(self.close_ms[0]) / 1000, tz=UTC)
            raise MarketDataError(
                f"account currency {self.currency}: no {self.pair} rate known at {moment:%Y-%m-%d %H:%M} "
                f"UTC ({self.where} starts with the bar closing {first:%Y-%m-%d %H:%M} UTC)"
            )
        if ms - int(self.close_ms[i]) > self.max_age_ms:
            last = datetime.fromtimestamp(int(self.close_ms[i]) / 1000, tz=UTC)
            raise MarketDataError(
                f"account currency {self.currency}: the {self.pair} rate at {moment:%Y-%m-%d %H:%M} UTC "
                f"would be the bar closing {last:%Y-%m-%d %H:%M} UTC of {self.where}, older than "
                f"{self.max_age_ms / 3_600_000:g} h (a gap in the rate bars)"
            )
        return float(self.rate[i])

    def to_account(self, amount_quote: float, moment: datetime) -> float:
        """`amount_quote` (in the quote currency) in the account currency at `moment`'s known rate."""
        return amount_quote / self.rate_at(moment)


def _series(
    currency: str, quote: str, pair: str, where: str, bars: pl.DataFrame, bar_s: int, inverted: bool
) -> RateSeries:
    bars = bars.sort("timestamp")
    close_ms = bars["timestamp"].dt.epoch("ms").to_numpy().astype(np.int64) + bar_s * 1000
    close = bars["close"].to_numpy().astype(float)
    with np.errstate(divide="ignore"):
        rate = 1.0 / close if inverted else close
    return RateSeries(currency, quote, pair, where, close_ms, rate, bar_s * 1000)


def _code(currency: str) -> int:
    """A stable integer of a currency code (Python's str hash changes per process)."""
    return int.from_bytes(currency.encode()[:8].ljust(8, b"\0"), "big") % 1_000_003


def synthetic_rates(seed: int, currency: str, quote: str, timeframe: str, as_of: datetime) -> RateSeries:
    """The synthetic market's `<CCY>-<QUOTE>` rate bars closed by `as_of` (pure in seed, currency and bar)."""
    from huracan_core.market.synthetic import CHUNK, GENESIS, _rng, _t_shocks

    tf_s = TIMEFRAMES[timeframe]
    last = (to_ms(as_of) - to_ms(GENESIS)) // (tf_s * 1000) - 1  # last bar closed by as_of
    if last < 0:
        raise MarketDataError(f"account currency {currency}: the synthetic market has no bar before {as_of}")
    code = _code(currency)
    level = _SYNTHETIC_LEVELS.get(currency)
    if level is None:
        level = float(10 ** _rng(seed, _FX_STREAM, code).uniform(-1.0, 1.0))
    scale = _SYNTHETIC_DAILY_VOL * math.sqrt(tf_s / 86400)
    keep = 0.5 ** (tf_s / 86400 / _SYNTHETIC_HALF_LIFE_DAYS)  # x_t = keep * x_(t-1) + shock_t
    steps = np.arange(1, CHUNK + 1)
    grow, shrink = keep**steps, keep ** (-steps.astype(float))
    parts, carry = [], 0.0
    for c in range(last // CHUNK + 1):  # chunk by chunk: the closed form stays well scaled
        shocks = scale * _t_shocks(_rng(seed, _FX_STREAM, code, tf_s, c), 5.0, CHUNK)
        x = grow * (carry + np.cumsum(shrink * shocks))
        parts.append(x)
        carry = float(x[-1])
    close = level * np.exp(np.concatenate(parts)[: last + 1])
    ts = to_ms(GENESIS) + np.arange(last + 1, dtype=np.int64) * tf_s * 1000
    bars = pl.DataFrame({"timestamp": ts, "close": close}).with_columns(
        pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC").cast(TIMESTAMP)
    )
    return _series(
        currency, quote, f"{currency}-{quote}", f"the synthetic market (seed {seed})", bars, tf_s, False
    )


def _bar_seconds(frame: pl.DataFrame, path: Path) -> int:
    """The bar length of a recorded rate file: its smallest spacing, which must be a known timeframe."""
    if frame.height < 2:
        raise MarketDataError(f"rate file {path} holds {frame.height} bar(s): too few to know its bar length")
    step = int(frame["timestamp"].dt.epoch("ms").diff().drop_nulls().min()) // 1000
    if step not in TIMEFRAMES.values():
        raise MarketDataError(
            f"rate file {path}: bars {step} s apart, which is none of the timeframes {', '.join(TIMEFRAMES)}"
        )
    return step


def replay_rates(folder: Path, currency: str, quote: str, as_of: datetime) -> RateSeries:
    """A recorded `<CCY>-<QUOTE>` (or inverse `<QUOTE>-<CCY>`) file in the replay folder, bars closed by as_of."""
    folder = Path(folder)
    for pair, inverted in ((f"{currency}-{quote}", False), (f"{quote}-{currency}", True)):
        for suffix in (*CSV_SUFFIXES, *PARQUET_SUFFIXES):
            path = folder / f"{pair}{suffix}"
            if not path.is_file():
                continue
            try:
                raw = read_candle_file(path)
                bar_s = _bar_seconds(raw, path)
                frame = read_candle_file(path, "", bar_s, timeframe_name="its own bar length")
            except CandleFileError as exc:
                raise MarketDataError(f"account currency {currency}: rate file {exc}") from None
            closed = frame.filter(
                pl.col("timestamp").dt.epoch("ms") + bar_s * 1000 <= to_ms(as_of)
            )  # point in time: only bars closed by the as-of moment
            return _series(currency, quote, pair, f"rate file {path}", closed, bar_s, inverted)
    raise MarketDataError(
        f"market.account_currency {currency}: replay folder {folder} holds no recorded {currency}-{quote} "
        f"rate file ({currency}-{quote}.csv or .parquet, or the inverse {quote}-{currency}), so PnL cannot "
        f"be converted from {quote}; record one there (Binance {currency}{quote} klines) or leave "
        "market.account_currency unset"
    )


def ccxt_rates(settings: Settings, currency: str, quote: str, as_of: datetime) -> RateSeries:
    """The exchange's `<CCY>/<QUOTE>` klines (or the inverse market's) over the lookback, closed by as_of."""
    from huracan_core.market.ccxt_source import CcxtMarket

    market = settings.market
    source = CcxtMarket(market, as_of)
    since = as_of - timedelta(days=market.lookback_days + 30)
    tf_s = TIMEFRAMES[market.timeframe]
    problems = []
    for pair, inverted in ((f"{currency}-{quote}", False), (f"{quote}-{currency}", True)):
        try:
            bars = source.fetch_ohlcv(pair, market.timeframe, since, as_of)
        except MarketDataError as exc:
            problems.append(str(exc))
            continue
        return _series(currency, quote, pair, f"{market.exchange_id} {pair}", bars, tf_s, inverted)
    raise MarketDataError(
        f"market.account_currency {currency}: {market.exchange_id} serves no {currency}/{quote} rate: "
        + "; ".join(problems)
    )


_CACHE: dict[tuple[str, str, str], RateSeries] = {}
_CACHE_LOCK = threading.Lock()


def account_rates(settings: Settings, currency: str, as_of: datetime) -> RateSeries:
    """The point-in-time rate series of `currency` in the configured quote as the market source saw it at
    `as_of` (read once per process, source and moment: a night converts thousands of trades)."""
    market = settings.market
    quote = market.quote.upper()
    currency = currency.upper()
    key = (market.model_dump_json(), currency, as_of.isoformat())
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    if market.source == "synthetic":
        series = synthetic_rates(market.synthetic_seed, currency, quote, market.timeframe, as_of)
    elif market.source == "replay":
        assert market.replay_dir is not None  # enforced by Settings
        series = replay_rates(market.replay_dir, currency, quote, as_of)
    else:
        series = ccxt_rates(settings, currency, quote, as_of)
    with _CACHE_LOCK:
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[key] = series
    return series
