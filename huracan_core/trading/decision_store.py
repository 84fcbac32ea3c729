"""Decisions in the Brain Library (`decisions`, migration 0004) and their daily export.

Why store every decision: a desk must be able to say afterwards what the engine told the bot at each bar,
with which champion and why, and compare it with what the bot did and what the market did. So each
`decide` call appends one row (the whole decision in `detail`, the usual filters as columns).

Storing is best effort for the caller: a brain that is down never withholds a decision from a bot (it is
waited for `BRAIN_WAIT_S` at most); the decision says it was not stored and why (`record_decision` never
raises). The export `decisions_{date}.csv`
holds the decisions about the bars of one UTC day (bar open time in the day), oldest first.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, select

from huracan_core.atomic import write_bytes
from huracan_core.brain.models import BotDecision

EXPORT_NAME = "decisions_{date}.csv"
EXPORT_COLUMNS = (
    "id",
    "decided_at",
    "as_of",
    "bar_time",
    "symbol",
    "model_id",
    "direction",
    "signal",
    "action",
    "confidence",
    "score",
    "score_threshold",
    "expected_edge_bps",
    "round_trip_bps",
    "safety_margin_bps",
    "edge_margin_bps",
    "notional",
    "risk",
    "bound_by",
    "equity",
    "kill_switch",
    "reasons",
)
BRAIN_WAIT_S = 2.0  # a decision waits this long at most for a brain that is down (a bot cannot wait 90 s)
_ENGINES: dict[str, Engine] = {}


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def decision_row(decision: Any) -> dict[str, Any]:
    """The `decisions` row of a trading.decide.Decision (naive UTC times, as every brain table)."""
    size = decision.size
    return {
        "decided_at": _naive(decision.decided_at),
        "as_of": _naive(decision.at),
        "bar_time": _naive(decision.bar_time),
        "symbol": decision.symbol,
        "model_id": decision.model_id,
        "direction": decision.direction,
        "signal": decision.signal,
        "action": decision.action,
        "confidence": decision.confidence,
        "score": decision.score,
        "score_threshold": decision.score_threshold,
        "expected_edge_bps": decision.expected_edge_bps,
        "round_trip_bps": decision.round_trip_bps,
        "safety_margin_bps": decision.safety_margin_bps,
        "edge_margin_bps": decision.edge_margin_bps,
        "notional": size["notional"],
        "risk": size["risk"],
        "bound_by": size["bound_by"],
        "equity": decision.equity,
        "kill_switch": bool(decision.kill_switch["on"]),
        "reasons": list(decision.reasons),
        "detail": {k: v for k, v in decision.to_json().items() if k != "stored"},  # the row is the record
    }


def brain_engine(database_url: str) -> Engine:
    """The Brain Library at the code's schema head, opened once per process and URL (a bot asks every bar)."""
    from huracan_core.brain.db import open_brain

    engine = _ENGINES.get(database_url)
    if engine is None:
        engine = _ENGINES[database_url] = open_brain(database_url, outage_wait_s=BRAIN_WAIT_S)
    return engine


def record_decision(database_url: str, decision: Any) -> dict[str, Any]:
    """Append the decision: {"stored": True, "id": n} or {"stored": False, "error": why} (never raises)."""
    try:
        engine = brain_engine(database_url)
        with engine.begin() as conn:
            result = conn.execute(
                BotDecision.__table__.insert().returning(BotDecision.id), decision_row(decision)
            )
            new_id = int(result.scalar_one())
    except Exception as exc:  # the decision stands; the caller is told it was not stored
        _ENGINES.pop(database_url, None)
        return {
            "stored": False,
            "error": f"Brain Library {_where(database_url)}: {type(exc).__name__}: "
            + (str(exc).splitlines() or [""])[0],  # SQLAlchemy appends the statement and its values
        }
    return {"stored": True, "id": new_id}


def _where(url: str) -> str:
    """The URL without its password (never echo a secret), or a placeholder when it does not parse."""
    from huracan_core.brain.db import safe_url

    try:
        return safe_url(url)
    except Exception:
        return "(unparsable database URL)"


def decisions_of(engine: Engine, day: date) -> list[dict[str, Any]]:
    """The stored decisions about bars of UTC day `day` (bar open time in the day), oldest first."""
    start = datetime(day.year, day.month, day.day)
    table = BotDecision.__table__
    query = (
        select(table)
        .where(table.c.bar_time >= start, table.c.bar_time < start + timedelta(days=1))
        .order_by(table.c.bar_time, table.c.decided_at, table.c.id)
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


_SCHEMA: dict[str, Any] = {
    "id": pl.Int64,
    "decided_at": pl.Datetime("us"),
    "as_of": pl.Datetime("us"),
    "bar_time": pl.Datetime("us"),
    "symbol": pl.String,
    "model_id": pl.String,
    "direction": pl.String,
    "signal": pl.String,
    "action": pl.String,
    "bound_by": pl.String,
    "kill_switch": pl.Boolean,
    "reasons": pl.String,
}


def export_decisions(engine: Engine, day: date, out_dir: Path) -> tuple[Path, int]:
    """Write `out_dir/decisions_{YYYY-MM-DD}.csv` (header even when empty) from the brain; (path, rows)."""
    records = [
        {**{c: r[c] for c in EXPORT_COLUMNS if c != "reasons"}, "reasons": " | ".join(r["reasons"] or [])}
        for r in decisions_of(engine, day)
    ]
    frame = pl.DataFrame(records, schema={c: _SCHEMA.get(c, pl.Float64) for c in EXPORT_COLUMNS})
    path = Path(out_dir) / EXPORT_NAME.format(date=day.isoformat())
    write_bytes(path, frame.write_csv().encode())
    return path, frame.height


def detail_of(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row's whole decision (JSON column; some drivers hand back text)."""
    detail = row["detail"]
    return json.loads(detail) if isinstance(detail, str) else detail
