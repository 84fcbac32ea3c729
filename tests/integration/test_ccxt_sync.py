"""The real ccxt binance client, through the loopback Binance server, into the candle store.

Each test asserts what ends up on disk (compared with the recorded CSV) and what the server saw.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from huracan_core import atomic
from huracan_core.candles.gaps import find_gaps
from huracan_core.candles.store import CandleStore
from huracan_core.config import MarketSettings
from huracan_core.market.ccxt_source import CcxtMarket
from huracan_core.paths import EngineHome
from tests.support.binance_server import FAULT_KINDS, BinanceServer, csv_candles

SINCE = datetime(2018, 1, 1, tzinfo=UTC)
AS_OF = datetime(2022, 10, 1, tzinfo=UTC)


@pytest.fixture
def server(shared_data: Path) -> Iterator[BinanceServer]:
    with BinanceServer(shared_data, now=AS_OF, retry_after_s=0) as srv:
        yield srv.warm("1h", "BTCUSDT")


@pytest.fixture
def store(home: Path) -> CandleStore:
    return CandleStore(EngineHome(home))


def market(
    server: BinanceServer, as_of: datetime = AS_OF, timeout_s: float = 5.0, **settings: object
) -> CcxtMarket:
    fields: dict[str, object] = {"timeframe": "1h", "max_retries": 6, **settings}
    config = MarketSettings(source="ccxt", api_url=server.url, request_timeout_s=timeout_s, **fields)
    return CcxtMarket(config, as_of, retry_wait_s=0.005)  # ccxt's own rate limiter, default spacing


def window(frame: pl.DataFrame, since: datetime, as_of: datetime, step_s: int = 3600) -> pl.DataFrame:
    ms = pl.col("timestamp").dt.epoch("ms")
    return frame.filter(
        (pl.col("timestamp") >= since) & (ms + step_s * 1000 <= int(as_of.timestamp() * 1000))
    )


def test_full_sync_stores_exactly_the_recorded_candles(
    server: BinanceServer, store: CandleStore, shared_data: Path
) -> None:
    started = time.perf_counter()
    report = store.sync(market(server), "BTC-USDT", "1h", SINCE, AS_OF)
    elapsed = time.perf_counter() - started
    want = window(csv_candles(shared_data, "1h", "BTC-USDT"), SINCE, AS_OF)
    stored = store.load("BTC-USDT", "1h")
    assert stored.equals(want)  # timestamps and every value, bit for bit
    assert stored.height == 41_495 and stored["timestamp"].is_unique().all()
    # the source's gaps are reported, none invented: 26 maintenance windows, 121 bars in this range
    source_gaps = find_gaps(want, 3600)
    assert report.gaps == source_gaps and len(report.gaps) == 26
    assert sum(g.missing_bars for g in report.gaps) == 121 and report.longest_gap_bars == 33
    # requests: exchangeInfo, the listing, 42 pages of 1000, one refetch per gap window (each asked once)
    pages = server.counts["klines"] - 1
    assert server.counts["exchangeInfo"] == 1
    assert pages == 42 + 23 and report.requests == server.total_requests == 67
    assert elapsed < 20
    print(
        f"\nfull sync: {stored.height} bars, {report.requests} requests, {len(report.gaps)} gaps, {elapsed:.2f} s"
    )


def test_sync_with_20_percent_of_requests_faulted_gives_the_same_candles(
    shared_data: Path, store: CandleStore
) -> None:
    with BinanceServer(
        shared_data, now=AS_OF, fault_rate=0.2, seed=2024, retry_after_s=0, slow_s=1.5
    ) as server:
        server.warm("1h", "BTCUSDT")
        started = time.perf_counter()
        report = store.sync(market(server, timeout_s=1.0), "BTC-USDT", "1h", SINCE, AS_OF)
        elapsed = time.perf_counter() - started
        faulted = sum(server.faults.values())
        print(
            f"\nfaulted sync: {server.total_requests} requests, {faulted} faulted {dict(server.faults)}, {elapsed:.2f} s"
        )
        assert 0.15 <= faulted / server.total_requests <= 0.25
        assert len(server.faults) >= 9  # a real mix of kinds
        assert server.faults["missing"] >= 1  # pages with holes happened and were healed by the refetch
    want = window(csv_candles(shared_data, "1h", "BTC-USDT"), SINCE, AS_OF)
    stored = store.load("BTC-USDT", "1h")
    assert stored.equals(want) and stored["timestamp"].is_unique().all()
    assert len(report.gaps) == 26 and report.requests == server.total_requests
    assert elapsed < 20


def test_second_sync_asks_only_for_new_bars_and_a_fresh_one_asks_nothing(
    server: BinanceServer, store: CandleStore, shared_data: Path
) -> None:
    store.sync(market(server), "BTC-USDT", "1h", SINCE, AS_OF)
    server.reset_counts()

    same = store.sync(market(server), "BTC-USDT", "1h", SINCE, AS_OF)  # same as-of: nothing to do
    assert server.total_requests == 0 and same.requests == 0 and same.skipped_fresh

    later = AS_OF + timedelta(days=2, hours=5, minutes=30)
    server.now = later
    report = store.sync(market(server, later), "BTC-USDT", "1h", SINCE, later)
    assert dict(server.counts) == {"exchangeInfo": 1, "klines": 1}  # markets, then one page of 53 new bars
    assert report.bars_added == 53 and report.requests == 2
    ((endpoint, params, _),) = [r for r in server.requests if r[0] == "klines"]
    assert int(params["startTime"]) == int(AS_OF.timestamp() * 1000) and params["limit"] == "53"
    want = window(csv_candles(shared_data, "1h", "BTC-USDT"), SINCE, later)
    assert store.load("BTC-USDT", "1h").equals(want)

    server.reset_counts()
    live = later + timedelta(hours=20)
    server.now = live
    fresh = store.sync(market(server, live), "BTC-USDT", "1h", SINCE)  # live, within 24 h of a full sync
    assert server.total_requests == 0 and fresh.skipped_fresh and "fresh" in fresh.note


def test_cache_with_1970_timestamps_is_quarantined_and_rebuilt(
    server: BinanceServer, store: CandleStore, shared_data: Path
) -> None:
    recorded = csv_candles(shared_data, "1d", "BTC-USDT")
    # the original system's cache: epoch ms divided by 1000, i.e. every bar in January 1970
    broken = recorded.with_columns(
        pl.from_epoch(pl.col("timestamp").dt.epoch("ms") // 1000, time_unit="ms")
        .dt.replace_time_zone("UTC")
        .dt.cast_time_unit("ms")
    )
    atomic.write_parquet(store.path("BTC-USDT", "1d"), broken)
    report = store.sync(market(server, timeframe="1d"), "BTC-USDT", "1d", SINCE, AS_OF)
    assert report.quarantined is not None and "timestamp-not-before-2009" in report.quarantined
    assert Path(report.quarantined).is_file() and pl.read_parquet(report.quarantined).equals(broken)
    assert store.load("BTC-USDT", "1d").equals(window(recorded, SINCE, AS_OF, 86400))
    assert server.counts["klines"] == 1 + 2  # listing, two pages (no gaps in 1d before 2026)


def test_recorded_open_last_bar_is_never_stored(shared_data: Path, store: CandleStore) -> None:
    """vbalabin klines.json: 240 ETHUSDT 1h rows recorded mid-bar; the last one was still forming."""
    rows = atomic.read_json(shared_data / "raw" / "vbalabin__trtrd" / "klines.json")
    forming = datetime(2021, 11, 18, 17, tzinfo=UTC)
    assert len(rows) == 240 and rows[-1][0] == int(forming.timestamp() * 1000)
    recorded_at = forming + timedelta(minutes=40)
    with BinanceServer(shared_data, now=recorded_at) as server:
        server.add_klines("ETHUSDT", "1h", rows)
        # our clock runs 50 minutes ahead of the exchange: by our as-of the 17:00 bar "should" be closed
        skewed = recorded_at + timedelta(minutes=50)
        source = market(server, skewed)
        report = store.sync(source, "ETH-USDT", "1h", datetime(2021, 11, 1, tzinfo=UTC), skewed)
    stored = store.load("ETH-USDT", "1h")
    assert stored.height == 239 and report.last == forming - timedelta(hours=1)
    assert forming not in stored["timestamp"].to_list()
    # the 239 closed bars equal the independently recorded CSV (SOURCES.md)
    csv = csv_candles(shared_data, "1h", "ETH-USDT")
    assert stored.equals(
        csv.filter(pl.col("timestamp").is_between(stored["timestamp"][0], stored["timestamp"][-1]))
    )


def test_server_forming_bar_is_not_stored_when_clocks_agree(
    server: BinanceServer, store: CandleStore, shared_data: Path
) -> None:
    as_of = datetime(2022, 9, 30, 12, 25, tzinfo=UTC)
    server.now = as_of
    store.sync(market(server, as_of), "BTC-USDT", "1h", datetime(2022, 9, 1, tzinfo=UTC), as_of)
    stored = store.load("BTC-USDT", "1h")
    assert stored["timestamp"].max() == datetime(2022, 9, 30, 11, tzinfo=UTC)
    assert stored.equals(
        window(csv_candles(shared_data, "1h", "BTC-USDT"), datetime(2022, 9, 1, tzinfo=UTC), as_of)
    )


def test_all_fault_kinds_are_known_to_the_server() -> None:
    assert set(FAULT_KINDS) >= {
        "429",
        "418",
        "500",
        "502",
        "503",
        "slow",
        "reset",
        "truncated",
        "malformed",
        "missing",
    }
