"""Small glue shared by the assets: metadata in readable units, tables, and failures that say where."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from dagster import Failure, MetadataValue, TableColumn, TableRecord, TableSchema


def plain(value: Any) -> Any:
    """A metadata-safe scalar (datetimes as ISO text, None and NaN as None)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def num(value: Any, digits: int = 4) -> MetadataValue | None:
    """A number as the UI should show it: `digits` significant digits (None when not a finite number)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if isinstance(value, int):
        return MetadataValue.int(value)
    return MetadataValue.float(float(f"{value:.{digits}g}"))


def pct(fraction: Any) -> MetadataValue | None:
    """A fraction (0.5234) shown as a percentage (52.34)."""
    return (
        num(fraction * 100) if isinstance(fraction, int | float) and not isinstance(fraction, bool) else None
    )


def readable(entries: dict[str, Any]) -> dict[str, Any]:
    """Metadata without the values the UI cannot show (None): numbers rounded, text as is."""
    out: dict[str, Any] = {}
    for key, value in entries.items():
        if isinstance(value, float):
            value = num(value)
        if value is not None:
            out[key] = value
    return out


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


def failure(stage: str, day: date, exc: BaseException | str, **metadata: Any) -> Failure:
    """A Dagster failure whose message names the stage, the date and where it broke.

    `allow_retries=False`: a deterministic error fails the same way again; retrying it only delays the
    night (transient training failures are retried inside the Ray scheduler, counted once)."""
    who = f"{stage} on {day}"
    if isinstance(exc, BaseException):
        where = _where(exc)
        text = f"{who} failed: {type(exc).__name__}: {exc}" + (f" (at {where})" if where else "")
        metadata = {"error_type": type(exc).__name__, **({"code": where} if where else {}), **metadata}
    else:
        text = f"{who} failed: {exc}"
    return Failure(description=text, metadata={"stage": stage, **metadata}, allow_retries=False)


@contextmanager
def stage_errors(stage: str, day: date) -> Iterator[None]:
    """Re-raise any error of a day-level stage as `failure(...)`: the UI then says which stage and where."""
    try:
        yield
    except Failure:
        raise
    except Exception as exc:
        raise failure(stage, day, exc) from exc
