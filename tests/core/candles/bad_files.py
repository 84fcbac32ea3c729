"""Bad candle files a careless or unlucky user hands the engine, each built from the recorded ADA-USDT daily
bars, with a regex of what the error must say. Shared by the replay, universe, store and CLI tests.

Line 11 of the file (the header is line 1) is the bar of 2018-04-26, where the row-level faults are put.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BAD_LINE = 10  # index into the file's lines: line 11, the bar opening 2018-04-26 00:00 UTC
BAD_BAR = "2018-04-26 00:00 UTC"
GOOD = ("BTC-USDT", "ETH-USDT")


@dataclass(frozen=True)
class BadFile:
    name: str  # the file name in a replay folder
    make: Callable[[Path], bytes]  # shared_data -> file content
    says: str  # regex the error must match (after the file's path)


def _lines(shared_data: Path, timeframe: str = "1d") -> list[str]:
    return (shared_data / "binance" / timeframe / "ADA-USDT.csv").read_text().splitlines()


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _patched(shared_data: Path, column: int, value: str) -> bytes:
    lines = _lines(shared_data)
    cells = lines[BAD_LINE].split(",")
    cells[column] = value
    lines[BAD_LINE] = ",".join(cells)
    return _csv(lines)


def _conflicting_duplicate(shared_data: Path) -> bytes:
    lines = _lines(shared_data)
    cells = lines[BAD_LINE].split(",")
    cells[4] = str(float(cells[4]) * 1.1)
    lines.insert(BAD_LINE + 1, ",".join(cells))
    return _csv(lines)


def _seconds(shared_data: Path) -> bytes:
    lines = _lines(shared_data)
    return _csv(
        [lines[0]] + [f"{int(line.split(',')[0]) // 1000},{line.split(',', 1)[1]}" for line in lines[1:]]
    )


BAD_FILES: dict[str, BadFile] = {
    "empty": BadFile("ADA-USDT.csv", lambda d: b"", "is empty"),
    "header_only": BadFile("ADA-USDT.csv", lambda d: _csv(_lines(d)[:1]), "holds no bars"),
    "missing_column": BadFile(
        "ADA-USDT.csv",
        lambda d: _csv([",".join(line.split(",")[:5]) for line in _lines(d)]),
        r"missing column\(s\) 'volume'",
    ),
    "non_numeric_price": BadFile(
        "ADA-USDT.csv", lambda d: _patched(d, 1, "abc"), r"line 11: open 'abc' is not a number"
    ),
    "empty_price": BadFile("ADA-USDT.csv", lambda d: _patched(d, 4, ""), r"line 11: close is empty"),
    "semicolons": BadFile(
        "ADA-USDT.csv", lambda d: _csv([line.replace(",", ";") for line in _lines(d)]), "separated by ';'"
    ),
    "unreadable_parquet": BadFile(
        "ADA-USDT.parquet", lambda d: b"PAR1 not a parquet file", "is not a readable parquet file"
    ),
    "nan_close": BadFile(
        "ADA-USDT.csv", lambda d: _patched(d, 4, "NaN"), rf"'values_finite' at {BAD_BAR} .*close is nan"
    ),
    "conflicting_duplicate": BadFile(
        "ADA-USDT.csv", _conflicting_duplicate, rf"'duplicate_bar_conflict' at {BAD_BAR} .*close 0.29326 vs"
    ),
    "seconds": BadFile("ADA-USDT.csv", _seconds, "timestamps look like seconds, not milliseconds"),
    "hourly_bars_as_daily": BadFile(
        "ADA-USDT.csv",
        lambda d: (d / "binance" / "1h" / "ADA-USDT.csv").read_bytes(),
        r"bars are 1h \(3600s\) apart, not 1d \(86400s\): check market.timeframe '1d'",
    ),
}


def replay_folder(root: Path, shared_data: Path, bad: BadFile | None = None) -> Path:
    """A replay folder of the recorded BTC and ETH daily files, plus `bad` when given."""
    root.mkdir(parents=True, exist_ok=True)
    for symbol in GOOD:
        shutil.copy(shared_data / "binance" / "1d" / f"{symbol}.csv", root / f"{symbol}.csv")
    if bad is not None:
        (root / bad.name).write_bytes(bad.make(shared_data))
    return root
