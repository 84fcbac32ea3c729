"""Learning snapshots (`logs/learning/`): how a coin's feature importance moved against its previous model.

Why: a trader asks "what changed?" when a champion moves or an edge fades. The snapshot records, per
coin and model, the gain importance now, before (the coin's previous complete model), and the change.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from huracan_core.atomic import read_json, write_json
from huracan_core.paths import EngineHome, day_tag
from huracan_core.symbols import normalise_symbol


def importance_changes(now: dict[str, float], before: dict[str, float] | None, top: int = 10) -> dict[str, Any]:
    """Per-feature (before, now, delta) and the largest risers and fallers."""
    before = before or {}
    names = sorted(set(now) | set(before))
    rows = {n: {"before": before.get(n, 0.0), "now": now.get(n, 0.0),
                "delta": now.get(n, 0.0) - before.get(n, 0.0)} for n in names}
    ranked = sorted(names, key=lambda n: rows[n]["delta"])
    return {
        "features": rows,
        "top_risers": [n for n in reversed(ranked[-top:]) if rows[n]["delta"] > 0],
        "top_fallers": [n for n in ranked[:top] if rows[n]["delta"] < 0],
        "added": sorted(set(now) - set(before)) if before else [],
        "removed": sorted(set(before) - set(now)),
    }


def write_learning_snapshot(
    home: EngineHome,
    symbol: str,
    day: date,
    model_id: str,
    importance: dict[str, float],
    previous_model_dir: Path | None,
    metrics: dict[str, Any],
) -> Path:
    """`logs/learning/{YYYYMMDD}Z/{SYMBOL}.json`, atomically."""
    prev_meta = read_json(previous_model_dir / "metadata.json") if previous_model_dir else None
    prev_importance = prev_meta.get("feature_importance") if prev_meta else None
    payload = {
        "symbol": normalise_symbol(symbol),
        "training_date": day.isoformat(),
        "model_id": model_id,
        "previous_model_id": prev_meta.get("model_id") if prev_meta else None,
        "oos_sharpe": metrics.get("sharpe"),
        "previous_oos_sharpe": (prev_meta.get("performance_metrics") or {}).get("sharpe") if prev_meta else None,
        "importance": importance_changes(importance, prev_importance),
    }
    path = home.learning_dir() / day_tag(day) / f"{normalise_symbol(symbol)}.json"
    return write_json(path, payload)
