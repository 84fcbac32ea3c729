"""The `huracan` console script: the core commands plus `run`, which materialises through Dagster."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Annotated

import typer

from huracan_core.cli import (
    app,
    console,
    day_or_exit,
    err_console,
    lazy_command,
    register_subapps,
    settings_or_exit,
)
from huracan_core.symbols import SymbolError, normalise_symbol, parse_symbols

# `huracan health`: its module registers the command on import, which happens only when it runs
lazy_command(
    "health",
    "huracan_dagster.defs.health.command",
    None,
    "Check the Brain Library, exchange, remote storage, disk, Ray and the Dagster daemon; exit 1 if unhealthy.",
)


def _symbols_from(symbols: str | None, symbols_file: Path | None) -> list[str] | None:
    try:
        if symbols_file is not None:
            with open(symbols_file, newline="") as fh:
                rows = [r for r in csv.reader(fh) if r and r[0].strip() and not r[0].startswith("#")]
            names = [r[0] for r in rows if r[0].strip().lower() != "symbol"]
            return list(dict.fromkeys(normalise_symbol(n) for n in names))
        return parse_symbols(symbols) if symbols else None
    except (SymbolError, OSError) as exc:
        err_console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from None


def _fmt(value: object, digits: int = 2) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


@app.command("run")
def run_cmd(
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: yesterday UTC)")] = None,
    symbols: Annotated[
        str | None, typer.Option("--symbols", help="BTC-USDT,ETH-USDT (pins the universe)")
    ] = None,
    symbols_file: Annotated[
        Path | None, typer.Option("--symbols-file", help="CSV, first column = symbol")
    ] = None,
    top: Annotated[int | None, typer.Option("--top", help="take the top N of the universe")] = None,
    force: Annotated[bool, typer.Option("--force", help="redo every step, even completed coins")] = False,
) -> None:
    """Materialise the whole graph for one date through Dagster and print a per-coin table."""
    if (symbols or symbols_file) and top is not None:
        err_console.print("[red]--symbols/--symbols-file and --top are exclusive[/]")
        raise typer.Exit(2)
    settings = settings_or_exit()  # before any Dagster import: the definitions read the settings too
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from huracan_dagster.runner import RunFailed, run_day

    the_day = day_or_exit(day)
    pinned = _symbols_from(symbols, symbols_file)
    from huracan_dagster import interrupt

    interrupt.install(
        settings, the_day
    )  # SIGTERM/SIGINT: in-flight coins failed ("interrupted"), exit 143/130
    from huracan_core.notify.night import night_services  # remote sync cadences, Telegram, final verify

    with (
        night_services(settings, the_day) as night,
        Progress(
            TextColumn("[bold]{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        ) as progress,
    ):
        task = progress.add_task(f"{the_day}", total=None)

        def on_progress(label: str, done: int, total: int) -> None:
            progress.update(task, description=label, completed=done, total=total)

        try:
            report = run_day(
                settings, the_day, symbols=pinned, top_n=top, force=force, on_progress=on_progress
            )
        except RunFailed as exc:
            err_console.print(f"[red]{exc}[/]")
            night.failed(str(exc))
            raise typer.Exit(1) from None

    table = Table(title=f"Huracan {the_day}: {len(report.coins)} coins in {report.wall_seconds:.1f}s")
    for col in ("symbol", "status", "stage", "sharpe", "hit", "net bps", "max dd %", "trades", "gates"):
        table.add_column(col, no_wrap=True)
    table.add_column("reason", overflow="fold", min_width=30)
    for symbol, entry in sorted(report.coins.items()):
        m = entry.metrics or {}
        gates = m.get("gates_passed")
        table.add_row(
            symbol,
            entry.status,
            entry.stage or "",
            _fmt(m.get("sharpe")),
            _fmt(m.get("hit_rate")),
            _fmt(m.get("net_pnl_bps"), 1),
            _fmt(m.get("max_drawdown_pct"), 1),
            _fmt(m.get("trades"), 0),
            "" if gates is None else ("pass" if gates else "fail"),
            (entry.error if entry.status == "failed" else entry.reason) or "",
        )
    wide = Console(width=max(console.width, 160)) if not console.is_terminal else console
    wide.print(table)
    if report.skipped_complete and not force:
        console.print("every step of this date was already complete: nothing re-run (use --force to redo)")
    if report.roster_path:
        console.print(f"roster: {report.roster_path}")
    for step in report.failed_daily_steps:
        err_console.print(f"[red]step {step.step} {step.partition_key} failed: {step.error}[/]")
    if report.failed_coins or report.failed_daily_steps:
        raise typer.Exit(1)


def main() -> None:
    register_subapps()
    app()
