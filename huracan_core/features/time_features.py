"""Time family: calendar position of the bar's *open* time (UTC). Known in advance, so no warm-up.

On daily bars the hour is always 0, so `hour_of_day` is kept but not fed to the model there.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from huracan_core.features.ops import Add, Op, Params, Scratch, col

FAMILY = "time"
INTRADAY = ("1m", "5m", "15m", "30m", "1h", "4h")


def _hour(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """Hour of the UTC epoch milliseconds (floor division, so right before 1970 too): the same number as
    `dt.hour()` on the UTC timestamp, four times faster than its time-zone conversion."""
    return ((col(i[0]).dt.epoch("ms") // 3_600_000) % 24).cast(pl.Float64)


def _weekday(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return col(i[0]).dt.weekday().cast(pl.Float64)


def _weekend(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return (col(i[0]).dt.weekday() >= 6).cast(pl.Float64)


OPS: dict[str, Op] = {
    "hour_of_day": Op(_hour, lambda p, w: w),
    "day_of_week": Op(_weekday, lambda p, w: w),
    "is_weekend": Op(_weekend, lambda p, w: w),
}


def add_specs(add: Add, timeframe: str) -> None:
    add("hour_of_day", "hour_of_day", ["timestamp"], "UTC hour of the bar open (0-23)", timeframe in INTRADAY)
    add(
        "day_of_week",
        "day_of_week",
        ["timestamp"],
        "ISO weekday of the bar open (1 = Monday … 7 = Sunday)",
        True,
    )
    add("is_weekend", "is_weekend", ["timestamp"], "1 if the bar opens on Saturday or Sunday else 0", True)
