"""Read one candle file (a replay folder's `<SYM>.csv/.parquet`, `features compute --input`) into the
canonical candle frame, or say in one line what is wrong with that file.

Why its own reader rather than `pl.read_csv` + `conform`: a user's file breaks in ways polars reports as a
multi-line error about an expression, without the file name (empty file, a `;` separator, a missing column,
`abc` in a price column). Here each is named with the file, the column and the line, and the frame that
comes back has passed the candle contract (`validate_candles`), so a bad file fails only its own coin.

CSV layout: a header naming at least `timestamp,open,high,low,close,volume` (any order, extra columns
ignored, names trimmed and case-insensitive, a UTF-8 byte-order mark tolerated), `,`-separated, integer
millisecond open times. Parquet: the same columns, `timestamp` as integer ms or a datetime.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import polars as pl

from huracan_core.candles.frame import CANDLE_COLUMNS, VALUE_COLUMNS, conform
from huracan_core.candles.validation import (
    CandleValidationError,
    bar_spacing_problem,
    median_bar_spacing_s,
    validate_candles,
)
from huracan_core.timeframes import TIMEFRAMES

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_OTHER_SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}


class CandleFileError(Exception):
    """A candle file cannot be used. The message is one line: the file, then what is wrong with it."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


def one_line(exc: BaseException, limit: int = 240) -> str:
    """An exception as one short line (polars errors span several lines and quote expressions)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_candle_file(
    path: Path, symbol: str = "", timeframe_s: int | None = None, *, timeframe_name: str = "timeframe"
) -> pl.DataFrame:
    """The file's bars as a checked canonical candle frame; `CandleFileError` naming the file otherwise.

    With `timeframe_s` the bars must also be aligned to it and spaced by it (`timeframe_name` is the option
    or setting to name when they are not, e.g. `market.timeframe` or `--timeframe`)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        raw = _read_csv(path)
    elif suffix in PARQUET_SUFFIXES:
        raw = _read_parquet(path)
    else:
        raise CandleFileError(path, "is neither a .csv nor a .parquet candle file")
    if raw.is_empty():
        raise CandleFileError(path, "holds no bars (a header and no rows)")
    try:
        frame = conform(raw, symbol)
    except CandleValidationError as exc:
        raise CandleFileError(path, str(exc)) from None
    if timeframe_s is None:
        return frame
    # Spacing before the row rules: "bars are 1h apart, not 1d" says more than a misaligned first bar.
    spacing = bar_spacing_problem(frame, timeframe_s)
    if spacing is not None:
        raise CandleFileError(path, f"{spacing}: check {timeframe_name}")
    try:
        validate_candles(frame, symbol, timeframe_s)
    except CandleValidationError as exc:
        raise CandleFileError(path, str(exc)) from None
    return frame


