"""The one candle frame every module speaks: bar open time (UTC, ms) and OHLCV as Float64."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import polars as pl

TIMESTAMP = pl.Datetime("ms", "UTC")
CANDLE_SCHEMA: dict[str, pl.DataType] = {
    "timestamp": TIMESTAMP,
    "open": pl.Float64(),
    "high": pl.Float64(),
    "low": pl.Float64(),
    "close": pl.Float64(),
    "volume": pl.Float64(),
}
CANDLE_COLUMNS = list(CANDLE_SCHEMA)


def empty_candles() -> pl.DataFrame:
    return pl.DataFrame(schema=CANDLE_SCHEMA)


def candles_from_rows(rows: Sequence[Sequence[float]]) -> pl.DataFrame:
    """ccxt-style `[[ts_ms, o, h, l, c, v], ...]` → candle frame (sorted, de-duplicated by timestamp)."""
    if not rows:
        return empty_candles()
    frame = pl.DataFrame(
        {
            "timestamp": [int(r[0]) for r in rows],
            "open": [float(r[1]) for r in rows],
            "high": [float(r[2]) for r in rows],
            "low": [float(r[3]) for r in rows],
            "close": [float(r[4]) for r in rows],
            "volume": [float(r[5]) if r[5] is not None else 0.0 for r in rows],
        }
    )
    return conform(frame)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast a frame with an integer-ms or datetime `timestamp` to the canonical schema, sorted and unique."""
    ts = frame["timestamp"]
    if ts.dtype.is_integer():
        ts_expr = pl.from_epoch(pl.col("timestamp").cast(pl.Int64), time_unit="ms").dt.replace_time_zone(
            "UTC"
        )
    elif isinstance(ts.dtype, pl.Datetime):
        ts_expr = pl.col("timestamp").dt.cast_time_unit("ms")
        ts_expr = (
            ts_expr.dt.replace_time_zone("UTC")
            if ts.dtype.time_zone is None
            else ts_expr.dt.convert_time_zone("UTC")
        )
    else:
        raise TypeError(f"candle column 'timestamp' has type {ts.dtype}; expected integer ms or datetime")
    return (
        frame.select(
            ts_expr.cast(TIMESTAMP).alias("timestamp"),
            *[pl.col(c).cast(pl.Float64) for c in CANDLE_COLUMNS[1:]],
        )
        .unique(subset="timestamp", keep="last")
        .sort("timestamp")
    )


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def closed_only(frame: pl.DataFrame, timeframe_s: int, as_of: datetime) -> pl.DataFrame:
    """Keep bars whose close (open + timeframe) is at or before `as_of`: a still-open bar is never served."""
    cutoff = to_ms(as_of) - timeframe_s * 1000
    return frame.filter(pl.col("timestamp").dt.epoch("ms") <= cutoff)
