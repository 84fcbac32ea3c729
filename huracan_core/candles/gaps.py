"""Missing bars between the first and last stored bar: the store reports them and refetches each new one once.

A gap is a run of consecutive missing open times. Exchanges have real ones (maintenance windows, which
stay missing forever) and transient ones (a page that came back short); only a second request tells
them apart, which is why the store asks once and then remembers the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

from huracan_core.candles.frame import from_ms


@dataclass(frozen=True)
class Gap:
    """Missing bars with open times `start` .. `end` inclusive."""

    start: datetime
    end: datetime
    missing_bars: int

    def to_json(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "missing_bars": self.missing_bars,
        }


def find_gaps(frame: pl.DataFrame, timeframe_s: int) -> list[Gap]:
    """Gaps between consecutive bars of a sorted canonical frame (nothing before the first or after the last)."""
    if frame.height < 2:
        return []
    step = timeframe_s * 1000
    ms = frame.select(pl.col("timestamp").dt.epoch("ms").alias("t")).with_columns(
        pl.col("t").shift(1).alias("prev")
    )
    holes = ms.filter((pl.col("t") - pl.col("prev")) > step)
    return [
        Gap(from_ms(prev + step), from_ms(t - step), (t - prev) // step - 1)
        for t, prev in holes.select("t", "prev").iter_rows()
    ]


def longest(gaps: list[Gap]) -> int:
    return max((g.missing_bars for g in gaps), default=0)
