"""The Brain Library's export of a night's forward record: `forward_record_{date}.csv` in `exports/YYYY-MM-DD/`.

Why read back from the database: like every Brain Library export, the file is exactly what the brain holds
for that date (the rows record_night wrote from runs/{D}Z/forward_record.json), never recomputed. One row
per champion the night scored: how it has traded since its hand-out, after costs, and whether that demoted it.
"""

from __future__ import annotations

import io
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, select

from huracan_core.atomic import write_bytes
from huracan_core.brain import models as m


def forward_export_name(day: date) -> str:
    """Dated like every export of the night, so a copy out of its folder keeps its date."""
    return f"forward_record_{day.isoformat()}.csv"


FORWARD_COLUMNS = tuple(c.name for c in m.ForwardRecordRow.__table__.columns)


def _text(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def forward_export_rows(engine: Engine, day: date) -> list[dict[str, Any]]:
    """Night `day`'s `forward_records` rows, in key order (symbol, model_id)."""
    table = m.ForwardRecordRow.__table__
    with engine.connect() as conn:
        result = conn.execute(
            select(table).where(table.c.date == day).order_by(table.c.symbol, table.c.model_id)
        )
        return [dict(zip(FORWARD_COLUMNS, row, strict=True)) for row in result]


def write_forward_export(engine: Engine, day: date, out: Path) -> dict[str, int]:
    """Write `forward_record_{date}.csv` (a header only when the night scored no champion) into `out`;
    returns {file name: rows} as brain.exports.write_brain_exports does."""
    rows = forward_export_rows(engine, day)
    schema = {
        c: pl.Boolean if c == "demoted" else pl.Int64 if c in ("days_live", "bars", "trades") else pl.Utf8
        for c in FORWARD_COLUMNS
    }
    for c in ("net_bps", "gross_bps", "max_drawdown_pct", "hit_rate"):
        schema[c] = pl.Float64
    frame = pl.DataFrame(
        [{k: _text(r[k]) for k in FORWARD_COLUMNS} for r in rows], schema=schema, orient="row"
    )
    buf = io.BytesIO()
    frame.write_csv(buf)
    write_bytes(out / forward_export_name(day), buf.getvalue())
    return {forward_export_name(day): frame.height}
