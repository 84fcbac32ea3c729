"""The synthetic market behaves like a market: deterministic, prefix-stable, fat-tailed, correlated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest

from huracan_core.market.base import MarketDataError, MarketSource
from huracan_core.market.synthetic import SyntheticMarket

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
