"""Replay serves only bars closed at the as-of time, from real recorded candles."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from huracan_core.dates import as_of_for
from huracan_core.market.base import MarketDataError
from huracan_core.market.replay import ReplayMarket


def test_only_closed_bars_and_derived_tickers(shared_data: Path) -> None:
    m = ReplayMarket(shared_data / "binance" / "1d", as_of_for(date(2026, 4, 20)))
    btc = m.fetch_ohlcv("BTC-USDT", "1d", datetime(2026, 4, 1, tzinfo=UTC))
    assert btc["timestamp"].max() == datetime(2026, 4, 20, tzinfo=UTC)
    raw = pl.read_csv(shared_data / "binance" / "1d" / "BTC-USDT.csv")
    last = raw.filter(pl.col("timestamp") == int(datetime(2026, 4, 20, tzinfo=UTC).timestamp() * 1000))
    assert btc["close"][-1] == last["close"][0]
    ticker = m.tickers()["BTC-USDT"]
    assert ticker.quote_volume_usd == pytest.approx(last["close"][0] * last["volume"][0])
    assert ticker.spread_bps is None  # recorded candles have no book: never invented
    markets = {x.symbol: x for x in m.markets()}
    assert len(markets) == 14 and markets["BTC-USDT"].listed_at == datetime(2017, 8, 17, tzinfo=UTC)


def test_past_as_of_hides_later_coins(shared_data: Path) -> None:
    m = ReplayMarket(shared_data / "binance" / "1d", datetime(2019, 1, 1, tzinfo=UTC))
    symbols = {x.symbol for x in m.markets()}
    assert "SOL-USDT" not in symbols and "BTC-USDT" in symbols  # SOL listed 2020-08-11


def test_timeframe_mismatch_names_the_file(shared_data: Path) -> None:
    m = ReplayMarket(shared_data / "binance" / "1h", datetime(2022, 1, 1, tzinfo=UTC), timeframe="1d")
    with pytest.raises(MarketDataError, match=r"BTC-USDT.csv.*3600s.*'1d'"):
        m.fetch_ohlcv("BTC-USDT", "1d", datetime(2021, 12, 1, tzinfo=UTC))


def test_parquet_folder_and_bad_folder(tmp_path: Path) -> None:
    with pytest.raises(MarketDataError, match="not a folder"):
        ReplayMarket(tmp_path / "missing", datetime(2022, 1, 1, tzinfo=UTC))
    ts = [int((datetime(2021, 1, 1, tzinfo=UTC) + timedelta(days=i)).timestamp() * 1000) for i in range(5)]
    pl.DataFrame(
        {
            "timestamp": ts,
            "open": [1.0] * 5,
            "high": [2.0] * 5,
            "low": [0.5] * 5,
            "close": [1.5] * 5,
            "volume": [10.0] * 5,
        }
    ).write_parquet(tmp_path / "ABC-USDT.parquet")
    m = ReplayMarket(tmp_path, datetime(2021, 1, 4, tzinfo=UTC))
    assert m.fetch_ohlcv("ABC-USDT", "1d", datetime(2020, 1, 1, tzinfo=UTC)).height == 3
