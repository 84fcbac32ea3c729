"""What `huracan run` is asked to act on, checked before anything runs: the pinned coins and `--top`.

Why up front: a night that starts replaces the day's roster, exports, reports and Brain Library rows, so
a typo (`--symbols NOPE-USDT`, `--top 0`) or an empty pin list (`--symbols ""`, an empty or header-only
`--symbols-file`, which would otherwise mean "the whole universe") must be refused with a message naming
the option and the value at fault, before the first step. Pins come back sorted and unique, so the same
coins in any order are the same night.

Errors are `RunRequestError` (a user error: exit 2). `check_pins_listed` asks the market source, whose
own failure (exchange down, bad replay file) propagates as `MarketDataError` (not the user's fault: exit 1).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from huracan_core.symbols import SymbolError, normalise_symbol

if TYPE_CHECKING:
    from huracan_core.config import Settings

TOP_MAX = 500  # universe.top_n's own bound
KNOWN_SHOWN = 8  # listed markets quoted in an "unknown pin" message


class RunRequestError(ValueError):
    """A `huracan run` option that names nothing to act on, or something that does not exist."""


def _symbols_option(symbols: str) -> list[str]:
    names: list[str] = []
    for part in symbols.split(","):
        if not part.strip():
            continue
        try:
            names.append(normalise_symbol(part))
        except SymbolError as exc:
            raise RunRequestError(f"--symbols: {exc}") from None
    if not names:
        raise RunRequestError(
            f"--symbols {symbols!r} names no symbol (give e.g. --symbols BTC-USDT,ETH-USDT; "
            "leave --symbols out to select the universe)"
        )
    return names


def _symbols_file(path: Path) -> list[str]:
    """The first column of a CSV: an optional `symbol` header, `#` comments and blank lines skipped.

    Read as utf-8-sig: a spreadsheet's byte-order mark would otherwise stick to the first cell."""
    option = f"--symbols-file {path}"
    if not path.exists():
        raise RunRequestError(f"{option}: no such file")
    if not path.is_file():
        raise RunRequestError(f"{option}: not a file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError:
        raise RunRequestError(f"{option}: not UTF-8 text (expected a CSV, first column = symbol)") from None
    except (OSError, csv.Error) as exc:
        raise RunRequestError(f"{option}: cannot read it: {exc}") from None
    names: list[str] = []
    header_seen = False
    for line, row in enumerate(rows, start=1):
        cell = row[0].strip() if row else ""
        if not cell or cell.startswith("#"):
            continue
        if not names and not header_seen and cell.lower() == "symbol":
            header_seen = True
            continue
        try:
            names.append(normalise_symbol(cell))
        except SymbolError as exc:
            raise RunRequestError(f"{option} line {line}: {exc}") from None
    if not names:
        what = "only a header" if header_seen else "no symbol"
        raise RunRequestError(
            f"{option}: the file holds {what} (expected a first column of symbols such as BTC-USDT; "
            "leave the option out to select the universe)"
        )
    return names


def parse_pins(symbols: str | None, symbols_file: Path | None) -> list[str] | None:
    """The pinned coins, sorted and unique, or None when neither option is given (the universe decides).

    Raises `RunRequestError` when both are given, when either names no coin, when the file is missing or
    unreadable, or when a symbol cannot be a partition key (the message names the file line)."""
    if symbols is not None and symbols_file is not None:
        raise RunRequestError("--symbols and --symbols-file are exclusive: give one list of coins")
    if symbols_file is not None:
        names = _symbols_file(Path(symbols_file))
    elif symbols is not None:
        names = _symbols_option(symbols)
    else:
        return None
    return sorted(set(names))


def check_top(top: int | None) -> int | None:
    """`--top N` as given, refused (`RunRequestError`) unless 1 <= N <= 500 (universe.top_n's range)."""
    if top is None:
        return None
    if top < 1:
        raise RunRequestError(f"--top {top}: must be at least 1 (the number of coins to take)")
    if top > TOP_MAX:
        raise RunRequestError(f"--top {top}: must be at most {TOP_MAX} (universe.top_n's limit)")
    return top


def check_pins_listed(
    settings: Settings, day: date, pins: list[str] | None, *, option: str = "--symbols"
) -> None:
    """Refuse pins the configured market source does not list, or lists as inactive, on `day`.

    Asks `build_source(settings, as_of_for(day))`, as the night's universe step will; every pin at fault
    is named, with a few of the markets that do exist. `MarketDataError` from the source propagates."""
    if not pins:
        return
    from huracan_core.dates import as_of_for
    from huracan_core.market.factory import build_source

    source = build_source(settings, as_of_for(day))
    # a market listed after the day's close did not exist for that night
    markets = {m.symbol: m for m in source.markets() if m.listed_at is None or m.listed_at < source.as_of}
    unknown = [p for p in pins if p not in markets]
    inactive = [p for p in pins if p in markets and not markets[p].active]
    if not unknown and not inactive:
        return
    where = f"the {source.name} source on {day}"
    faults = []
    if unknown:
        active = sorted(s for s, m in markets.items() if m.active)
        known = ", ".join(active[:KNOWN_SHOWN]) + (
            f", ... {len(active)} in all" if len(active) > KNOWN_SHOWN else ""
        )
        verb = "is" if len(unknown) == 1 else "are"
        faults.append(f"{', '.join(unknown)} {verb} not a market of {where} (known: {known or 'none'})")
    if inactive:
        verb = "is" if len(inactive) == 1 else "are"
        faults.append(f"{', '.join(inactive)} {verb} delisted or inactive at {where}")
    raise RunRequestError(f"{option}: " + "; ".join(faults))


@dataclass(frozen=True)
class RunSelection:
    """The coins a run acts on: explicit pins (sorted, unique), or the universe's top N (None: top_n)."""

    pins: list[str] | None
    top: int | None


def check_run_request(
    settings: Settings,
    day: date,
    symbols: str | None,
    symbols_file: Path | None,
    top: int | None,
) -> RunSelection:
    """Every check `huracan run` needs before anything runs, in one call (raises `RunRequestError`)."""
    pins = parse_pins(symbols, symbols_file)
    if pins is not None and top is not None:
        raise RunRequestError("--symbols/--symbols-file and --top are exclusive")
    checked_top = check_top(top)
    check_pins_listed(
        settings, day, pins, option="--symbols-file" if symbols_file is not None else "--symbols"
    )
    return RunSelection(pins, checked_top)
