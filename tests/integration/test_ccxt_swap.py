"""USDT-M perpetuals through the real ccxt client (`binanceusdm`) against the loopback server: the swap
universe, and funding settlements fetched and cached incrementally (a second sync asks only for what is new)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from huracan_core.candles.frame import to_ms
from huracan_core.candles.funding_store import FundingStore
from huracan_core.config import MarketSettings, Settings, UniverseSettings
from huracan_core.market.ccxt_source import CcxtMarket
from huracan_core.market.factory import build_source
from huracan_core.paths import EngineHome
from huracan_core.universe import select_universe
from tests.support.binance_server import BinanceServer

DAY1 = datetime(2025, 5, 10, tzinfo=UTC)
DAY2 = datetime(2025, 5, 20, tzinfo=UTC)
SINCE = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def usdm(shared_data: Path) -> Path:
    if not (shared_data / "binance-usdm" / "funding" / "BTC-USDT.csv").is_file():
        pytest.skip(f"recorded USDT-M perps not found at {shared_data / 'binance-usdm'}")
    return shared_data


@pytest.fixture
def server(usdm: Path) -> Iterator[BinanceServer]:
    with BinanceServer(usdm, now=DAY2, retry_after_s=0) as srv:
        yield srv


def perps(server: BinanceServer, as_of: datetime) -> CcxtMarket:
    settings = MarketSettings(source="ccxt", api_url=server.url, timeframe="1d", max_retries=1)
    return CcxtMarket(settings, as_of, retry_wait_s=0.005, market_types=("swap",))


def recorded_funding(usdm: Path, since: datetime, until: datetime) -> pl.DataFrame:
    frame = pl.read_csv(usdm / "binance-usdm" / "funding" / "BTC-USDT.csv")
    return frame.filter((pl.col("timestamp") >= to_ms(since)) & (pl.col("timestamp") < to_ms(until)))


def test_swap_universe_comes_from_the_futures_endpoints(server: BinanceServer, monkeypatch) -> None:
    settings = Settings(
        market={"source": "ccxt", "api_url": server.url, "timeframe": "1d"},
        universe={"market_type": "swap"},
    )
    source = build_source(settings, DAY2)
    assert isinstance(source, CcxtMarket) and source.exchange_id == "binanceusdm"
    # the server's clock is DAY2; tickers of a past as-of are refused as live, so allow this one
    monkeypatch.setattr("huracan_core.market.ccxt_source.TICKER_MAX_AGE", timedelta(days=100_000))
    universe = select_universe(source, UniverseSettings(market_type="swap", top_n=5))
    picked = [r for r in universe.rows if r.selected]
    assert len(picked) == 5 and all(r.market_type == "swap" for r in picked)
    assert "BTC-USDT" in {r.symbol for r in picked}  # the largest perp by volume
    btc = {m.symbol: m for m in source.markets()}["BTC-USDT"]
    assert (btc.market_type, btc.active, btc.quote) == ("swap", True, "USDT")
    bars = source.fetch_ohlcv("BTC-USDT", "1d", DAY2 - timedelta(days=5))
    assert bars.height == 5 and bars["close"][-1] == pytest.approx(106_775.1, rel=0.05)
    assert set(server.counts) == {"fapi/exchangeInfo", "fapi/ticker/24hr", "fapi/klines"}  # no spot call


def test_funding_is_fetched_once_and_then_only_what_is_new(
    server: BinanceServer, usdm: Path, tmp_path: Path
) -> None:
    store = FundingStore(EngineHome(tmp_path))
    first = store.sync(perps(server, DAY1), "BTC-USDT", SINCE, DAY1)
    expected1 = recorded_funding(usdm, SINCE, DAY1)
    assert first.available and first.settlements_added == expected1.height == 387
    cached = store.load("BTC-USDT")
    assert cached is not None and cached.covered_to_ms == to_ms(DAY1)
    assert cached.rates.tolist() == expected1["funding_rate"].to_list()
    assert cached.times_ms.tolist() == expected1["timestamp"].to_list()

    server.reset_counts()
    again = store.sync(perps(server, DAY1), "BTC-USDT", SINCE, DAY1)
    assert again.settlements_added == 0 and server.counts["fapi/fundingRate"] == 0  # nothing new: no call

    server.reset_counts()
    second = store.sync(perps(server, DAY2), "BTC-USDT", SINCE, DAY2)
    expected2 = recorded_funding(usdm, DAY1, DAY2)
    assert second.settlements_added == expected2.height == 30
    asked = [int(p["startTime"]) for e, p, _ in server.requests if e == "fapi/fundingRate"]
    assert asked and min(asked) >= to_ms(DAY1)  # only the new stretch was asked for
    full = store.load("BTC-USDT")
    assert full is not None and len(full.rates) == 387 + 30 and full.covered_to_ms == to_ms(DAY2)


def test_a_perp_without_recorded_funding_caches_an_empty_series(
    server: BinanceServer, tmp_path: Path
) -> None:
    """The server has no recorded funding for LTC: the exchange answers no settlements, and the store
    keeps that answer (asked up to DAY2), so the cost model knows the series is empty, not unknown."""
    store = FundingStore(EngineHome(tmp_path))
    report = store.sync(perps(server, DAY2), "LTC-USDT", SINCE, DAY2)
    assert report.available and report.settlements_total == 0
    cached = store.load("LTC-USDT")
    assert cached is not None and len(cached.rates) == 0