def folder_timeframe(folder: Path) -> str:
    """The timeframe of a replay folder's recorded bars (its first candle file's median spacing), for
    `market.timeframe: auto`. ValueError naming the folder or file when it cannot be told: no candle file,
    an unreadable one, or a spacing that is no timeframe the engine knows."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"timeframe auto: replay folder {folder} does not exist; set market.replay_dir")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in CSV_SUFFIXES + PARQUET_SUFFIXES)
    if not files:
        raise ValueError(
            f"timeframe auto: {folder} holds no candle file (<BASE>-USDT.csv or .parquet) to read the bars' "
            "spacing from; set market.timeframe"
        )
    return _file_timeframe(str(files[0]), files[0].stat().st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _file_timeframe(path: str, _mtime_ns: int) -> str:
    """Cached per file version: settings load in every stage and Ray task, the file is read once."""
    try:
        spacing = median_bar_spacing_s(read_candle_file(Path(path)))
    except CandleFileError as exc:
        raise ValueError(f"timeframe auto: {exc}; set market.timeframe") from None
    names = {seconds: name for name, seconds in TIMEFRAMES.items()}
    if spacing is None or int(spacing) not in names:
        raise ValueError(
            f"timeframe auto: the bars of {path} are {spacing} s apart, not one of "
            f"{', '.join(TIMEFRAMES)}; set market.timeframe"
        )
    return names[int(spacing)]


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CandleFileError(path, f"cannot be read ({one_line(exc)})") from None
    if data.startswith(_UTF16_BOMS):
        raise CandleFileError(path, "is UTF-16 text: save it as UTF-8")
    data = data.removeprefix(_UTF8_BOM)  # Excel writes one; polars would read it into the first name
    if not data.strip():
        raise CandleFileError(path, "is empty")
    header_line = data.splitlines()[0].decode("utf-8", errors="replace")
    header = [name.strip().strip('"').strip().lower() for name in header_line.split(",")]
    if len(header) == 1:
        for sep, label in _OTHER_SEPARATORS.items():
            if sep in header_line:
                raise CandleFileError(
                    path, f"columns are separated by {label}, not ',' (header {header_line.strip()!r})"
                )
    _require_columns(path, header, header_line.strip())
    typed = {"timestamp": pl.Int64, **dict.fromkeys(VALUE_COLUMNS, pl.Float64)}
    try:  # fast path: the file is well formed (polars parses the numbers itself)
        frame = pl.read_csv(io.BytesIO(data), new_columns=header, schema_overrides=typed, infer_schema=False)
        frame = frame.select(CANDLE_COLUMNS)
        if not any(frame.null_count().row(0)):
            return frame
    except Exception:  # noqa: BLE001 - diagnosed below, cell by cell, to name the line at fault
        pass
    try:
        text = pl.read_csv(io.BytesIO(data), infer_schema=False, new_columns=header)
    except Exception as exc:  # noqa: BLE001 - any parse failure is this file's fault
        raise CandleFileError(path, f"is not readable CSV ({one_line(exc)})") from None
    return _parse_text_columns(path, text.select(CANDLE_COLUMNS))


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - a truncated, foreign or garbage file: all unreadable
        raise CandleFileError(path, f"is not a readable parquet file ({one_line(exc)})") from None
    frame = frame.rename({c: c.strip().lower() for c in frame.columns})
    _require_columns(path, frame.columns, ",".join(frame.columns))
    frame = frame.select(CANDLE_COLUMNS)
    if frame.schema["timestamp"] == pl.String or any(frame.schema[c] == pl.String for c in VALUE_COLUMNS):
        return _parse_text_columns(path, frame.with_columns(pl.all().cast(pl.String)))
    ts = frame.schema["timestamp"]
    if not (ts.is_integer() or isinstance(ts, pl.Datetime)):
        raise CandleFileError(path, f"column 'timestamp' is {ts}, not integer ms or a datetime")
    for name in VALUE_COLUMNS:
        if not frame.schema[name].is_numeric():
            raise CandleFileError(path, f"column {name!r} is {frame.schema[name]}, not a number")
    return frame


def _require_columns(path: Path, names: list[str], shown: str) -> None:
    missing = [c for c in CANDLE_COLUMNS if c not in names]
    if missing:
        cols = ", ".join(repr(c) for c in missing)
        raise CandleFileError(path, f"missing column(s) {cols} (header {shown!r}; expected {CANDLE_COLUMNS})")


def _parse_text_columns(path: Path, text: pl.DataFrame) -> pl.DataFrame:
    """String columns → Int64 timestamp and Float64 values, naming the first cell that is not a number.

    A CSV line number is the row index + 2 (line 1 is the header)."""
    parsed = text.select(
        pl.col("timestamp").str.strip_chars().cast(pl.Int64, strict=False),
        *[pl.col(c).str.strip_chars().cast(pl.Float64, strict=False) for c in VALUE_COLUMNS],
    )
    for name in CANDLE_COLUMNS:
        bad = text.with_row_index("_row").filter(parsed[name].is_null())
        if bad.is_empty():
            continue
        row, value = bad["_row"][0], bad[name][0]
        where = f"line {row + 2}" if path.suffix.lower() in CSV_SUFFIXES else f"row {row}"
        kind = "an integer number of milliseconds" if name == "timestamp" else "a number"
        what = "is empty" if value is None or not value.strip() else f"{value!r} is not {kind}"
        raise CandleFileError(path, f"{where}: {name} {what} ({bad.height} such row(s))")
    return parsed
