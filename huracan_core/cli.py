"""`huracan ...` commands that need no orchestrator (the Dagster-backed `run` lives in huracan_dagster.cli).

Why the split: huracan_core must never import Dagster, yet `huracan run` materialises through it.
A bad setting exits with status 2 and names the key, the value and what is allowed.
"""

from __future__ import annotations

import importlib
import json
import sys
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperCommand, TyperGroup

from huracan_core.dates import as_of_for, last_complete_day, parse_day

if TYPE_CHECKING:
    from huracan_core.config import Settings


@dataclass(frozen=True)
class LazyEntry:
    """A command (group) whose module is imported only when the command runs: `module` is imported, then
    `attr` (if set) is a Typer group added under the name, or a function called with the app that registers
    its commands; with no `attr` the import itself registers them (a decorator on `app`)."""

    module: str
    attr: str | None
    help: str


LAZY: dict[str, LazyEntry] = {}


def lazy_command(name: str, module: str, attr: str | None, help: str) -> None:
    """Name a command for `huracan --help` without importing its module (start-up stays cheap)."""
    LAZY.setdefault(name, LazyEntry(module, attr, help))


def _built() -> TyperGroup:
    built = typer.main.get_command(app)
    assert isinstance(built, TyperGroup)
    return built


def load_command(name: str) -> Any:
    """Import the module behind a lazily named command, register it on `app` and return it built."""
    built = _built()
    if name in built.commands:
        return built.commands[name]
    entry = LAZY[name]
    module = importlib.import_module(entry.module)  # may register its commands on `app` itself
    target = getattr(module, entry.attr) if entry.attr else None
    if isinstance(target, typer.Typer):
        app.add_typer(target, name=name, help=entry.help)
    elif target is not None:
        target(app)
    built = _built()
    if name not in built.commands:
        raise RuntimeError(f"huracan {name}: importing {entry.module} did not register the command")
    return built.commands[name]


class _Named(TyperCommand):
    """What `huracan --help` lists for a lazy command; running it (or asking its --help) loads the real one."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        return load_command(self.name or "").make_context(info_name, args, parent=parent, **extra)


class _LazyGroup(TyperGroup):
    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return names + [n for n in LAZY if n not in names]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in LAZY:
            return found
        return _Named(cmd_name, help=LAZY[cmd_name].help, short_help=LAZY[cmd_name].help)


app = typer.Typer(
    help="Huracan Engine: the nightly model factory for crypto trading.", no_args_is_help=True, cls=_LazyGroup
)
console = Console()
err_console = Console(stderr=True)


def settings_or_exit() -> Settings:
    """Load settings; on a bad value print every fault and exit 2 (never prints a secret)."""
    from huracan_core.config import ConfigError, load_settings  # pydantic-settings: only when a command runs

    try:
        return load_settings()
    except ConfigError as exc:
        sys.stderr.write(f"configuration error\n{exc}\n")  # unwrapped: one fault per line, greppable
        raise typer.Exit(2) from None


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a user error on one unwrapped stderr line (greppable, never cut by the terminal width) and
    return the Exit to raise: 2 for bad input, 1 for a failure of the world (database, exchange)."""
    sys.stderr.write(message.rstrip() + "\n")
    return typer.Exit(code)


def day_or_exit(text: str | None, settings: Settings | None = None) -> date:
    """The partition a command acts on, refused (exit 2) unless it lies in [schedule.first_date, yesterday].

    Why first_date: the daily partitions start there, so an earlier date is no partition (Dagster would
    answer with a DagsterUnknownPartitionError traceback). `settings` defaults to loading them."""
    newest = last_complete_day()
    if text is None:
        day = newest
    else:
        try:
            day = parse_day(text)
        except ValueError as exc:
            raise fail(f"--date: {exc}") from None
        if day > newest:
            raise fail(f"--date {day} has not closed yet: the newest complete UTC day is {newest}")
    first = (settings or settings_or_exit()).schedule.first_date
    if day < first:
        what = f"--date {day}" if text is not None else f"the default date {day} (yesterday UTC)"
        raise fail(
            f"{what} is before schedule.first_date {first}, the first daily partition "
            "(set schedule.first_date or HURACAN_SCHEDULE__FIRST_DATE to go further back)"
        )
    return day


config_app = typer.Typer(help="Inspect the effective configuration.")
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show() -> None:
    """Print the effective settings as JSON (secrets masked)."""
    from huracan_core.config import public_dict

    console.print_json(json.dumps(public_dict(settings_or_exit())))


