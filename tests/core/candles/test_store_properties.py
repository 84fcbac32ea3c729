"""Property: whatever order of syncs (as-of times, since dates, live or pinned), the cache holds exactly
the source's closed bars over the contiguous range asked for so far: nothing duplicated, nothing open,
nothing missing, and a repeat of the last sync asks nothing."""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from huracan_core.candles.store import CandleStore
from huracan_core.paths import EngineHome
from tests.core.candles.fakes import AS_OF, SYMBOL, FrameSource, synthetic_frame

FRAME = synthetic_frame(AS_OF, days=40)
START = datetime(2024, 4, 25, tzinfo=AS_OF.tzinfo)

syncs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=30 * 24),  # since: hours after START
        st.integers(min_value=0, max_value=30 * 24 * 60),  # as-of: minutes before AS_OF
        st.booleans(),  # pinned until (True) or live (None)
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(syncs)
def test_any_sequence_of_syncs_keeps_exactly_the_closed_bars(plan: list[tuple[int, int, bool]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = CandleStore(EngineHome(Path(tmp)))
        lo: datetime | None = None
        hi_ms = 0
        last_full: datetime | None = None  # the model of the 24 h freshness rule
        for since_h, before_min, pinned in plan:
            since = START + timedelta(hours=since_h)
            as_of = AS_OF - timedelta(minutes=before_min)
            source = FrameSource(FRAME, as_of)
            report = store.sync(source, SYMBOL, "1h", since, as_of if pinned else None)
            stored = store.load(SYMBOL, "1h")
            assert stored["timestamp"].is_unique().all() and stored["timestamp"].is_sorted()
            assert report.gaps == []
            if since + timedelta(hours=1) > as_of:  # nothing closed in the range asked for: no change
                assert report.requests == 0 and stored.equals(FRAME.clear() if lo is None else stored)
                continue
            fresh = (
                not pinned
                and last_full is not None
                and timedelta(0) <= as_of - last_full < timedelta(hours=24)
            )
            lo = since if lo is None or since < lo else lo
            if not fresh:
                hi_ms = max(hi_ms, int(as_of.timestamp() * 1000) // 3_600_000 * 3_600_000)
                last_full = as_of if last_full is None else max(last_full, as_of)
            want = FRAME.filter(
                (pl.col("timestamp") >= lo) & (pl.col("timestamp").dt.epoch("ms") + 3_600_000 <= hi_ms)
            )
            # every stored bar is a bar the source had closed, and the range asked for so far has no hole
            assert stored.equals(want)
            repeat = FrameSource(FRAME, as_of)
            store.sync(repeat, SYMBOL, "1h", since, as_of if pinned else None)
            assert repeat.request_count == 0
