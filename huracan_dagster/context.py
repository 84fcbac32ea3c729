"""Small glue shared by every asset: settings, log context and metadata conversions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from dagster import AssetExecutionContext, MetadataValue, TableColumn, TableRecord, TableSchema

from huracan_core.config import Settings
from huracan_core.logs import bind_context, clear_context, configure_logging
from huracan_core.paths import EngineHome
from huracan_dagster.resources import HuracanConfig


def start(context: AssetExecutionContext, huracan: HuracanConfig, day: date, symbol: str | None = None) -> Settings:
    """Settings for this step, with the Dagster run id, date and symbol on every log line."""
    settings = huracan.settings()
    configure_logging(EngineHome(settings.home).logs_dir(), run_id=context.run_id)
    clear_context("symbol", "stage")  # runs share a process under `huracan run`: no stale coin on a daily step
    bind_context(run_id=context.run_id, date=day.isoformat(), symbol=symbol, stage=context.asset_key.to_user_string())
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
    records = [TableRecord({c: "" if r.get(c) is None else str(plain(r.get(c))) for c in columns}) for r in rows]
    return MetadataValue.table(records=records, schema=schema)