@app.command("universe")
def universe_cmd(
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: yesterday UTC)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    top: Annotated[int | None, typer.Option("--top", help="override universe.top_n")] = None,
) -> None:
    """Show the day's selection and the reason every other coin is out (nothing is stored)."""
    from rich.table import Table

    from huracan_core.market.base import MarketDataError
    from huracan_core.market.factory import build_source
    from huracan_core.run_request import RunRequestError, check_top
    from huracan_core.universe import select_universe

    settings = settings_or_exit()
    the_day = day_or_exit(day, settings)
    try:
        top = check_top(top)
    except RunRequestError as exc:
        raise fail(str(exc)) from None
    try:
        source = build_source(settings, as_of_for(the_day))
        result = select_universe(source, settings.universe, settings.market.quote, top_n=top)
    except (MarketDataError, ValueError) as exc:  # ValueError: market.quote not USD-pegged
        raise fail(str(exc), 1) from None
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), default=str, indent=2) + "\n")
        return
    table = Table(title=f"Universe {the_day} ({result.source}): {len(result.selected)} selected")
    for col in ("symbol", "in", "rank", "24h volume $", "spread bps", "age d", "reason"):
        table.add_column(col)
    for row in result.rows:
        table.add_row(
            row.symbol,
            "yes" if row.selected else "no",
            str(row.rank or ""),
            f"{row.quote_volume_usd:,.0f}" if row.quote_volume_usd is not None else "",
            f"{row.spread_bps:.2f}" if row.spread_bps is not None else "",
            f"{row.age_days:.0f}" if row.age_days is not None else "",
            row.reason,
        )
    console.print(table)


