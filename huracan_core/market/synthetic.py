"""A deterministic synthetic market, so the quickstart and the tests need no exchange.

Why it is not a toy: universe filters and features must behave as on real data, so the market has
a common factor (beta per coin), fat-tailed shocks (Student-t), volatility regimes (a Markov chain
per coin), liquidity spread over four orders of magnitude with volume reacting to moves, and a
listing/delisting process: `synthetic_coins` slots, each hosting a major that lives forever or a
churning alt that delists and is replaced by a new listing (so young and delisted coins exist on
any date). Everything is a pure function of (seed, coin, bar index): a later as-of time only adds
bars, so the candle cache stays consistent from one night to the next.

Planted coins (`market.synthetic_planted`, named PLANTED1-USDT, PLANTED2-USDT, ...) are majors whose log
return per bar follows an AR(1), r_t = φ r_{t-1} + (drift + β market_t + idiosyncratic_t), with φ = 0.3:
the next bar's return is predictable from the last one by φ r_t, which the point-in-time features carry
(ret_1, log_ret_1), and on hourly bars its size (~25 bps) clears the round trip and the safety margin on
many bars. They exist so the quickstart's synthetic night shows the whole path from a night to a champion
and a decision; every other coin has no edge at all (a factor model of fat-tailed random walks), and the
gates must keep rejecting those. The roster and the report label every coin of this market synthetic and
say which carry the planted signal (`synthetic_label`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np
import polars as pl

from huracan_core.candles.frame import TIMESTAMP, closed_only, empty_candles, to_ms
from huracan_core.config import TIMEFRAMES, MarketSettings
from huracan_core.market.base import MarketDataError, MarketInfo, Ticker
from huracan_core.symbols import normalise_symbol

GENESIS = datetime(2019, 1, 1, tzinfo=UTC)
CHUNK = 1024
_NAMES = [
    "ALFA",
    "BRAVO",
    "CHARLIE",
    "DELTA",
    "ECHO",
    "FOXTROT",
    "GOLF",
    "HOTEL",
    "INDIA",
    "JULIET",
    "KILO",
    "LIMA",
    "MIKE",
    "NOVEMBER",
    "OSCAR",
    "PAPA",
    "QUEBEC",
    "ROMEO",
    "SIERRA",
    "TANGO",
    "UNIFORM",
    "VICTOR",
    "WHISKEY",
    "XRAY",
    "YANKEE",
    "ZULU",
]
_MARKET_STREAM = 1_000_003
PLANTED_PHI = 0.3  # AR(1) coefficient of a planted coin's log return per bar
PLANTED_PREFIX = "PLANTED"
_PLANTED_SLOT0 = 100_000  # planted coins' random streams, apart from every regular slot's


def slot_name(slot: int) -> str:
    base = _NAMES[slot % len(_NAMES)]
    return base if slot < len(_NAMES) else f"{base}{slot // len(_NAMES) + 1}"


def planted_symbol(k: int) -> str:
    """The k-th planted coin's symbol (k from 0): PLANTED1-USDT, PLANTED2-USDT, ..."""
    return f"{PLANTED_PREFIX}{k + 1}-USDT"


def synthetic_label(market: MarketSettings, symbol: str) -> dict[str, object] | None:
    """What a roster entry and the report say about a coin of the synthetic market (None on a real market):
    every such coin is synthetic, and the planted ones say which signal they carry, so no reader takes a
    synthetic champion for a real one."""
    if market.source != "synthetic":
        return None
    planted = normalise_symbol(symbol) in {planted_symbol(k) for k in range(market.synthetic_planted)}
    return {
        "planted_signal": planted,
        "signal": f"AR(1) of the log return per bar, phi {PLANTED_PHI:g}" if planted else None,
    }


@dataclass(frozen=True)
class SyntheticCoin:
    symbol: str
    slot: int
    generation: int
    listed_at: datetime
    delisted_at: datetime | None
    beta: float
    idio_vol_daily: float
    tail_df: float
    base_quote_volume: float
    start_price: float
    drift_daily: float
    phi: float = 0.0  # planted AR(1) coefficient of the log return per bar; 0: no edge (a random walk)


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([abs(int(k)) for k in keys])


