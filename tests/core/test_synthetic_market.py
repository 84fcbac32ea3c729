"""The synthetic market behaves like a market: deterministic, prefix-stable, fat-tailed, correlated; its
tickers (24 h volume, spread, last) come from closed bars only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from huracan_core.config import TIMEFRAMES, UniverseSettings
from huracan_core.market import synthetic
from huracan_core.market.base import MarketDataError, MarketSource
from huracan_core.market.synthetic import GENESIS, SyntheticMarket, build_coins, coin_bars
from huracan_core.universe import select_universe

AS_OF = datetime(2026, 4, 21, tzinfo=UTC)


def test_is_a_market_source_with_enough_coins() -> None:
    m = SyntheticMarket(AS_OF)
    assert isinstance(m, MarketSource)
    markets = m.markets()
    active = [x for x in markets if x.active]
    assert len(active) >= 25
    assert len(markets) >= 30
    assert len({x.listed_at.date() for x in markets}) >= 30  # different listing dates
    assert any(not x.active for x in markets)  # delistings exist
    volumes = [t.quote_volume_usd for t in m.tickers().values()]
    assert max(volumes) / min(volumes) > 1000  # liquidity spans orders of magnitude


def test_deterministic_and_prefix_stable() -> None:
    since = AS_OF - timedelta(days=400)
    a = SyntheticMarket(AS_OF, seed=3).fetch_ohlcv("ALFA-USDT", "1d", since)
    b = SyntheticMarket(AS_OF, seed=3).fetch_ohlcv("ALFA-USDT", "1d", since)
    later = SyntheticMarket(AS_OF + timedelta(days=30), seed=3).fetch_ohlcv("ALFA-USDT", "1d", since)
    assert a.equals(b)
    assert later.height == a.height + 30
    assert later.head(a.height).equals(a)
    other_seed = SyntheticMarket(AS_OF, seed=4).fetch_ohlcv("ALFA-USDT", "1d", since)
    assert not other_seed.equals(a)


def test_bars_are_valid_and_closed() -> None:
    m = SyntheticMarket(AS_OF, timeframe="1h")
    bars = m.fetch_ohlcv("BRAVO-USDT", "1h", AS_OF - timedelta(days=5))
    assert bars["timestamp"].max() == AS_OF - timedelta(hours=1)  # last bar closes exactly at as_of
    assert bars.filter(
        (pl.col("high") < pl.max_horizontal("open", "close"))
        | (pl.col("low") > pl.min_horizontal("open", "close"))
        | (pl.col("low") <= 0)
        | (pl.col("volume") < 0)
    ).is_empty()
    assert bars["timestamp"].diff().drop_nulls().unique().to_list() == [timedelta(hours=1)]


def test_fat_tails_and_common_factor() -> None:
    m = SyntheticMarket(AS_OF)
    since = AS_OF - timedelta(days=1000)
    majors = ["ALFA-USDT", "BRAVO-USDT", "CHARLIE-USDT", "DELTA-USDT"]
    rets = {}
    for s in majors:
        close = m.fetch_ohlcv(s, "1d", since).select("timestamp", "close")
        rets[s] = close.with_columns(pl.col("close").log().diff().alias(s)).select("timestamp", s)
    joined = rets[majors[0]]
    for s in majors[1:]:
        joined = joined.join(rets[s], on="timestamp")
    arr = joined.drop("timestamp").drop_nulls().to_numpy()
    corr = np.corrcoef(arr.T)
    assert corr[np.triu_indices(len(majors), 1)].mean() > 0.2
    x = arr[:, 0]
    kurt = ((x - x.mean()) ** 4).mean() / x.var() ** 2 - 3
    assert kurt > 1.0


def test_unknown_symbol_is_a_clear_error() -> None:
    with pytest.raises(MarketDataError, match="NOPE-USDT"):
        SyntheticMarket(AS_OF).fetch_ohlcv("NOPE-USDT", "1d", AS_OF - timedelta(days=3))


def _closed_tickers(seed: int, n_coins: int, timeframe: str, as_of: datetime) -> dict[str, tuple]:
    """(last, 24 h quote volume) per coin from the bars that had CLOSED by `as_of`, read off a market that
    has run 30 days further (prefix-stable), so nothing here trusts the generator's own cut at `as_of`."""
    tf = TIMEFRAMES[timeframe]
    out = {}
    for coin in build_coins(seed, n_coins, as_of):
        if coin.delisted_at is not None and coin.delisted_at <= as_of:
            continue
        bars = coin_bars(seed, coin, tf, as_of + timedelta(days=30))
        bars = bars.filter(pl.col("timestamp") + timedelta(seconds=tf) <= as_of).tail(max(1, 86400 // tf))
        if bars.height:
            out[coin.symbol] = (float(bars["close"][-1]), float((bars["close"] * bars["volume"]).sum()))
    return out


def _ticker_numbers(m: SyntheticMarket) -> dict[str, tuple]:
    return {s: (t.last, t.quote_volume_usd) for s, t in m.tickers().items()}


@pytest.mark.parametrize("timeframe", ["1h", "1d"])
def test_tickers_are_built_from_closed_bars_only(timeframe: str) -> None:
    """At a bar's close, inside the next bar and 1 ms before it closes, the 24 h volume and last price of
    every coin are those of the bars closed by the as-of time; once the open bar closes they move."""
    tf = timedelta(seconds=TIMEFRAMES[timeframe])
    at_close = AS_OF - 3 * tf
    seen = {}
    for as_of in (at_close, at_close + tf / 2, at_close + tf - timedelta(milliseconds=1)):
        got = _ticker_numbers(SyntheticMarket(as_of, n_coins=12, timeframe=timeframe))
        want = _closed_tickers(7, 12, timeframe, as_of)
        assert got.keys() == want.keys() and len(got) >= 8
        for symbol, (last, volume) in want.items():
            assert got[symbol] == pytest.approx((last, volume), rel=1e-12), (symbol, as_of)
        seen[as_of] = got
    assert len({str(v) for v in seen.values()}) == 1  # the still-open bar changed nothing
    closed = _ticker_numbers(SyntheticMarket(at_close + tf, n_coins=12, timeframe=timeframe))
    assert closed != seen[at_close]  # ... until it closed


@pytest.mark.parametrize("timeframe", ["1h", "1d"])
def test_changing_the_open_bar_and_later_bars_changes_no_ticker_or_universe_row(
    timeframe: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rewrite every bar from the one open at the as-of time on (25x the moves, 20x the volume): the
    tickers (24 h volume, spread, last) and the universe rows built on them (volume, spread, age) stay."""
    tf_s = TIMEFRAMES[timeframe]
    as_of = AS_OF - timedelta(seconds=tf_s) / 2  # half way through a bar
    first_open = int((as_of - GENESIS).total_seconds() // tf_s)

    def before():  # type: ignore[no-untyped-def]
        m = SyntheticMarket(as_of, n_coins=12, timeframe=timeframe)
        rows = select_universe(m, UniverseSettings(min_age_days=0, min_quote_volume_usd=0)).rows
        return m.tickers(), [(r.symbol, r.quote_volume_usd, r.spread_bps, r.age_days) for r in rows]

    base = before()
    market_chunk, coin_chunk = synthetic._market_chunk, synthetic._coin_chunk

    def later(chunk: int) -> np.ndarray:
        return chunk * synthetic.CHUNK + np.arange(synthetic.CHUNK) >= first_open

    def wild_market(seed: int, tf: int, chunk: int) -> np.ndarray:
        return np.where(later(chunk), 25.0, 1.0) * market_chunk(seed, tf, chunk)

    def wild_coin(seed, coin, tf, chunk):  # type: ignore[no-untyped-def]
        shocks, ranges, vol = coin_chunk(seed, coin, tf, chunk)
        return np.where(later(chunk), 25.0, 1.0) * shocks, ranges, vol + np.where(later(chunk), 3.0, 0.0)

    monkeypatch.setattr(synthetic, "_market_chunk", wild_market)
    monkeypatch.setattr(synthetic, "_coin_chunk", wild_coin)
    changed = before()
    assert changed == base
    # the rewrite is real: the bars after the as-of time differ
    coin = build_coins(7, 12, as_of)[0]
    far = as_of + timedelta(days=3)
    monkeypatch.setattr(synthetic, "_market_chunk", market_chunk)
    monkeypatch.setattr(synthetic, "_coin_chunk", coin_chunk)
    plain = coin_bars(7, coin, tf_s, far)
    monkeypatch.setattr(synthetic, "_market_chunk", wild_market)
    monkeypatch.setattr(synthetic, "_coin_chunk", wild_coin)
    assert not coin_bars(7, coin, tf_s, far).tail(5).equals(plain.tail(5))
