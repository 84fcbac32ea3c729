"""Small glue shared by every asset: settings, log context and metadata conversions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from dagster import (
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
    TableColumn,
    TableRecord,
    TableSchema,
)

from huracan_core.config import Settings
from huracan_core.logs import bind_context, clear_context, configure_logging
from huracan_core.paths import EngineHome
from huracan_dagster.resources import HuracanConfig


def start(
    context: AssetExecutionContext, huracan: HuracanConfig, day: date, symbol: str | None = None
) -> Settings:
    """Settings for this step, with the Dagster run id, date and symbol on every log line."""
    settings = huracan.settings()
    configure_logging(EngineHome(settings.home).logs_dir(), run_id=context.run_id)
    clear_context(
        "symbol", "stage"
    )  # runs share a process under `huracan run`: no stale coin on a daily step
    bind_context(
        run_id=context.run_id, date=day.isoformat(), symbol=symbol, stage=context.asset_key.to_user_string()
    )
    return settings


def plain(value: Any) -> Any:
    """A metadata-safe scalar (datetimes as ISO text, None as empty)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def table(rows: list[dict[str, Any]], columns: list[str]) -> MetadataValue:
    """A table the Dagster UI renders (one record per row, only the named columns)."""
    schema = TableSchema(columns=[TableColumn(name=c, type="string") for c in columns])
    records = [
        TableRecord({c: "" if r.get(c) is None else str(plain(r.get(c))) for c in columns}) for r in rows
    ]
    return MetadataValue.table(records=records, schema=schema)


def _where(exc: BaseException) -> str | None:
    """The innermost frame of our own code in the traceback (`huracan_core/stages.py:145`)."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        path = tb.tb_frame.f_code.co_filename
        for package in ("huracan_core", "huracan_dagster"):
            if f"/{package}/" in path:
                found = f"{package}/{path.split(f'/{package}/', 1)[1]}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found


def failure(stage: str, day: date, symbol: str | None, exc: BaseException | str, **metadata: Any) -> Failure:
    """A Dagster failure whose message names the stage, the coin, the date and where it broke.

    `allow_retries=False`: a deterministic error fails the same way again; retrying it only delays the
    night (transient training failures are retried inside the Ray scheduler, counted once)."""
    who = f"{stage} for {symbol} on {day}" if symbol else f"{stage} on {day}"
    if isinstance(exc, BaseException):
        where = _where(exc)
        text = f"{who} failed: {type(exc).__name__}: {exc}" + (f" (at {where})" if where else "")
        metadata = {"error_type": type(exc).__name__, **({"code": where} if where else {}), **metadata}
    else:
        text = f"{who} failed: {exc}"
    return Failure(
        description=text, metadata={"stage": stage, "symbol": symbol or "", **metadata}, allow_retries=False
    )


@contextmanager
def stage_errors(stage: str, day: date, symbol: str | None = None) -> Iterator[None]:
    """Re-raise any error of a stage as `failure(...)`: the UI then says which stage, coin and file."""
    try:
        yield
    except Failure:
        raise
    except Exception as exc:
        raise failure(stage, day, symbol, exc) from exc


def not_in_universe(settings: Settings, day: date, symbol: str) -> MaterializeResult | None:
    """A per-coin partition of a coin outside the day's universe (the UI's "Materialize all" targets every
    coin ever seen) is a no-op that says so, instead of a failure that would block the day."""
    from huracan_core import stages

    if symbol in stages.load_universe(settings, day).selected:
        return None
    return MaterializeResult(
        metadata={
            "status": "not in universe",
            "note": f"{symbol} is not in the universe of {day}: nothing to do",
        }
    )


def upstream_failed(settings: Settings, day: date, symbol: str, stage: str) -> None:
    """Refuse to run a coin's stage when an earlier stage of that coin failed this night (the ledger says
    which): a red run naming the upstream failure, never a silent run on stale inputs."""
    from huracan_core.ledger import RunLedger

    entry = RunLedger(EngineHome(settings.home), day).get(symbol)
    if entry is not None and entry.status == "failed" and entry.stage not in (None, stage):
        raise failure(
            stage,
            day,
            symbol,
            f"not run because {entry.stage} failed earlier: {entry.error}",
            upstream_stage=entry.stage,
        )