def build_coins(seed: int, n_slots: int, until: datetime, planted: int = 0) -> list[SyntheticCoin]:
    """Every coin that listed before `until`, slot by slot (deterministic, prefix-stable), then the
    `planted` coins (their own random streams: changing `n_slots` never changes them, nor they the rest)."""
    coins: list[SyntheticCoin] = []
    for slot in range(n_slots):
        params = _rng(seed, 17, slot)
        major = slot < max(3, int(round(n_slots * 0.6)))
        listed = GENESIS + timedelta(days=float(params.uniform(0, 900 if major else 1200)))
        generation = 0
        while listed < until:
            gen_rng = _rng(seed, 29, slot, generation)
            lifetime = None if major else float(gen_rng.exponential(420.0)) + 20.0
            delisted = listed + timedelta(days=lifetime) if lifetime is not None else None
            name = slot_name(slot) + ("" if generation == 0 else f"V{generation + 1}")
            liquidity = 10 ** (gen_rng.uniform(7.5, 9.5) if major else gen_rng.uniform(5.0, 8.0))
            coins.append(
                SyntheticCoin(
                    symbol=normalise_symbol(f"{name}-USDT"),
                    slot=slot,
                    generation=generation,
                    listed_at=listed.replace(hour=0, minute=0, second=0, microsecond=0),
                    delisted_at=delisted.replace(hour=0, minute=0, second=0, microsecond=0)
                    if delisted
                    else None,
                    beta=float(gen_rng.uniform(0.6, 1.4) if major else gen_rng.uniform(0.8, 2.0)),
                    idio_vol_daily=float(
                        gen_rng.uniform(0.012, 0.03) if major else gen_rng.uniform(0.03, 0.08)
                    ),
                    tail_df=float(gen_rng.uniform(3.0, 6.0)),
                    base_quote_volume=float(liquidity),
                    start_price=float(10 ** gen_rng.uniform(-3, 4.5)),
                    drift_daily=float(gen_rng.normal(0.0, 0.0005)),
                )
            )
            if delisted is None:
                break
            listed = delisted + timedelta(days=float(gen_rng.uniform(3, 40)))
            generation += 1
    for k in range(planted):
        rng = _rng(seed, 17, _PLANTED_SLOT0 + k)
        listed = GENESIS + timedelta(days=float(rng.uniform(0, 200)))
        if listed >= until:
            continue
        coins.append(
            SyntheticCoin(
                symbol=planted_symbol(k),
                slot=_PLANTED_SLOT0 + k,
                generation=0,
                listed_at=listed.replace(hour=0, minute=0, second=0, microsecond=0),
                delisted_at=None,
                beta=float(rng.uniform(0.8, 1.2)),
                idio_vol_daily=float(rng.uniform(0.015, 0.025)),
                tail_df=float(rng.uniform(4.0, 6.0)),
                base_quote_volume=float(10 ** rng.uniform(8.3, 8.7)),  # a major's: in any top 20
                start_price=float(10 ** rng.uniform(-1, 3)),
                drift_daily=float(rng.normal(0.0, 0.0005)),
                phi=PLANTED_PHI,
            )
        )
    return coins


def _t_shocks(rng: np.random.Generator, df: float, n: int) -> np.ndarray:
    """Student-t shocks scaled to unit variance (fat tails without changing the volatility)."""
    return rng.standard_t(df, size=n) / math.sqrt(df / (df - 2.0))


@lru_cache(maxsize=256)
def _market_chunk(seed: int, tf_seconds: int, chunk: int) -> np.ndarray:
    rng = _rng(seed, _MARKET_STREAM, tf_seconds, chunk)
    scale = 0.028 * math.sqrt(tf_seconds / 86400)
    return scale * _t_shocks(rng, 4.0, CHUNK)


