"""CandleStore against an in-memory source: request accounting, incremental ranges, freshness, gaps,
open bars, corruption and quarantine, remote restore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from huracan_core import atomic
from huracan_core.candles.store import CandlesNotCached, CandleStore, sync_many
from huracan_core.candles.validation import CandleValidationError
from huracan_core.paths import EngineHome
from huracan_core.storage import LocalFolderStorage
from tests.core.candles.fakes import AS_OF, SYMBOL, FrameSource, hours, synthetic_frame

SINCE = datetime(2024, 4, 2, 12, tzinfo=UTC)


@pytest.fixture
def store(home: Path) -> CandleStore:
    return CandleStore(EngineHome(home))


@pytest.fixture
def frame() -> pl.DataFrame:
    return synthetic_frame(AS_OF)


def expected(frame: pl.DataFrame, since: datetime, as_of: datetime) -> pl.DataFrame:
    ms = pl.col("timestamp").dt.epoch("ms")
    return frame.filter((pl.col("timestamp") >= since) & (ms + 3_600_000 <= int(as_of.timestamp() * 1000)))


def test_first_sync_stores_closed_bars_and_second_makes_no_request(
    store: CandleStore, frame: pl.DataFrame
) -> None:
    source = FrameSource(frame, AS_OF)
    report = store.sync(source, SYMBOL, "1h", SINCE, AS_OF)
    want = expected(frame, SINCE, AS_OF)
    assert report.bars_added == want.height == report.bars_total
    assert report.requests == 2  # listing + one range
    assert report.last == datetime(2024, 6, 1, 11, tzinfo=UTC)  # 12:00 is still open at 12:30
    assert store.load(SYMBOL, "1h").equals(want)

    again = store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    assert again.requests == 0 and again.bars_added == 0 and again.skipped_fresh
    assert again.note == "cache covers the range"


def test_later_as_of_fetches_only_the_new_tail(store: CandleStore, frame: pl.DataFrame) -> None:
    store.sync(FrameSource(frame, AS_OF - hours(10)), SYMBOL, "1h", SINCE, AS_OF - hours(10))
    source = FrameSource(frame, AS_OF)
    report = store.sync(source, SYMBOL, "1h", SINCE, AS_OF)
    assert source.calls == [(datetime(2024, 6, 1, 2, tzinfo=UTC), datetime(2024, 6, 1, 12, tzinfo=UTC))]
    assert source.first_bar_calls == 0  # the listing is remembered in the sidecar
    assert report.bars_added == 10 and report.requests == 1
    assert store.load(SYMBOL, "1h").equals(expected(frame, SINCE, AS_OF))


def test_earlier_since_fetches_only_the_head_and_listing_bounds_it(
    store: CandleStore, frame: pl.DataFrame
) -> None:
    store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    source = FrameSource(frame, AS_OF)
    report = store.sync(source, SYMBOL, "1h", SINCE - timedelta(days=10), AS_OF)
    assert source.calls == [(SINCE - timedelta(days=10), SINCE)]
    assert report.bars_added == 240
    # asking from before the listing: only the part after the listing is requested, once
    listing = frame["timestamp"][0]
    source = FrameSource(frame, AS_OF)
    store.sync(source, SYMBOL, "1h", datetime(2015, 1, 1, tzinfo=UTC), AS_OF)
    assert source.calls[0][0] == listing
    source = FrameSource(frame, AS_OF)
    report = store.sync(source, SYMBOL, "1h", datetime(2015, 1, 1, tzinfo=UTC), AS_OF)
    assert source.calls == [] and report.requests == 0
    assert store.load(SYMBOL, "1h").equals(expected(frame, listing, AS_OF))


def test_live_sync_within_24h_of_a_full_one_makes_no_request(store: CandleStore, frame: pl.DataFrame) -> None:
    early = AS_OF - hours(20)
    store.sync(FrameSource(frame, early), SYMBOL, "1h", SINCE)
    source = FrameSource(frame, AS_OF)  # 20 h later, live (no until)
    report = store.sync(source, SYMBOL, "1h", SINCE)
    assert source.request_count == 0 and report.skipped_fresh and "fresh" in report.note
    # a pinned until still gets the bars it needs
    pinned = store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    assert pinned.bars_added == 20 and pinned.requests == 1


def test_live_sync_after_24h_fetches_the_tail(store: CandleStore, frame: pl.DataFrame) -> None:
    early = AS_OF - hours(30)
    store.sync(FrameSource(frame, early), SYMBOL, "1h", SINCE)
    source = FrameSource(frame, AS_OF)
    report = store.sync(source, SYMBOL, "1h", SINCE)
    assert report.requests == 1 and report.bars_added == 30 and not report.skipped_fresh


def test_still_open_bar_from_a_careless_source_is_never_stored(
    store: CandleStore, frame: pl.DataFrame
) -> None:
    source = FrameSource(frame, AS_OF)
    source.serve_open_bar = True
    report = store.sync(source, SYMBOL, "1h", SINCE, AS_OF)
    stored = store.load(SYMBOL, "1h")
    assert stored["timestamp"].max() == datetime(2024, 6, 1, 11, tzinfo=UTC) == report.last
    assert datetime(2024, 6, 1, 12, tzinfo=UTC) not in stored["timestamp"].to_list()


def test_transient_hole_is_refetched_once_and_filled(store: CandleStore, frame: pl.DataFrame) -> None:
    source = FrameSource(frame, AS_OF)
    holes = {datetime(2024, 5, 10, h, tzinfo=UTC) for h in (3, 4, 5)}
    source.drop_once = set(holes)
    report = store.sync(source, SYMBOL, "1h", SINCE, AS_OF)
    assert report.gaps == [] and report.requests == 3  # listing, range, one gap refetch
    assert store.load(SYMBOL, "1h").equals(expected(frame, SINCE, AS_OF))


def test_permanent_gap_is_reported_remembered_and_not_refetched(
    store: CandleStore, frame: pl.DataFrame
) -> None:
    missing = [datetime(2024, 5, 10, h, tzinfo=UTC) for h in (3, 4, 5)] + [
        datetime(2024, 5, 20, 7, tzinfo=UTC)
    ]
    holey = frame.filter(~pl.col("timestamp").is_in(missing))
    report = store.sync(FrameSource(holey, AS_OF - hours(5)), SYMBOL, "1h", SINCE, AS_OF - hours(5))
    assert [(g.start, g.missing_bars) for g in report.gaps] == [(missing[0], 3), (missing[3], 1)]
    assert report.longest_gap_bars == 3 and report.requests == 3  # both gaps in one refetch window
    source = FrameSource(holey, AS_OF)
    report = store.sync(source, SYMBOL, "1h", SINCE, AS_OF)
    assert report.requests == 1 and len(report.gaps) == 2  # only the tail; known gaps are not asked again


def test_force_refetches_the_whole_range(store: CandleStore, frame: pl.DataFrame) -> None:
    store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    revised = frame.with_columns(pl.col("volume") * 1.5)
    report = store.sync(FrameSource(revised, AS_OF), SYMBOL, "1h", SINCE, AS_OF, force=True)
    assert report.requests == 1 and report.bars_added == 0
    assert store.load(SYMBOL, "1h").equals(expected(revised, SINCE, AS_OF))


def test_unreadable_cache_is_quarantined_and_rebuilt(
    store: CandleStore, frame: pl.DataFrame, home: Path
) -> None:
    store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    path = store.path(SYMBOL, "1h")
    path.write_bytes(path.read_bytes()[:200])  # torn by some other tool
    report = store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    assert report.quarantined is not None and "unreadable" in report.quarantined
    assert Path(report.quarantined).parent == home / "data" / "quarantine"
    assert Path(report.quarantined).is_file() and "quarantined" in report.note
    assert store.load(SYMBOL, "1h").equals(expected(frame, SINCE, AS_OF))


def test_1970_timestamps_are_detected_quarantined_and_rebuilt(
    store: CandleStore, frame: pl.DataFrame
) -> None:
    """The original system's bug: epoch ms divided by 1000, so every bar decodes to January 1970."""
    store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    path = store.path(SYMBOL, "1h")
    bad = pl.read_parquet(path).with_columns(
        pl.from_epoch(pl.col("timestamp").dt.epoch("ms") // 1000, time_unit="ms")
        .dt.replace_time_zone("UTC")
        .dt.cast_time_unit("ms")
    )
    atomic.write_parquet(path, bad)
    with pytest.raises(CandleValidationError) as info:
        store.load(SYMBOL, "1h")
    assert info.value.rule == "timestamp_not_before_2009"
    assert info.value.first_bad is not None and info.value.first_bad.year == 1970
    assert SYMBOL in str(info.value) and "1970-01-20" in str(info.value)
    quarantined = list((store.home.quarantine_dir()).glob("1h_ALFA-USDT.*.timestamp-not-before-2009.parquet"))
    assert len(quarantined) == 1 and not path.exists()
    report = store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    assert report.bars_added == report.bars_total == expected(frame, SINCE, AS_OF).height


def test_wrong_schema_and_future_bars_are_quarantined(store: CandleStore, frame: pl.DataFrame) -> None:
    store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    path = store.path(SYMBOL, "1h")
    atomic.write_parquet(path, pl.read_parquet(path).with_columns(pl.col("timestamp").dt.epoch("ms")))
    report = store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    assert report.quarantined and "wrong-schema" in report.quarantined
    future = pl.read_parquet(path).with_columns(pl.col("timestamp") + pl.duration(days=365 * 20))
    atomic.write_parquet(path, future)
    report = store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    assert report.quarantined and "timestamp-not-in-future" in report.quarantined
    assert store.load(SYMBOL, "1h").equals(expected(frame, SINCE, AS_OF))


def test_invalid_bars_from_the_source_are_refused_and_nothing_is_written(
    store: CandleStore, frame: pl.DataFrame
) -> None:
    bad = FrameSource(frame, AS_OF)
    bad.corrupt = (
        pl.when(pl.col("timestamp") == datetime(2024, 5, 1, 9, tzinfo=UTC))
        .then(pl.col("low") * 0.5)
        .otherwise(pl.col("high"))
        .alias("high")
    )
    with pytest.raises(CandleValidationError) as info:
        store.sync(bad, SYMBOL, "1h", SINCE, AS_OF)
    assert info.value.rule == "high_at_least_open_close"
    assert info.value.first_bad == datetime(2024, 5, 1, 9, tzinfo=UTC)
    assert not store.path(SYMBOL, "1h").exists()
    # one bad coin is skipped with its reason, the others go on
    reports, failures = sync_many(store, bad, [SYMBOL], "1h", SINCE, AS_OF)
    assert reports == [] and "high_at_least_open_close" in failures[SYMBOL]


def test_restore_from_remote_when_local_cache_is_empty(
    home: Path, tmp_path: Path, frame: pl.DataFrame
) -> None:
    remote = LocalFolderStorage(tmp_path / "remote")
    first = CandleStore(EngineHome(home), remote)
    first.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    assert remote.list("data/candles") == [
        "data/candles/1h/ALFA-USDT.meta.json",
        "data/candles/1h/ALFA-USDT.parquet",
    ]
    fresh_home = EngineHome(tmp_path / "other-machine")
    second = CandleStore(fresh_home, remote)
    source = FrameSource(frame, AS_OF)
    report = second.sync(source, SYMBOL, "1h", SINCE, AS_OF)
    assert report.restored and report.requests == 0 and "restored" in report.note
    assert second.load(SYMBOL, "1h").equals(expected(frame, SINCE, AS_OF))


def test_corrupt_remote_copy_is_quarantined_and_rebuilt(
    home: Path, tmp_path: Path, frame: pl.DataFrame
) -> None:
    remote = LocalFolderStorage(tmp_path / "remote")
    (tmp_path / "remote" / "data" / "candles" / "1h").mkdir(parents=True)
    (tmp_path / "remote" / "data" / "candles" / "1h" / "ALFA-USDT.parquet").write_bytes(b"not parquet")
    store = CandleStore(EngineHome(home), remote)
    report = store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    assert report.restored and report.quarantined is not None
    assert store.load(SYMBOL, "1h").equals(expected(frame, SINCE, AS_OF))
    # the rebuilt file replaced the bad remote copy
    assert pl.read_parquet(tmp_path / "remote" / "data" / "candles" / "1h" / "ALFA-USDT.parquet").height > 0


def test_stale_sidecar_falls_back_to_what_the_data_proves(store: CandleStore, frame: pl.DataFrame) -> None:
    store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    store.meta_path(SYMBOL, "1h").write_text("{not json")
    source = FrameSource(frame, AS_OF)
    report = store.sync(source, SYMBOL, "1h", SINCE, AS_OF)
    assert report.bars_added == 0 and report.requests == 0


def test_load_serves_only_bars_closed_by_until(store: CandleStore, frame: pl.DataFrame) -> None:
    with pytest.raises(CandlesNotCached):
        store.load(SYMBOL, "1h")
    store.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    cut = datetime(2024, 5, 30, 10, 30, tzinfo=UTC)
    loaded = store.load(SYMBOL, "1h", since=datetime(2024, 5, 30, tzinfo=UTC), until=cut)
    assert loaded["timestamp"].min() == datetime(2024, 5, 30, tzinfo=UTC)
    assert loaded["timestamp"].max() == datetime(2024, 5, 30, 9, tzinfo=UTC)
