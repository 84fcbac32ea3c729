"""`huracan db upgrade|status`, `huracan export --date D`, `huracan report --date D [--open]`."""

from __future__ import annotations

import json
import sys
import webbrowser
from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from huracan_core.brain.db import make_engine, safe_url, schema_status, upgrade

db_app = typer.Typer(help="The Brain Library database: schema status and migrations.", no_args_is_help=True)


def _settings():  # type: ignore[no-untyped-def]
    from huracan_core.cli import settings_or_exit

    return settings_or_exit()


def _fail(message: str, code: int = 1) -> typer.Exit:
    sys.stderr.write(message.rstrip() + "\n")
    return typer.Exit(code)


def _brain_fault(url: str, exc: BaseException) -> str:
    """One line for a database that cannot be opened or read: where (password hidden) and the driver's
    own reason, not a stack trace (the schema errors and outage errors already say both)."""
    if isinstance(exc, RuntimeError):  # BrainSchemaError, BrainUnavailableError: worded for the user
        return " ".join(str(exc).split())
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    return f"Brain Library {safe_url(url)}: {type(exc).__name__}: {reason}"


# what opening or reading the Brain Library raises for a database that is down, missing or unwritable
_BRAIN_FAULTS = (RuntimeError, SQLAlchemyError, OSError)


@db_app.command("status")
def db_status(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Schema revision of the database against the code's head (current, behind or ahead)."""
    settings = _settings()
    url = settings.database_url
    try:
        engine = make_engine(url, outage_wait_s=settings.database.outage_wait_s)
    except _BRAIN_FAULTS as exc:
        raise _fail(f"db status: {_brain_fault(url, exc)}") from None
    try:
        status = schema_status(engine)
    except Exception as exc:
        raise _fail(f"db status: {_brain_fault(url, exc)}") from None
    finally:
        engine.dispose()
    payload = {
        "url": status.url,
        "current": status.current,
        "head": status.head,
        "state": status.state,
        "tables": status.tables,
    }
    if as_json:
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    else:
        sys.stdout.write(
            f"{status.url}: revision {status.current or '(empty)'}, head {status.head}: "
            f"{status.state} ({status.tables} tables)\n"
        )
    if status.state == "ahead":
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the code's head (refused when it is ahead of the code)."""
    settings = _settings()
    url = settings.database_url
    try:
        engine = make_engine(url, outage_wait_s=settings.database.outage_wait_s)
    except _BRAIN_FAULTS as exc:
        raise _fail(f"db upgrade: {_brain_fault(url, exc)}") from None
    try:
        status = upgrade(engine)
    except _BRAIN_FAULTS as exc:
        raise _fail(f"db upgrade: {_brain_fault(url, exc)}") from None
    finally:
        engine.dispose()
    sys.stdout.write(f"{status.url}: at revision {status.current} (head {status.head})\n")


def export_cmd(
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: yesterday UTC)")] = None,
) -> None:
    """Record the night in the Brain Library (idempotent) and write exports/YYYY-MM-DD from it."""
    from huracan_core.cli import day_or_exit

    settings = _settings()
    the_day = day_or_exit(day, settings)  # before the heavy imports: a typo is refused at once
    from huracan_core.brain.db import open_brain
    from huracan_core.brain.record import BrainRecordError, record_night
    from huracan_core.exports import export_day
    from huracan_core.paths import EngineHome
    from huracan_core.stages import trading_comparison
    from huracan_core.trades import account_currency

    try:
        engine = open_brain(settings)
    except _BRAIN_FAULTS as exc:
        raise _fail(f"export: {_brain_fault(settings.database_url, exc)}") from None
    try:
        # the portfolio simulator's trades go in with the night, as in publish_stage (else a re-export drops them)
        _, portfolio_trades = trading_comparison(settings, the_day)
        record_night(settings, the_day, engine, portfolio_trades)
        out = export_day(EngineHome(settings.home), the_day, engine, currency=account_currency(settings))
    except BrainRecordError as exc:
        raise _fail(f"export {the_day}: {exc}") from None
    finally:
        engine.dispose()
    for f in out["index"]["files"]:
        sys.stdout.write(f"{f['rows']:>8} rows {f['bytes']:>10} bytes  {f['file']}\n")
    sys.stdout.write(f"{len(out['files'])} files in {EngineHome(settings.home).exports_dir(the_day)}\n")


def report_cmd(
    day: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default: yesterday UTC)")] = None,
    open_page: Annotated[
        bool, typer.Option("--open", help="open model_comparison.html in a browser")
    ] = False,
) -> None:
    """Write reports/YYYY-MM-DD (training_report.json, performance_analysis.csv, model_comparison.html)."""
    from huracan_core.cli import day_or_exit
    from huracan_core.paths import EngineHome

    settings = _settings()
    the_day = day_or_exit(day, settings)  # before the heavy imports: a typo is refused at once
    if not EngineHome(settings.home).universe(the_day).is_file():
        raise _fail(f"report {the_day}: no night recorded in {settings.home} (no universe for that date)")
    from huracan_core.brain.db import open_brain
    from huracan_core.reports import reports_dir, write_reports

    try:
        engine = open_brain(settings)
    except _BRAIN_FAULTS as exc:
        raise _fail(f"report: {_brain_fault(settings.database_url, exc)}") from None
    try:
        out = write_reports(settings, the_day, engine)
    finally:
        engine.dispose()
    for path in out["files"]:
        sys.stdout.write(path + "\n")
    if open_page:
        page = reports_dir(EngineHome(settings.home), the_day) / "model_comparison.html"
        webbrowser.open(page.as_uri())


def register_commands(app: typer.Typer) -> None:
    """Attach `db`, `export` and `report` to the `huracan` app (once)."""
    if "db" not in {g.name for g in app.registered_groups}:
        app.add_typer(db_app, name="db")
    names = {c.name for c in app.registered_commands}
    for name, fn in (("export", export_cmd), ("report", report_cmd)):
        if name not in names:
            app.command(name)(fn)
