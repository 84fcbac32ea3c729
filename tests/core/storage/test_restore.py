"""The candle store restores an empty local cache from any backend (folder, Dropbox, S3) and then asks
the source for no bar it restored."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from huracan_core.candles.store import CandleStore
from huracan_core.paths import EngineHome
from huracan_core.storage import build_storage
from tests.core.candles.fakes import AS_OF, SYMBOL, FrameSource, synthetic_frame
from tests.core.storage.conftest import dropbox_settings, local_settings, s3_settings

SINCE = AS_OF - timedelta(days=20)


@pytest.mark.parametrize("backend", ["local", "dropbox", "s3"])
def test_empty_cache_is_restored_and_no_restored_bar_is_requested(
    request, tmp_path: Path, backend: str
) -> None:  # type: ignore[no-untyped-def]
    if backend == "local":
        settings = local_settings(tmp_path / "remote")
    elif backend == "dropbox":
        request.getfixturevalue("fake_dropbox")
        settings = dropbox_settings()
    else:
        settings = s3_settings(request.getfixturevalue("s3_proxy"), f"b-{uuid.uuid4().hex[:12]}")
    remote = build_storage(settings)
    frame = synthetic_frame(AS_OF)
    first = CandleStore(EngineHome(tmp_path / "machine-a"), remote)
    first.sync(FrameSource(frame, AS_OF), SYMBOL, "1h", SINCE, AS_OF)
    assert remote.list("data/candles") == [
        "data/candles/1h/ALFA-USDT.meta.json",
        "data/candles/1h/ALFA-USDT.parquet",
    ]

    second = CandleStore(EngineHome(tmp_path / "machine-b"), remote)
    source = FrameSource(frame, AS_OF)
    report = second.sync(source, SYMBOL, "1h", SINCE, AS_OF)
    assert report.restored and report.requests == 0 and source.calls == [] and report.bars_added == 0
    assert second.load(SYMBOL, "1h").equals(first.load(SYMBOL, "1h"))
    # a later as-of asks only for the bars after the restored ones
    later = AS_OF + timedelta(hours=5)
    tail = FrameSource(synthetic_frame(later), later)
    second.sync(tail, SYMBOL, "1h", SINCE, later)
    assert tail.calls and all(start >= AS_OF - timedelta(hours=1) for start, _ in tail.calls), tail.calls
