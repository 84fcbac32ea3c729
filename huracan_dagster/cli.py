"""The `huracan` console script: the core commands plus `run`, which materialises through Dagster."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from huracan_core.cli import (
    app,
    console,
    day_or_exit,
    err_console,
    lazy_command,
    register_subapps,
    settings_or_exit,
)

# `huracan health`: its module registers the command on import, which happens only when it runs
lazy_command(
    "health",
    "huracan_dagster.health_command",
    None,
    "Check the Brain Library, exchange, remote storage, disk, Ray and the Dagster daemon; exit 1 if unhealthy.",
)
lazy_command(
    "research",
    "huracan_core.research_cli",
    "register",
    "Run named settings variants over recorded nights; one table per variant, deflated by every comparison.",
)


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
    force: Annotated[
        bool, typer.Option("--force", help="redo every step, even complete coins; replace a finished night")
    ] = False,
    wait: Annotated[
        float, typer.Option("--wait", help="seconds to wait for another huracan run on this engine home")
    ] = 60.0,
) -> None:
    """Materialise the whole graph for one date through Dagster and print a per-coin table."""
    settings = settings_or_exit()  # before any Dagster import: the definitions read the settings too
    the_day = day_or_exit(day, settings)
    # everything the night will act on is checked before anything is written or Dagster is loaded
    from huracan_core.market.base import MarketDataError
    from huracan_core.run_request import RunRequestError, check_run_request

    try:
        selection = check_run_request(settings, the_day, symbols, symbols_file, top)
    except RunRequestError as exc:
        sys.stderr.write(f"{exc}\n")
        raise typer.Exit(2) from None
    except MarketDataError as exc:
        sys.stderr.write(f"market source: {exc}\n")
        raise typer.Exit(1) from None
    pinned, top = selection.pins, selection.top
    from huracan_dagster.night.client import (
        NightError,
        NightInterrupted,
        engine_home_lock,
        ensure_dagster_home,
        run_night,
    )

    ensure_dagster_home(settings)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    try:
        with (
            engine_home_lock(
                settings, the_day, wait, lambda text: err_console.print(escape(text), soft_wrap=True)
            ),
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

            report = run_night(
                settings, the_day, symbols=pinned, top_n=top, force=force, on_progress=on_progress
            )
    except NightError as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]", soft_wrap=True)
        raise typer.Exit(1) from None
    except NightInterrupted as exc:
        err_console.print(f"[red]{escape(str(exc))}[/]", soft_wrap=True)
        _exit_now(exc.exit_code)
    except KeyboardInterrupt:  # between two runs: nothing in flight
        err_console.print("[red]interrupted (SIGINT): the same command resumes the night[/]")
        raise typer.Exit(130) from None
    except SystemExit as exc:
        if exc.code in (15, 143):  # Ray's SIGTERM handler in this process, between two runs
            err_console.print("[red]interrupted (SIGTERM): the same command resumes the night[/]")
            raise typer.Exit(143) from None
        raise
    except Exception as exc:  # noqa: BLE001 - e.g. the Dagster instance's database went away: one line
        trace = _keep_trace(settings)
        first = (str(exc).strip().splitlines() or [""])[0][:500]
        err_console.print(
            f"[red]huracan run stopped: {type(exc).__name__}: {escape(first)} (stack trace in "
            f"{escape(str(trace))}); the same command resumes the night[/]",
            soft_wrap=True,
        )
        raise typer.Exit(1) from None
    _print_report(report, force)
    if report.failed_coins or report.failed_runs:
        raise typer.Exit(1)


def _keep_trace(settings: Any) -> Path:
    """Append the current exception's stack trace to logs/cli_errors.log: on screen goes one line."""
    import traceback
    from datetime import UTC, datetime

    path = Path(settings.home) / "logs" / "cli_errors.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fh.write(f"--- {datetime.now(UTC).isoformat()} huracan run\n{traceback.format_exc()}\n")
    return path


def _exit_now(code: int) -> None:
    """Leave with a signal's exit status at once: the records are written, and Ray's driver threads,
    whose teardown after a cancelled task may abort the interpreter, must not decide the status."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _print_report(report: Any, force: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Huracan {report.day}: {len(report.coins)} coins in {report.wall_seconds:.1f} s")
    for col in ("symbol", "status", "stage", "sharpe", "hit %", "net bps", "max dd %", "trades", "gates"):
        table.add_column(col, no_wrap=True)
    table.add_column("reason", overflow="fold", min_width=30)
    for symbol, entry in sorted(report.coins.items()):
        m = entry.metrics or {}
        gates = m.get("gates_passed")
        hit = m.get("hit_rate")
        table.add_row(
            symbol,
            entry.status,
            entry.stage or "",
            _fmt(m.get("sharpe")),
            _fmt(hit * 100 if isinstance(hit, int | float) else None, 1),
            _fmt(m.get("net_pnl_bps"), 1),
            _fmt(m.get("max_drawdown_pct"), 1),
            _fmt(m.get("trades"), 0),
            "" if gates is None else ("pass" if gates else "fail"),
            (entry.error if entry.status == "failed" else entry.reason) or "",
        )
    wide = Console(width=max(console.width, 160)) if not console.is_terminal else console
    wide.print(table)
    if report.replaced:
        console.print(report.replaced, soft_wrap=True)
    if report.nothing_done:
        console.print(
            "every step of this date was already complete: nothing re-run (use --force to redo)",
            soft_wrap=True,
        )
    else:
        redone = [
            f"{layer} ({len(c)} coin{'s' if len(c) != 1 else ''})" if c else layer
            for layer, c in report.reran.items()
        ]
        console.print(f"ran {len(report.runs)} Dagster run(s): {', '.join(redone)}", soft_wrap=True)
    if report.roster_path:
        console.print(f"roster: {report.roster_path}", soft_wrap=True)
    for run in report.failed_runs:
        err_console.print(
            f"[red]{escape(run.label)} failed (run {run.outcome.run_id[:8]}): {escape(run.outcome.error or 'no error recorded')}[/]",
            soft_wrap=True,
        )


def main() -> None:
    register_subapps()
    app()
