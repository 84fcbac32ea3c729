"""The day's hand-off to the trading bot and to humans: engine_summary.json plus copies of the
day's status.json and roster in `exports/YYYY-MM-DD/`, and the seed's dated Brain Library files
(huracan_core.brain.exports). Secrets are never part of any export.
"""

from __future__ import annotations

import statistics
from datetime import date, datetime
from typing import Any

from huracan_core.atomic import read_json, write_bytes, write_json
from huracan_core.ledger import RunLedger
from huracan_core.paths import EngineHome


def engine_summary(home: EngineHome, day: date) -> dict[str, Any]:
    """Counts and timings of the night, computed from the ledger (never estimated)."""
    entries = RunLedger(home, day).entries()
    by_status: dict[str, int] = {}
    for entry in entries.values():
        by_status[entry.status] = by_status.get(entry.status, 0) + 1
    train_minutes = [
        e.wall_minutes for e in entries.values() if e.status == "success" and e.wall_minutes is not None
    ]
    starts = [datetime.fromisoformat(e.started_at) for e in entries.values() if e.started_at]
    ends = [datetime.fromisoformat(e.ended_at) for e in entries.values() if e.ended_at]
    total_wall = (max(ends) - min(starts)).total_seconds() / 60 if starts and ends else 0.0
    return {
        "date": day.isoformat(),
        "total": len(entries),
        "succeeded": by_status.get("success", 0),
        "failed": by_status.get("failed", 0),
        "skipped": by_status.get("skipped", 0),
        "pending": by_status.get("pending", 0) + by_status.get("running", 0),
        "avg_train_minutes": round(statistics.fmean(train_minutes), 4) if train_minutes else None,
        "median_train_minutes": round(statistics.median(train_minutes), 4) if train_minutes else None,
        "total_wall_minutes": round(total_wall, 4),
        "by_symbol": {
            sym: {
                "status": e.status,
                "stage": e.stage,
                "wall_minutes": e.wall_minutes,
                "error": e.error,
                "error_type": e.error_type,
                "reason": e.reason,
                "metrics": e.metrics,
            }
            for sym, e in sorted(entries.items())
        },
    }


def export_day(
    home: EngineHome, day: date, engine: Any = None, currency: str | None = None
) -> dict[str, Any]:
    """Write engine_summary.json and the day's export folder; returns what was written. With the Brain
    Library's `engine`, also its exports of the night (huracan_core.brain.exports) with the money columns
    named for `currency` (the account currency, `trades.account_currency(settings)`; default: the one the
    night's trades were recorded in); the folder's index `performance_summary.json` (rows, bytes, sha256 of
    every file) is written last."""
    summary = engine_summary(home, day)
    write_json(home.summary(day), summary)
    out = home.exports_dir(day)
    written = [str(write_json(out / "engine_summary.json", summary))]
    # the day's OWN roster (champions/{YYYYMMDD}Z/roster.json), never the latest pointer: a backfilled
    # night exports what that night decided
    for src, name in ((home.status(day), "status.json"), (home.roster_on(day), "roster.json")):
        if src.is_file():
            written.append(str(write_bytes(out / name, src.read_bytes())))
    roster = read_json(home.roster_on(day)) if home.roster_on(day).is_file() else None
    brain_rows: dict[str, int] = {}
    if engine is not None:
        from huracan_core.brain.exports import write_brain_exports

        brain_rows = write_brain_exports(engine, home, day, out, currency)
        from huracan_core.brain.forward_export import write_forward_export

        brain_rows = {**brain_rows, **write_forward_export(engine, day, out)}
    from huracan_core.brain.exports import write_index

    index = write_index(out, day, brain_rows)
    files = [str(out / f["file"]) for f in index["files"]] + [str(out / "performance_summary.json")]
    return {"summary": summary, "files": files, "roster": roster, "index": index}
