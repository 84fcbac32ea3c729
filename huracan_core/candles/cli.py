"""`huracan candles sync`: fill the candle cache from the configured market source, coin by coin.

Why a command of its own: a first backfill (years of hourly bars) is worth running and watching before
the nightly job relies on the cache, and it tells you how many requests it took and which gaps the
exchange really has. A coin that fails is skipped with its reason; the others go on (exit status 1).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from huracan_core.candles.store import CandleStore, SyncReport
from huracan_core.candles.validation import CandleValidationError
from huracan_core.cli import settings_or_exit
from huracan_core.config import TIMEFRAMES, Settings
from huracan_core.dates import as_of_for, parse_day
from huracan_core.logs import configure_logging
from huracan_core.market.base import MarketDataError, MarketSource
from huracan_core.paths import EngineHome
from huracan_core.storage import StorageError, build_storage
from huracan_core.symbols import SymbolError, parse_symbols

candles_app = typer.Typer(help="Sync and inspect the candle cache.", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)


@candles_app.callback()
def _group() -> None:
    """Sync and inspect the candle cache (data/candles/{timeframe}/{SYMBOL}.parquet)."""


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(
        f"[red]{escape(message)}[/]", highlight=False, soft_wrap=True
    )  # one line, never wrapped
    return typer.Exit(code)


def _day(option: str, text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as exc:
        raise _fail(f"{option}: {exc}") from None


def build_source(settings: Settings, as_of: datetime) -> MarketSource:
    """The source the settings ask for (synthetic, replay or ccxt), seen at `as_of`."""
    from huracan_core.market.factory import build_source as factory

    return factory(settings, as_of)


@candles_app.command("sync")
def sync_cmd(
    symbols: Annotated[str, typer.Option("--symbols", help="comma-separated, e.g. BTC-USDT,ETH-USDT")],
    since: Annotated[str, typer.Option("--since", help="first day wanted, YYYY-MM-DD (UTC)")],
    timeframe: Annotated[str | None, typer.Option("--timeframe", help="default: market.timeframe")] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="last day wanted, YYYY-MM-DD: bars closed by the end of that UTC day "
            "(default: now, and a cache fully synced within 24 h is left alone)",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="refetch the whole range")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Download only the bars the cache lacks, validate them, and report bars added, requests and gaps."""
    settings = settings_or_exit()
    tf = timeframe or settings.market.timeframe
    if tf not in TIMEFRAMES:
        raise _fail(f"--timeframe {tf!r} is not one of {', '.join(TIMEFRAMES)}")
    try:
        wanted = parse_symbols(symbols)
    except SymbolError as exc:
        raise _fail(f"--symbols: {exc}") from None
    if not wanted:
        raise _fail("--symbols: give at least one symbol, e.g. BTC-USDT")
    start = _day("--since", since)
    first = datetime(start.year, start.month, start.day, tzinfo=UTC)
    end = as_of_for(_day("--until", until)) if until else None
    if end is not None and end <= first:
        raise _fail(f"--until {until} is before --since {since}")
    home = EngineHome(settings.home)
    configure_logging(home.logs_dir())
    try:
        source = build_source(settings, end or datetime.now(UTC))
        store = CandleStore(home, build_storage(settings.storage))
    except (MarketDataError, StorageError) as exc:
        raise _fail(str(exc), 1) from None

    reports: list[SyncReport] = []
    failures: dict[str, str] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(f"syncing {tf} candles", total=len(wanted))
        for symbol in wanted:
            progress.update(task, description=f"{symbol} {tf}")
            try:
                reports.append(store.sync(source, symbol, tf, first, end, force=force))
            except (CandleValidationError, MarketDataError) as exc:
                failures[symbol] = str(exc)
            progress.advance(task)

    if as_json:
        out = {
            "timeframe": tf,
            "reports": [r.to_json() for r in reports],
            "skipped": failures,
            "requests": source.request_count,
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        _print(reports, failures, source, tf)
    if failures:
        raise typer.Exit(1)


def _print(reports: list[SyncReport], failures: dict[str, str], source: MarketSource, tf: str) -> None:
    table = Table(title=f"{tf} candles from {source.name} (as of {source.as_of:%Y-%m-%d %H:%M} UTC)")
    table.add_column("symbol", no_wrap=True)
    for col in ("bars added", "bars", "requests", "gaps", "longest gap", "first", "last", "note"):
        table.add_column(col, overflow="fold")
    for r in reports:
        table.add_row(
            r.symbol,
            f"{r.bars_added:,}",
            f"{r.bars_total:,}",
            str(r.requests),
            str(len(r.gaps)),
            f"{r.longest_gap_bars} bars" if r.gaps else "",
            f"{r.first:%Y-%m-%d %H:%M}" if r.first else "",
            f"{r.last:%Y-%m-%d %H:%M}" if r.last else "",
            r.note,
        )
    console.print(table)
    added = sum(r.bars_added for r in reports)
    gaps = sum(len(r.gaps) for r in reports)
    console.print(f"{added:,} bars added, {source.request_count} requests made, {gaps} gaps", highlight=False)
    for symbol, reason in failures.items():
        console.print(f"[yellow]skipped {symbol}[/]: {escape(reason)}", highlight=False, soft_wrap=True)
