"""The one candle frame every module speaks: bar open time (UTC, ms) and OHLCV as Float64.

`conform` is where outside data becomes that frame, so it refuses the two mistakes a cast would hide:
integer open times in seconds (or micro/nanoseconds) read as milliseconds, which land in 1970 (or the far
future), and two *different* bars at one open time, where keeping either copy would be a guess.
"""

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
VALUE_COLUMNS = CANDLE_COLUMNS[1:]

# Nothing traded before the Bitcoin genesis block; anything earlier is a unit mistake (ms/1000 → 1970).
EARLIEST = datetime(2009, 1, 3, tzinfo=UTC)
_EARLIEST_S = int(EARLIEST.timestamp())
# Integer open times all at or past 2009 in one of these units, yet all before 2009 (or after 2200) as ms.
_UNITS_PER_SECOND = {"seconds": 1, "microseconds": 1_000_000, "nanoseconds": 1_000_000_000}
_LATEST_MS = int(datetime(2200, 1, 1, tzinfo=UTC).timestamp() * 1000)


class CandleValidationError(Exception):
    """A candle frame broke a rule. Carries the symbol, the rule and the first offending timestamp.

    Defined next to `conform` (and re-exported by `validation`) because `conform` raises it too: one error
    type for every candle problem, so every caller that skips a bad coin catches all of them."""

    def __init__(self, symbol: str, rule: str, first_bad: datetime | None, detail: str = "") -> None:
        self.symbol = symbol
        self.rule = rule
        self.first_bad = first_bad
        self.detail = detail
        where = f" at {first_bad:%Y-%m-%d %H:%M} UTC" if first_bad is not None else ""
        who = f"{symbol}: " if symbol else ""
        super().__init__(f"{who}candles fail rule '{rule}'{where}" + (f" ({detail})" if detail else ""))


def empty_candles() -> pl.DataFrame:
    return pl.DataFrame(schema=CANDLE_SCHEMA)


def candles_from_rows(rows: Sequence[Sequence[float]], symbol: str = "") -> pl.DataFrame:
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
    return conform(frame, symbol)


def timestamp_unit_problem(ms: pl.Series) -> str | None:
    """Why integer open times are not epoch milliseconds (seconds, micro- or nanoseconds), or None.

    Only a whole column that is wrong as ms *and* right in another unit is named: a few bad rows among good
    ones are left to the row rules, which name the first of them."""
    values = ms.drop_nulls()
    if values.is_empty():
        return None
    lo, hi = int(values.min()), int(values.max())  # type: ignore[arg-type]
    if lo >= _EARLIEST_S * 1000 and hi <= _LATEST_MS:
        return None
    for unit, per_second in _UNITS_PER_SECOND.items():
        in_unit = _EARLIEST_S * per_second <= lo and hi <= _LATEST_MS // 1000 * per_second
        if in_unit and (hi < _EARLIEST_S * 1000 or lo > _LATEST_MS):
            as_unit = datetime.fromtimestamp(lo / per_second, tz=UTC)
            return (
                f"timestamps look like {unit}, not milliseconds: the first, {lo}, is "
                f"{as_unit:%Y-%m-%d %H:%M} UTC in {unit} but outside 2009..2200 as ms"
            )
    return None


def conform(frame: pl.DataFrame, symbol: str = "") -> pl.DataFrame:
    """Cast a frame with an integer-ms or datetime `timestamp` to the canonical schema, sorted and unique.

    Raises `CandleValidationError` (naming `symbol`) when integer timestamps are in another unit than ms
    (rule `timestamp_unit`) or when one open time carries two different bars (`duplicate_bar_conflict`).
    Identical copies of a bar are dropped silently: a recorder that appends an overlapping page writes the
    same bar twice, and both copies say the same thing, so nothing is guessed or lost."""
    ts = frame["timestamp"]
    if ts.dtype.is_integer():
        unit = timestamp_unit_problem(ts)
        if unit is not None:
            raise CandleValidationError(symbol, "timestamp_unit", None, unit)
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
    cast = frame.select(
        ts_expr.cast(TIMESTAMP).alias("timestamp"),
        *[pl.col(c).cast(pl.Float64) for c in VALUE_COLUMNS],
    )
    if cast["timestamp"].n_unique() != cast.height:
        cast = cast.unique(maintain_order=True)  # identical copies go; different ones are refused below
        _refuse_conflicting_duplicates(cast, symbol)
    return cast.unique(subset="timestamp", keep="last").sort("timestamp")


def _refuse_conflicting_duplicates(frame: pl.DataFrame, symbol: str) -> None:
    """Raise on the earliest open time that still has more than one (different) bar."""
    conflicts = frame.filter(pl.col("timestamp").is_duplicated()).sort("timestamp", maintain_order=True)
    if conflicts.is_empty():
        return
    first = conflicts["timestamp"][0]
    rows = conflicts.filter(pl.col("timestamp") == first)
    differ = [
        f"{c} {' vs '.join(f'{v:g}' if v is not None else 'empty' for v in rows[c].to_list())}"
        for c in VALUE_COLUMNS
        if rows[c].n_unique() > 1
    ]
    times = conflicts["timestamp"].n_unique()
    raise CandleValidationError(
        symbol,
        "duplicate_bar_conflict",
        first,
        f"{rows.height} different bars share this open time ({'; '.join(differ)}); "
        f"{times} conflicting open time(s) in all",
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
