"""The `huracan research` command (registered lazily by the console script: importing it costs nothing
until it runs). The work is huracan_core.research; this module only reads the options and prints."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from huracan_core.dates import last_complete_day, parse_day


def research_cmd(
    night: Annotated[
        list[str], typer.Option("--night", help="a night to replay, YYYY-MM-DD (repeat for more nights)")
    ],
    data: Annotated[
        Path,
        typer.Option("--data", help="replay folder of recorded candles (<BASE>-USDT.csv), e.g. 1h-2022-2025"),
    ],
    config: Annotated[
        Path, typer.Option("--config", help="variants file (variants: {name: settings override})")
    ] = Path("config/research.yaml"),
    variant: Annotated[
        list[str] | None, typer.Option("--variant", help="run only these variants (repeatable)")
    ] = None,
    symbols: Annotated[
        str | None, typer.Option("--symbols", help="BTC-USDT,ETH-USDT (pins the universe)")
    ] = None,
    top: Annotated[int | None, typer.Option("--top", help="take the top N coins of the universe")] = None,
    lookback_days: Annotated[
        int | None, typer.Option("--lookback-days", help="market.lookback_days for every variant")
    ] = None,
    timeframe: Annotated[
        str | None, typer.Option("--timeframe", help="market.timeframe of the data (default: the settings')")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="folder for the tables (default: research/<UTC stamp>)")
    ] = None,
    keep_homes: Annotated[
        bool, typer.Option("--keep-homes", help="keep each variant's scratch engine home under --out/homes")
    ] = False,
) -> None:
    """Run named settings variants over recorded nights through the real pipeline (scratch homes, never
    yours) and print one table per variant: trades, hit rate, net bps after costs, Sharpe, the per-model and
    the selection-deflated Sharpe (every variant x coin x night counted), gates, and buy-and-hold."""
    from rich.console import Console

    from huracan_core.cli import fail
    from huracan_core.logs import configure_logging
    from huracan_core.research import (
        ResearchError,
        default_out_dir,
        load_variants,
        render_tables,
        run_research,
        write_outputs,
    )
    from huracan_core.symbols import SymbolError, normalise_symbol

    try:
        nights = [parse_day(n) for n in night]
    except ValueError as exc:
        raise fail(f"--night: {exc}") from None
    newest = last_complete_day()
    if late := [n for n in nights if n > newest]:  # a night not closed yet has no bars to replay
        raise fail(f"--night {late[0]} has not closed yet: the newest complete UTC day is {newest}")
    try:
        pins = [normalise_symbol(s) for s in symbols.split(",") if s.strip()] if symbols else None
    except SymbolError as exc:
        raise fail(f"--symbols: {exc}") from None
    if top is not None and top < 1:
        raise fail(f"--top must be at least 1, not {top}")
    extra: dict = {}
    if lookback_days is not None or timeframe is not None:
        extra["market"] = {
            k: v for k, v in (("lookback_days", lookback_days), ("timeframe", timeframe)) if v is not None
        }
    if not data.expanduser().is_dir():  # refused before anything is written (run_research checks too)
        raise fail(f"research: --data {data.expanduser().resolve()} is not a folder of recorded candles")
    try:
        variants = load_variants(config, variant)
    except ResearchError as exc:
        raise fail(f"research: {exc}") from None
    out_dir = out or default_out_dir()
    configure_logging(out_dir / "logs")  # the stages' info lines go to a file; warnings still to stderr
    err = Console(stderr=True)
    homes = out_dir / "homes" if keep_homes else Path(tempfile.mkdtemp(prefix="huracan-research-"))
    try:
        result = run_research(
            variants,
            nights,
            data,
            homes,
            symbols=pins,
            top_n=top,
            extra=extra,
            progress=lambda text: err.print(f"[dim]{text}[/]", soft_wrap=True),
        )
    except ResearchError as exc:
        raise fail(f"research: {exc}") from None
    finally:
        if not keep_homes:
            shutil.rmtree(homes, ignore_errors=True)
    written = write_outputs(result, out_dir)
    console = Console(width=max(Console().width, 200)) if not sys.stdout.isatty() else Console()
    render_tables(result, console)
    console.print(f"tables: {', '.join(str(p) for p in written)}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Attach `research` to the `huracan` app (once)."""
    if "research" not in {c.name for c in app.registered_commands}:
        app.command("research")(research_cmd)
