"""The candle contract, checked with polars expressions wherever candles cross a boundary:
after a download, before a write, and when a cache file is read back.

Why so strict: the original system kept caches whose timestamps had been divided by 1000 (January 1970)
and trained on them. Every rule here is one that bad data has broken before; a frame that fails any of
them never reaches the cache or a model, and the error names the symbol, the rule and the first bar at fault.

The checks are plain polars (one pass over the frame) rather than a pandera schema because importing pandera
imports pandas (about a second on every CLI start); the rules and the reported rule are the ones the pandera
schema gave: a row rule fails on a row where it is False (a null value is `no_missing_values`' to report),
and of every failed rule the one with the earliest offending bar is reported (ties: in RULES order, then
`no_missing_values`, then `timestamp_unique`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl

from huracan_core.candles.frame import CANDLE_COLUMNS, CANDLE_SCHEMA, EARLIEST, CandleValidationError

__all__ = [
    "EARLIEST",
    "RULES",
    "CandleValidationError",
    "bar_spacing_problem",
    "median_bar_spacing_s",
    "schema_problem",
    "validate_candles",
]


@dataclass(frozen=True)
class Rule:
    """A named row rule: `ok` is True for every good row (evaluated on the frame with epoch ms in `_ms`)."""

    name: str
    ok: Callable[[int, int], pl.Expr]  # (timeframe_ms, latest_ms) -> boolean expression


def _ms() -> pl.Expr:
    return pl.col("timestamp").dt.epoch("ms")


RULES: tuple[Rule, ...] = (
    Rule("timestamp_not_before_2009", lambda tf, hi: _ms() >= int(EARLIEST.timestamp() * 1000)),
    Rule("timestamp_not_in_future", lambda tf, hi: _ms() <= hi),
    Rule("timestamp_aligned_to_timeframe", lambda tf, hi: (_ms() % tf) == 0),
    Rule("timestamp_strictly_increasing", lambda tf, hi: _ms().diff().fill_null(1) > 0),
    Rule("prices_positive", lambda tf, hi: pl.min_horizontal("open", "high", "low", "close") > 0),
    Rule("high_at_least_open_close", lambda tf, hi: pl.col("high") >= pl.max_horizontal("open", "close")),
    Rule("low_at_most_open_close", lambda tf, hi: pl.col("low") <= pl.min_horizontal("open", "close")),
    Rule("volume_not_negative", lambda tf, hi: pl.col("volume") >= 0),
    Rule(
        "values_finite",
        lambda tf, hi: pl.all_horizontal(
            [pl.col(c).is_finite() for c in ("open", "high", "low", "close", "volume")]
        ),
    ),
)


def _latest_ms(now: datetime | None) -> int:
    """Open times up to one minute past `now` are plausible; later ones are from the future (clock or unit bug)."""
    moment = (now or datetime.now(UTC)) + timedelta(minutes=1)
    # Rounded up to the whole minute.
    return (int(moment.timestamp()) // 60 + 1) * 60_000


def schema_problem(frame: pl.DataFrame) -> str | None:
    """Why `frame` is not in the canonical candle layout (columns and dtypes), or None when it is."""
    if list(frame.columns) != CANDLE_COLUMNS:
        return f"columns {frame.columns} instead of {CANDLE_COLUMNS}"
    for name, dtype in CANDLE_SCHEMA.items():
        if frame.schema[name] != dtype:
            return f"column {name!r} is {frame.schema[name]} instead of {dtype}"
    return None


def validate_candles(
    frame: pl.DataFrame, symbol: str, timeframe_s: int, now: datetime | None = None
) -> pl.DataFrame:
    """Return `frame` unchanged if it meets the candle contract; raise `CandleValidationError` otherwise."""
    problem = schema_problem(frame)
    if problem is not None:
        raise CandleValidationError(symbol, "canonical_schema", None, problem)
    latest = _latest_ms(now)
    error = _first_violation(frame, symbol, timeframe_s * 1000, latest)
    if error is not None:
        raise error
    return frame


MISSING = "no_missing_values"
UNIQUE = "timestamp_unique"


def _failed_rules(frame: pl.DataFrame, tf_ms: int, latest_ms: int) -> set[str]:
    """Names of the rules some row breaks, in one pass: a row rule where it is False, `no_missing_values`
    where a value is null (or NaN), `timestamp_unique` where an open time repeats."""
    floats = [c for c, dtype in frame.schema.items() if dtype.is_float()]
    missing = pl.any_horizontal(
        [pl.col(c).is_null() for c in frame.columns] + [pl.col(c).is_nan().fill_null(False) for c in floats]
    )
    row = frame.select(
        *[(~rule.ok(tf_ms, latest_ms)).fill_null(False).any().alias(rule.name) for rule in RULES],
        missing.any().alias(MISSING),
        pl.col("timestamp").is_duplicated().any().alias(UNIQUE),
    ).row(0, named=True)
    return {name for name, broken in row.items() if broken}


def _first_violation(
    frame: pl.DataFrame, symbol: str, tf_ms: int, latest_ms: int
) -> CandleValidationError | None:
    """None when every rule holds, else one error: the earliest offending bar over every failed rule."""
    failed = _failed_rules(frame, tf_ms, latest_ms) if frame.height else set()
    if not failed:
        return None
    candidates: list[tuple[datetime | None, str, str]] = []
    for rule in RULES:
        if rule.name in failed:
            bad = frame.filter(~rule.ok(tf_ms, latest_ms).fill_null(False))
            first = bad["timestamp"][0] if bad.height else None
            detail = f"{bad.height} bad rows"
            if rule.name == "values_finite" and bad.height:
                detail += "; " + _which_values(bad.row(0, named=True))
            candidates.append((first, rule.name, detail))
    if MISSING in failed:
        bad = frame.filter(
            pl.any_horizontal(pl.all().is_null() | pl.all().cast(pl.Float64, strict=False).is_nan())
        )
        candidates.append((bad["timestamp"][0] if bad.height else None, MISSING, _missing_detail(bad)))
    if UNIQUE in failed:
        dup = frame.filter(pl.col("timestamp").is_duplicated())
        candidates.append((dup["timestamp"][0] if dup.height else None, UNIQUE, f"{dup.height} rows"))
    candidates.sort(key=lambda c: (c[0] is None, c[0] or datetime.min.replace(tzinfo=UTC)))
    first, rule, detail = candidates[0]
    return CandleValidationError(symbol, rule, first, detail)


def _missing_detail(bad: pl.DataFrame) -> str:
    """'3 rows; close is NaN': the count and which values of the first bad bar are missing."""
    return f"{bad.height} rows; {_which_values(bad.row(0, named=True))}" if bad.height else "0 rows"


def _which_values(row: dict[str, object]) -> str:
    """'close is NaN, volume is empty': the values of one bar that are null, NaN or infinite."""
    what = []
    for name, value in row.items():
        if value is None:
            what.append(f"{name} is empty")
        elif isinstance(value, float) and not math.isfinite(value):
            what.append(f"{name} is {value}")
    return ", ".join(what) or "no value named"


def median_bar_spacing_s(frame: pl.DataFrame) -> float | None:
    """The median distance between consecutive open times in seconds (None below 3 bars).

    The median, because real data has gaps (maintenance windows) that make a mean or a maximum lie."""
    if frame.height < 3:
        return None
    step_ms = frame["timestamp"].dt.epoch("ms").diff().drop_nulls().median()
    return None if step_ms is None else float(step_ms) / 1000  # type: ignore[arg-type]


def bar_spacing_problem(frame: pl.DataFrame, timeframe_s: int) -> str | None:
    """Why the bars are not `timeframe_s` apart (e.g. hourly bars read as daily), or None.

    Not one of `validate_candles`' rules: the cache is always written at one timeframe, and a coin with
    many missing bars must not quarantine its cache; it is checked where a file meets a stated timeframe."""
    spacing = median_bar_spacing_s(frame)
    if spacing is None or spacing == timeframe_s:
        return None
    return f"bars are {_duration(spacing)} apart, not {_duration(timeframe_s)}"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit} ({seconds:.0f}s)"
    return f"{seconds:g}s"
