"""One bad file fails only its own coin, naming the file and what is wrong; wrong data (conflicting
duplicate bars, seconds for milliseconds, NaN prices, another bar spacing) is caught and named."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from huracan_core.candles.cli import candles_app
from huracan_core.candles.frame import candles_from_rows
from huracan_core.candles.store import CandleStore
from huracan_core.candles.validation import CandleValidationError
from huracan_core.config import UniverseSettings
from huracan_core.dates import as_of_for
from huracan_core.market.base import MarketDataError
from huracan_core.market.replay import ReplayMarket
from huracan_core.paths import EngineHome
from huracan_core.universe import select_universe
from tests.core.candles.bad_files import BAD_FILES, GOOD, BadFile, replay_folder

AS_OF = as_of_for(date(2024, 1, 10))
H = 3_600_000
T0 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)


def rows(n: int = 6) -> list[list[float]]:
    return [[T0 + i * H, 100.0 + i, 102.0 + i, 99.0 + i, 101.0 + i, 5.0] for i in range(n)]


def assert_names(message: str, path: Path, bad: BadFile) -> None:
    """The message is one line naming the file and the fault."""
    assert "\n" not in message, message
    assert str(path) in message, message
    assert re.search(bad.says, message), message


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_replay_file_fails_only_its_coin(case: str, tmp_path: Path, shared_data: Path) -> None:
    bad = BAD_FILES[case]
    folder = replay_folder(tmp_path / "replay", shared_data, bad)
    market = ReplayMarket(folder, AS_OF)

    assert sorted(m.symbol for m in market.markets()) == list(GOOD)
    assert sorted(market.tickers()) == list(GOOD)
    problems = market.bad_files()
    assert list(problems) == ["ADA-USDT"]
    assert_names(problems["ADA-USDT"], folder / bad.name, bad)
    with pytest.raises(MarketDataError) as info:
        market.fetch_ohlcv("ADA-USDT", "1d", datetime(2023, 12, 1, tzinfo=UTC))
    assert_names(str(info.value), folder / bad.name, bad)
    for symbol in GOOD:  # the other coins are still served, bar for bar
        bars = market.fetch_ohlcv(symbol, "1d", datetime(2023, 12, 1, tzinfo=UTC))
        assert bars.height == 41 and bars["timestamp"][-1] == datetime(2024, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize("case", ["empty", "non_numeric_price", "nan_close", "conflicting_duplicate"])
@pytest.mark.parametrize("pinned", [False, True])
def test_the_universe_excludes_a_coin_with_a_bad_file_and_says_why(
    case: str, pinned: bool, tmp_path: Path, shared_data: Path
) -> None:
    bad = BAD_FILES[case]
    folder = replay_folder(tmp_path / "replay", shared_data, bad)
    symbols = ["ADA-USDT", "BTC-USDT"] if pinned else None
    universe = select_universe(ReplayMarket(folder, AS_OF), UniverseSettings(), symbols=symbols)
    assert universe.selected == (["BTC-USDT"] if pinned else ["BTC-USDT", "ETH-USDT"])
    row = universe.row("ADA-USDT")
    assert not row.selected
    assert_names(row.reason, folder / bad.name, bad)


def test_identical_duplicate_bars_are_dropped_and_different_ones_refused() -> None:
    twice = rows()
    twice.insert(3, list(twice[2]))  # a recorder appended an overlapping page: the same bar twice
    assert candles_from_rows(twice, "BTC-USDT").equals(candles_from_rows(rows(), "BTC-USDT"))

    conflicting = rows()
    conflicting.insert(3, [conflicting[2][0], 102.0, 104.0, 101.0, 103.5, 7.0])
    with pytest.raises(CandleValidationError) as info:
        candles_from_rows(conflicting, "BTC-USDT")
    err = info.value
    assert err.rule == "duplicate_bar_conflict" and err.symbol == "BTC-USDT"
    assert err.first_bad == datetime(2024, 1, 1, 2, tzinfo=UTC)
    assert (
        "BTC-USDT" in str(err)
        and "2024-01-01 02:00 UTC" in str(err)
        and "(close 103 vs 103.5; volume 5 vs 7)" in str(err)
    )


@pytest.mark.parametrize(("unit", "divide"), [("seconds", 1000), ("microseconds", 1 / 1000)])
def test_timestamps_in_another_unit_are_named(unit: str, divide: float) -> None:
    wrong = [[int(r[0] / divide), *r[1:]] for r in rows()]
    with pytest.raises(CandleValidationError, match=f"timestamps look like {unit}, not milliseconds") as info:
        candles_from_rows(wrong, "BTC-USDT")
    assert info.value.rule == "timestamp_unit" and "BTC-USDT" in str(info.value)
    assert "2024-01-01 00:00 UTC" in str(info.value)  # what the first one would be in that unit


def test_a_utf8_byte_order_mark_is_read_like_the_plain_file(tmp_path: Path, shared_data: Path) -> None:
    folder = replay_folder(tmp_path / "replay", shared_data)
    plain = (shared_data / "binance" / "1d" / "ADA-USDT.csv").read_bytes()
    (folder / "ADA-USDT.csv").write_bytes(b"\xef\xbb\xbf" + plain.replace(b"\n", b"\r\n"))  # Excel's way
    market = ReplayMarket(folder, AS_OF)
    assert market.bad_files() == {}
    since = datetime(2017, 1, 1, tzinfo=UTC)
    expected = ReplayMarket(shared_data / "binance" / "1d", AS_OF).fetch_ohlcv("ADA-USDT", "1d", since)
    assert market.fetch_ohlcv("ADA-USDT", "1d", since).equals(expected)


def test_a_replay_folder_that_is_missing_or_holds_no_candle_file_fails_up_front(tmp_path: Path) -> None:
    with pytest.raises(
        MarketDataError, match=r"market.replay_dir .*missing is not a folder: it does not exist"
    ):
        ReplayMarket(tmp_path / "missing", AS_OF)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.txt").write_text("candles go here")
    (tmp_path / "notes" / "BTC-EUR.csv").write_text("timestamp,open,high,low,close,volume\n")
    with pytest.raises(MarketDataError, match=r"market.replay_dir .*notes holds no <BASE>-USDT.csv/.parquet"):
        ReplayMarket(tmp_path / "notes", AS_OF)  # at construction, before any coin is asked for


def test_a_corrupt_cache_file_fails_only_its_coin_naming_the_file(tmp_path: Path, shared_data: Path) -> None:
    store = CandleStore(EngineHome(tmp_path / "home"))
    source = ReplayMarket(replay_folder(tmp_path / "replay", shared_data), AS_OF)
    since = AS_OF - timedelta(days=30)
    for symbol in GOOD:
        store.sync(source, symbol, "1d", since)
    cache = store.path("ETH-USDT", "1d")
    cache.write_bytes(b"garbage, not parquet")

    with pytest.raises(CandleValidationError) as info:
        store.load("ETH-USDT", "1d")
    message = str(info.value)
    assert "\n" not in message
    assert f"cache file {cache}: ComputeError" in message and "unreadable" in message
    moved = list((tmp_path / "home" / "data" / "quarantine").glob("*.parquet"))  # and its sidecar
    assert len(moved) == 1 and f"quarantined to {moved[0]}" in message
    assert moved[0].read_bytes() == b"garbage, not parquet"  # kept, never deleted
    assert store.load("BTC-USDT", "1d").height == 30  # the other coin is untouched

    cache.write_bytes(b"garbage again")
    report = store.sync(source, "ETH-USDT", "1d", since)  # a sync heals it
    assert report.bars_total == 30 and f"corrupt cache {cache} (unreadable: ComputeError" in report.note


RUNNER = CliRunner()


def _replay_env(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    monkeypatch.setenv("HURACAN_MARKET__SOURCE", "replay")
    monkeypatch.setenv("HURACAN_MARKET__REPLAY_DIR", str(folder))
    monkeypatch.setenv("HURACAN_MARKET__TIMEFRAME", "1d")


SYNC = ["sync", "--symbols", "ADA-USDT,BTC-USDT", "--since", "2023-12-01", "--until", "2024-01-10"]


@pytest.mark.parametrize("case", ["non_numeric_price", "missing_column", "unreadable_parquet", "seconds"])
def test_candles_sync_skips_the_bad_file_in_one_line_and_syncs_the_rest(
    case: str, home: Path, tmp_path: Path, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = BAD_FILES[case]
    folder = replay_folder(tmp_path / "replay", shared_data, bad)
    _replay_env(monkeypatch, folder)
    result = RUNNER.invoke(candles_app, SYNC)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    [line] = [x for x in result.output.splitlines() if x.startswith("skipped ADA-USDT")]
    assert_names(line, folder / bad.name, bad)
    stored = pl.read_parquet(home / "data" / "candles" / "1d" / "BTC-USDT.parquet")
    assert stored.height == 41
    assert not (home / "data" / "candles" / "1d" / "ADA-USDT.parquet").exists()


@pytest.mark.parametrize(("make", "says"), [("missing", "does not exist"), ("empty", "holds no <BASE>-USDT")])
def test_candles_sync_with_a_bad_replay_dir_is_one_line(
    make: str, says: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "replay"
    if make == "empty":
        folder.mkdir()
    _replay_env(monkeypatch, folder)
    result = RUNNER.invoke(candles_app, SYNC)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert result.output.strip() == f"market.replay_dir {folder} " + (
        "is not a folder: it does not exist"
        if make == "missing"
        else "holds no <BASE>-USDT.csv/.parquet files"
    )
    assert says in result.output