@app.command("kill-switch")
def kill_switch_cmd(
    action: Annotated[str, typer.Argument(help="on, off or status")],
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="why trading stops (optional: recorded as a manual stop otherwise)"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Stop all trading (roster: every coin trade_ok false; simulator: no entries; decide: flat) until
    switched off. `on` needs no other argument; who (user@host) and when are recorded."""
    from huracan_core.paths import EngineHome
    from huracan_core.trading.killswitch import (
        brain_kill_switch,
        describe_brain,
        read_kill_switch,
        record_in_brain,
        set_kill_switch,
    )

    if action not in ("on", "off", "status"):
        err_console.print(f"[red]kill-switch: action must be on, off or status, not {action!r}[/]")
        raise typer.Exit(2)
    settings = settings_or_exit()
    home = EngineHome(settings.home)
    try:
        if action == "status":
            state = read_kill_switch(home)
        else:
            state = set_kill_switch(home, action == "on", reason or "")
    except ValueError as exc:
        err_console.print(f"[red]kill-switch: {exc}[/]")
        raise typer.Exit(2) from None
    except OSError as exc:  # the home cannot be written (a file in the way, no permission, disk full)
        raise fail(f"kill-switch: cannot write the switch under {home.root}: {exc}", 1) from None
    # the file is the switch; the Brain Library keeps a copy of every change when it is reachable
    if action == "status":
        brain = brain_kill_switch(settings.database_url)
    else:
        brain = record_in_brain(settings.database_url, state)
        if not brain["recorded"]:
            from rich.markup import escape

            err_console.print(
                f"[yellow]kill-switch: switched, but not recorded in the brain: {escape(brain['error'])}[/]"
            )
    if as_json:
        sys.stdout.write(json.dumps({**state.to_json(), "brain": brain}, indent=2) + "\n")
    else:
        sys.stdout.write(state.describe() + "\n")
        if action == "status":
            sys.stdout.write(describe_brain(brain, state) + "\n")


def _position_arg(text: str) -> Any:
    """--position SYMBOL:long|short:NOTIONAL:RISK (risk: the loss at its stop, in account currency)."""
    from huracan_core.symbols import normalise_symbol
    from huracan_core.trading.rules import OpenPosition

    parts = text.split(":")
    sides = {"long": 1, "short": -1}
    if len(parts) != 4 or parts[1].lower() not in sides:
        raise ValueError(f"--position {text!r}: expected SYMBOL:long|short:NOTIONAL:RISK")
    try:
        notional, risk = float(parts[2]), float(parts[3])
    except ValueError:
        raise ValueError(f"--position {text!r}: NOTIONAL and RISK must be numbers") from None
    return OpenPosition(normalise_symbol(parts[0]), sides[parts[1].lower()], notional, risk)


def _moment_arg(text: str | None) -> Any:
    """--at: an ISO 8601 moment (a date alone is its 00:00); no zone means UTC."""
    from datetime import UTC, datetime

    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--at {text!r} is not an ISO 8601 time such as 2026-04-20T13:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _decision_lines(d: Any) -> list[str]:
    """The human view of a decision: the headline, the numbers behind it, the reasons."""
    thr = f"{d.score_threshold:.3f}" if d.score_threshold is not None else "n/a"
    size = d.size
    lines = [
        f"{d.symbol} bar {d.bar_time:%Y-%m-%d %H:%M} UTC (closed {d.bar_close:%Y-%m-%d %H:%M}): "
        f"{d.direction.upper()} ({d.action}), confidence {d.confidence:.1f}",
        f"  consensus S {d.score:+.3f} vs threshold {thr}; expected edge {d.expected_edge_bps:+.1f} bps, "
        f"round trip {d.round_trip_bps:.1f} + margin {d.safety_margin_bps:g} bps (edge margin "
        f"{d.edge_margin_bps:+.1f})",
        f"  size {size['notional']:.6g} notional, risk {size['risk']:.6g} "
        f"({size['risk_pct']:.2f} % x {size['size_mult']:g}), stop {size['stop_fraction']:.2%}: {size['bound_by']}",
        f"  kill switch {'ON' if d.kill_switch['on'] else 'off'}; model {d.model_id} ({d.model_training_date})",
    ]
    lines += [f"  - {r}" for r in d.reasons]
    lines += [f"  note: {n}" for n in d.notes]
    return lines


@app.command("decide")
def decide_cmd(
    symbol: Annotated[str, typer.Option("--symbol", help="the coin, e.g. BTC-USDT")],
    at: Annotated[
        str | None, typer.Option("--at", help="decide for the latest bar closed at this ISO time (UTC)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    equity: Annotated[float, typer.Option("--equity", help="account equity (account currency)")] = 1.0,
    day_start_equity: Annotated[
        float | None, typer.Option("--day-start-equity", help="equity at 00:00 UTC today (default: --equity)")
    ] = None,
    position: Annotated[
        list[str] | None,
        typer.Option("--position", help="an open position SYMBOL:long|short:NOTIONAL:RISK (repeatable)"),
    ] = None,
    loss_streak: Annotated[int, typer.Option("--loss-streak", help="losing trades in a row")] = 0,
    halted: Annotated[
        bool, typer.Option("--halted", help="the daily-drawdown breaker already fired today")
    ] = False,
    no_record: Annotated[
        bool, typer.Option("--no-record", help="do not store the decision in the Brain Library")
    ] = False,
) -> None:
    """The decision for the coin's latest closed bar under its current champion: direction, confidence,
    consensus, costs, size under the risk rules, breakers, kill switch and reasons (stored in the brain)."""
    from huracan_core.logs import configure_logging
    from huracan_core.market.base import MarketDataError
    from huracan_core.paths import EngineHome
    from huracan_core.trading.decide import DecideError, decide

    settings = settings_or_exit()
    configure_logging(EngineHome(settings.home).logs_dir())  # stdout holds the decision only
    try:
        positions = [_position_arg(p) for p in position or []]
        decision = decide(
            settings,
            symbol,
            at=_moment_arg(at),
            open_positions=positions,
            equity=equity,
            day_start_equity=day_start_equity,
            loss_streak=loss_streak,
            halted=halted,
            record=not no_record,
        )
    except DecideError as exc:
        sys.stderr.write(f"decide: {exc}\n")
        raise typer.Exit(exc.exit_code) from None
    except MarketDataError as exc:
        sys.stderr.write(f"decide: market data: {exc}\n")
        raise typer.Exit(1) from None
    except ValueError as exc:  # bad arguments, a corrupt kill switch file, a symbol that is no symbol
        sys.stderr.write(f"decide: {exc}\n")
        raise typer.Exit(2) from None
    if decision.stored and not decision.stored.get("stored"):
        sys.stderr.write(f"decide: not stored in the Brain Library: {decision.stored['error']}\n")
    if as_json:
        sys.stdout.write(json.dumps(decision.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(_decision_lines(decision)) + "\n")


def register_subapps() -> None:
    """Name the command groups whose modules load only when one of their commands runs (see LAZY)."""
    for module, attr, name, text in (
        ("huracan_core.features.cli", "features_app", "features", "Compute the feature recipe for one coin."),
        (
            "huracan_core.candles.cli",
            "candles_app",
            "candles",
            "Sync the candle cache from the market source.",
        ),
        ("huracan_core.execution.cli", "ray_app", "ray", "Show, start or stop the shared local Ray head."),
    ):
        lazy_command(name, module, attr, text)
    for name, text in (  # one module registers all three
        ("db", "The Brain Library database: schema status and migrations."),
        ("export", "Record the night in the Brain Library and write exports/YYYY-MM-DD from it."),
        ("report", "Write reports/YYYY-MM-DD (training report, performance analysis, model comparison)."),
    ):
        lazy_command(name, "huracan_core.brain.cli", "register_commands", text)


def main() -> None:  # pragma: no cover - console entry without Dagster
    register_subapps()
    app()
