"""CcxtMarket against the loopback Binance server: metadata, tickers, paging, retries, faults, secrets."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from pydantic import SecretStr

from huracan_core.config import MarketSettings, load_settings
from huracan_core.market.base import MarketDataError, MarketSource
from huracan_core.market.ccxt_source import CcxtMarket
from tests.support.binance_server import BinanceServer, csv_candles

AS_OF = datetime(2022, 10, 1, tzinfo=UTC)
DAY_SINCE = datetime(2021, 1, 1, tzinfo=UTC)


@pytest.fixture
def server(shared_data: Path) -> Iterator[BinanceServer]:
    with BinanceServer(shared_data, now=AS_OF, retry_after_s=0, slow_s=1.0) as srv:
        yield srv.warm("1d", "BTCUSDT")


def market(
    server: BinanceServer, timeout_s: float = 5.0, max_retries: int = 4, as_of: datetime = AS_OF, **kw: object
) -> CcxtMarket:
    settings = MarketSettings(
        source="ccxt",
        api_url=server.url,
        timeframe="1d",
        request_timeout_s=timeout_s,
        max_retries=max_retries,
    )
    return CcxtMarket(settings, as_of, retry_wait_s=0.005, **kw)  # type: ignore[arg-type]


def days(shared_data: Path, since: datetime = DAY_SINCE) -> pl.DataFrame:
    frame = csv_candles(shared_data, "1d", "BTC-USDT")
    return frame.filter((pl.col("timestamp") >= since) & (pl.col("timestamp") < AS_OF))


def test_is_a_market_source_with_the_rate_limiter_on(server: BinanceServer) -> None:
    settings = MarketSettings(source="ccxt", api_url=server.url)
    source = CcxtMarket(settings, AS_OF)
    assert isinstance(source, MarketSource)
    assert source.exchange.enableRateLimit and source.exchange.rateLimit == 50  # ccxt's binance default
    assert source.exchange.timeout == 10_000 and source.page_limit == 1000
    assert source.exchange.urls["api"]["public"] == server.url
    assert source.request_count == 0 and server.total_requests == 0  # nothing is fetched until asked


def test_markets_carry_binance_metadata(server: BinanceServer) -> None:
    source = market(server)
    markets = {m.symbol: m for m in source.markets()}
    btc = markets["BTC-USDT"]
    assert (btc.base, btc.quote, btc.market_type, btc.active) == ("BTC", "USDT", "spot", True)
    assert btc.maker_fee_bps == pytest.approx(10.0) and btc.taker_fee_bps == pytest.approx(10.0)
    assert btc.price_precision == 0.01 and btc.amount_precision == 1e-05 and btc.min_notional == 10.0
    assert all(m.quote == "USDT" for m in markets.values())
    assert any(not m.active for m in markets.values())  # BREAK (halted) pairs are listed, inactive
    assert dict(server.counts) == {"exchangeInfo": 1}


def test_tickers_give_usd_quote_volume_and_spread(server: BinanceServer) -> None:
    tickers = market(server, as_of=datetime.now(UTC)).tickers()
    btc = tickers["BTC-USDT"]
    assert btc.last == 69010.01 and btc.bid == 69010.0 and btc.ask == 69010.01
    assert btc.quote_volume_usd > 1e9 and btc.spread_bps == pytest.approx(0.01 / 69010.005 * 1e4)
    assert all(t.last > 0 for t in tickers.values())  # halted pairs (all-zero entries) are left out
    assert all(s.endswith("-USDT") for s in tickers)
    assert dict(server.counts) == {"exchangeInfo": 1, "ticker/24hr": 1}


def test_live_tickers_are_refused_for_a_past_as_of(server: BinanceServer) -> None:
    with pytest.raises(MarketDataError, match="would leak later volumes"):
        market(server).tickers()  # as-of 2022-10-01: today's volumes would rank coins in hindsight
    assert server.total_requests == 0


def test_fetch_ohlcv_pages_at_the_exchange_limit(server: BinanceServer, shared_data: Path) -> None:
    source = market(server)
    since = datetime(2018, 1, 1, tzinfo=UTC)
    frame = source.fetch_ohlcv("BTC-USDT", "1d", since, AS_OF)
    assert frame.equals(days(shared_data, since))
    limits = [int(p["limit"]) for e, p, _ in server.requests if e == "klines"]
    assert limits == [1000, frame.height - 1000]  # 1734 bars: one full page, then exactly the rest
    assert source.first_bar_time("BTC-USDT", "1d") == datetime(2017, 8, 17, tzinfo=UTC)
    assert source.first_bar_time("BTC-USDT", "1d") == datetime(2017, 8, 17, tzinfo=UTC)  # remembered
    assert server.counts["klines"] == 3


@pytest.mark.parametrize(
    "kind", ["429", "418", "500", "502", "503", "slow", "reset", "truncated", "malformed"]
)
def test_each_transient_fault_is_retried(server: BinanceServer, shared_data: Path, kind: str) -> None:
    source = market(server, timeout_s=0.5)
    source.markets()
    server.reset_counts()
    server.script.extend([kind])
    frame = source.fetch_ohlcv("BTC-USDT", "1d", DAY_SINCE, AS_OF)
    assert frame.equals(days(shared_data))
    assert server.counts["klines"] == 2 and dict(server.faults) == {kind: 1}
    assert source.request_count == 1 + 2


def test_retry_after_is_honoured(shared_data: Path) -> None:
    with BinanceServer(shared_data, now=AS_OF, retry_after_s=1) as server:
        source = market(server)
        source.markets()
        server.script.extend(["429", "418"])
        started = time.perf_counter()
        source.fetch_ohlcv("BTC-USDT", "1d", DAY_SINCE, AS_OF)
        waited = time.perf_counter() - started
    assert waited >= 2.0  # two waits of at least the server's 1 s Retry-After (backoff alone is ~ms)
    assert server.counts["klines"] == 3


def test_a_ban_longer_than_we_accept_fails_fast(shared_data: Path) -> None:
    with BinanceServer(shared_data, now=AS_OF, retry_after_s=3600) as server:
        source = market(server, max_retry_after_s=60.0)
        source.markets()
        server.script.append("418")
        with pytest.raises(MarketDataError, match="wait 3600 s"):
            source.fetch_ohlcv("BTC-USDT", "1d", DAY_SINCE, AS_OF)
        assert server.counts["klines"] == 1


def test_a_final_4xx_is_not_retried(server: BinanceServer) -> None:
    source = market(server)
    source.markets()
    server.script.append("400")
    with pytest.raises(MarketDataError, match="HTTP 400") as info:
        source.fetch_ohlcv("BTC-USDT", "1d", DAY_SINCE, AS_OF)
    assert "gave up" not in str(info.value)
    assert server.counts["klines"] == 1


def test_persistent_failure_gives_up_after_max_retries(server: BinanceServer) -> None:
    source = market(server, max_retries=3)
    source.markets()
    server.fault_rate, server.fault_kinds = 1.0, ("503",)
    with pytest.raises(MarketDataError, match="gave up after retries"):
        source.fetch_ohlcv("BTC-USDT", "1d", DAY_SINCE, AS_OF)
    assert server.counts["klines"] == 4


def test_malformed_exchange_info_is_retried_not_taken_as_no_markets(server: BinanceServer) -> None:
    server.script.extend(["malformed", "truncated"])
    source = market(server)
    assert len(source.markets()) > 300
    assert server.counts["exchangeInfo"] == 3


def test_unknown_symbol_and_timeframe_are_clear_errors(server: BinanceServer) -> None:
    source = market(server)
    with pytest.raises(MarketDataError, match="not listed"):
        source.fetch_ohlcv("NOPE-USDT", "1d", DAY_SINCE)
    with pytest.raises(MarketDataError, match="no '7m' candles"):
        source.fetch_ohlcv("BTC-USDT", "7m", DAY_SINCE)
    assert server.counts["klines"] == 0


def test_rate_limiter_spaces_requests_by_weight(server: BinanceServer) -> None:
    """ccxt spaces requests by rateLimit x the endpoint's cost (klines: 0.4 in ccxt 4.5's binance table)."""
    source = market(server, rate_limit_ms=250)
    source.markets()
    started = time.perf_counter()
    source.fetch_ohlcv("BTC-USDT", "1d", datetime(2018, 1, 1, tzinfo=UTC), AS_OF)  # two pages
    source.fetch_ohlcv("BTC-USDT", "1d", datetime(2018, 1, 1, tzinfo=UTC), AS_OF)
    elapsed = time.perf_counter() - started
    # the first page follows the slow markets() parse, so three of the four requests had to wait
    assert server.counts["klines"] == 4 and elapsed >= 3 * 0.4 * 0.250 * 0.95


def test_api_url_comes_from_the_environment(
    server: BinanceServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huracan_core.market.factory import build_source

    monkeypatch.setenv("HURACAN_MARKET__SOURCE", "ccxt")
    monkeypatch.setenv("HURACAN_MARKET__API_URL", server.url)
    monkeypatch.setenv("HURACAN_MARKET__API_KEY", "k3y-never-logged")
    source = build_source(load_settings(), AS_OF)
    assert isinstance(source, CcxtMarket)
    assert len(source.markets()) > 300 and server.counts["exchangeInfo"] == 1


def test_secrets_never_reach_ccxt_logs_or_errors(
    server: BinanceServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = MarketSettings(
        source="ccxt",
        api_url=server.url,
        api_key=SecretStr("k3y-SECRET"),
        api_secret=SecretStr("s3cret-SECRET"),
        max_retries=1,
        request_timeout_s=5,
    )
    source = CcxtMarket(settings, AS_OF, retry_wait_s=0.001)
    assert not source.exchange.apiKey and not source.exchange.secret  # public endpoints only
    server.script.extend(["503", "503"])
    with pytest.raises(MarketDataError) as info:
        source.markets()
    text = " ".join([repr(source), str(info.value), caplog.text, repr(settings)])
    assert "SECRET" not in text