def _coin_chunk(
    seed: int, coin: SyntheticCoin, tf_seconds: int, chunk: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Idiosyncratic shocks × regime multiplier, intrabar range noise and volume noise for one chunk."""
    rng = _rng(seed, 43, coin.slot, coin.generation, tf_seconds, chunk)
    scale = coin.idio_vol_daily * math.sqrt(tf_seconds / 86400)
    shocks = scale * _t_shocks(rng, coin.tail_df, CHUNK)
    # three volatility regimes (calm, normal, stormy) with sticky transitions
    mult = np.array([0.6, 1.0, 2.2])
    stay = 1.0 - 1.0 / max(5.0, 30.0 * 86400 / tf_seconds)
    switches = rng.random(CHUNK) > stay
    draws = rng.choice(3, size=CHUNK, p=[0.35, 0.5, 0.15])
    switches[0] = True
    last_switch = np.maximum.accumulate(np.where(switches, np.arange(CHUNK), 0))
    state = draws[last_switch]
    range_noise = np.abs(rng.normal(0.0, 1.0, size=(2, CHUNK)))
    vol_noise = rng.normal(0.0, 0.35, size=CHUNK)
    return shocks * mult[state], range_noise, vol_noise


def coin_bars(seed: int, coin: SyntheticCoin, tf_seconds: int, until: datetime) -> pl.DataFrame:
    """All closed bars of `coin` from its listing to min(until, delisting)."""
    start_ms = to_ms(coin.listed_at)
    end = until if coin.delisted_at is None else min(until, coin.delisted_at)
    first = math.ceil((start_ms - to_ms(GENESIS)) / (tf_seconds * 1000))
    last = (to_ms(end) - to_ms(GENESIS)) // (tf_seconds * 1000) - 1  # last bar that closed by `end`
    if last < first:
        return empty_candles()
    idx = np.arange(first, last + 1)
    chunks = range(first // CHUNK, last // CHUNK + 1)
    market = np.concatenate([_market_chunk(seed, tf_seconds, c) for c in chunks])
    parts = [_coin_chunk(seed, coin, tf_seconds, c) for c in chunks]
    idio = np.concatenate([p[0] for p in parts])
    rng_noise = np.concatenate([p[1] for p in parts], axis=1)
    vol_noise = np.concatenate([p[2] for p in parts])
    offset = first - chunks[0] * CHUNK
    sl = slice(offset, offset + len(idx))
    drift = coin.drift_daily * tf_seconds / 86400
    log_ret = drift + coin.beta * market[sl] + idio[sl]
    if coin.phi:
        # the planted signal, recursive from the listing bar (where every frame of the coin starts), so a
        # later as-of time still only adds bars
        from scipy.signal import lfilter

        log_ret = lfilter([1.0], [1.0, -coin.phi], log_ret)
    log_close = math.log(coin.start_price) + np.cumsum(log_ret)
    close = np.exp(log_close)
    open_ = np.exp(np.concatenate([[math.log(coin.start_price)], log_close[:-1]]))
    bar_vol = (coin.idio_vol_daily + 0.02) * math.sqrt(tf_seconds / 86400)
    high = np.maximum(open_, close) * np.exp(0.5 * bar_vol * rng_noise[0, sl])
    low = np.minimum(open_, close) * np.exp(-0.5 * bar_vol * rng_noise[1, sl])
    move = np.abs(log_ret) / max(bar_vol, 1e-9)
    quote_volume = coin.base_quote_volume * (tf_seconds / 86400) * np.exp(vol_noise[sl]) * (0.6 + 0.4 * move)
    volume = quote_volume / close
    ts = (to_ms(GENESIS) + idx * tf_seconds * 1000).astype(np.int64)
    frame = pl.DataFrame(
        {"timestamp": ts, "open": open_, "high": high, "low": low, "close": close, "volume": volume}
    ).with_columns(pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC").cast(TIMESTAMP))
    return frame


class SyntheticMarket:
    """`MarketSource` over the synthetic market, as seen at `as_of`."""

    name = "synthetic"

    def __init__(
        self,
        as_of: datetime,
        seed: int = 7,
        n_coins: int = 30,
        quote: str = "USDT",
        timeframe: str = "1d",
        planted: int = 0,
    ) -> None:
        if timeframe not in TIMEFRAMES:
            raise MarketDataError(f"timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
        if quote != "USDT":
            raise MarketDataError(f"the synthetic market quotes in USDT only, not {quote!r}")
        self.as_of = as_of
        self.seed = seed
        self.n_coins = n_coins
        self.timeframe = timeframe
        self._coins = {c.symbol: c for c in build_coins(seed, n_coins, as_of, planted)}

    @property
    def request_count(self) -> int:
        return 0

    def _coin(self, symbol: str) -> SyntheticCoin:
        coin = self._coins.get(normalise_symbol(symbol))
        if coin is None:
            raise MarketDataError(
                f"symbol {symbol!r} is not listed on the synthetic market at {self.as_of:%Y-%m-%d}"
            )
        return coin

    def markets(self) -> list[MarketInfo]:
        out = []
        for coin in self._coins.values():
            active = coin.delisted_at is None or coin.delisted_at > self.as_of
            out.append(
                MarketInfo(
                    symbol=coin.symbol,
                    base=coin.symbol.split("-")[0],
                    quote="USDT",
                    market_type="spot",
                    active=active,
                    maker_fee_bps=2.0,
                    taker_fee_bps=4.0,
                    listed_at=coin.listed_at,
                )
            )
        return out

    def tickers(self) -> dict[str, Ticker]:
        out: dict[str, Ticker] = {}
        for coin in self._coins.values():
            if coin.delisted_at is not None and coin.delisted_at <= self.as_of:
                continue
            tf_s = TIMEFRAMES[self.timeframe]
            bars = coin_bars(self.seed, coin, tf_s, self.as_of).tail(max(1, 86400 // tf_s))
            if bars.is_empty():
                continue
            quote_volume = float((bars["close"] * bars["volume"]).sum())
            last = float(bars["close"][-1])
            spread_bps = max(0.5, 300.0 / math.sqrt(max(quote_volume, 1.0) / 1e4))
            half = last * spread_bps / 2e4
            out[coin.symbol] = Ticker(coin.symbol, last, quote_volume, bid=last - half, ask=last + half)
        return out

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, since: datetime, until: datetime | None = None
    ) -> pl.DataFrame:
        if timeframe not in TIMEFRAMES:
            raise MarketDataError(f"timeframe {timeframe!r} is not one of {', '.join(TIMEFRAMES)}")
        tf_s = TIMEFRAMES[timeframe]
        end = min(until or self.as_of, self.as_of)
        bars = closed_only(coin_bars(self.seed, self._coin(symbol), tf_s, end), tf_s, end)
        return bars.filter(pl.col("timestamp") >= since)

    def first_bar_time(self, symbol: str, timeframe: str) -> datetime | None:
        return self._coin(symbol).listed_at
