"""Champions and the daily roster.

Why a champion pointer: tonight's model replaces the one traders use only when it passes every gate AND
beats the current champion's out-of-sample metric by a margin — a fresh model that is merely different is
not better. The pointer (`champions/{SYMBOL}.json`) names a model folder that verifies (sha256.txt);
a champion whose folder no longer verifies is treated as absent, never silently trusted.

Why the roster lists every coin of the day: a trader must see why a coin is NOT tradeable (training
failed, too little data, gates missed, no champion) as clearly as which ones are. It ranks tradeable coins
first, then by a composite of liquidity (ADV, higher better), total round-trip cost (lower better) and
recent out-of-sample net edge (last 7 days, higher better): the mean of the three percentile ranks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from huracan_core.atomic import read_json, write_json
from huracan_core.config import Settings
from huracan_core.paths import EngineHome
from huracan_core.symbols import normalise_symbol
from huracan_core.training.artifacts import is_complete
from huracan_core.training.trainer import TrainResult

DEFAULT_CHAMPION_METRIC = "sharpe"
DEFAULT_CHAMPION_MARGIN = 0.1
STATUSES = ("success", "failed", "skipped")


@dataclass(frozen=True)
class ChampionDecision:
    promoted: bool
    reason: str
    previous_model: str | None


def _margin(settings: Settings) -> tuple[str, float]:
    metric = getattr(settings.gates, "champion_metric", DEFAULT_CHAMPION_METRIC)
    margin = getattr(settings.gates, "champion_margin", DEFAULT_CHAMPION_MARGIN)
    return str(metric), float(margin)


def _rel(home: EngineHome, path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(home.root.resolve()))
    except ValueError:
        return str(path)


def _abs(home: EngineHome, path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else home.root / p


def current_champion(home: EngineHome, symbol: str) -> tuple[dict[str, Any] | None, str | None]:
    """(pointer, None) for a valid champion; (None, why) when there is none or its folder does not verify."""
    path = home.champion(symbol)
    if not path.is_file():
        return None, "no champion yet"
    pointer = read_json(path)
    model_dir = _abs(home, pointer.get("model_path", ""))
    if not is_complete(model_dir):
        return None, f"champion {pointer.get('model_id')} at {model_dir} no longer verifies (sha256.txt)"
    return pointer, None


def update_champion(home: EngineHome, result: TrainResult, settings: Settings) -> ChampionDecision:
    """Move `champions/{SYMBOL}.json` to `result`'s model only if it passes the gates and beats the champion."""
    symbol = normalise_symbol(result.symbol)
    pointer, why_none = current_champion(home, symbol)
    previous = pointer.get("model_id") if pointer else None
    if result.skipped_reason:
        return ChampionDecision(False, f"not trained: {result.skipped_reason}", previous)
    if result.model_dir is None or not is_complete(result.model_dir):
        return ChampionDecision(False, f"model folder {result.model_dir} does not verify", previous)
    if not result.gates.passed:
        return ChampionDecision(False, f"gates failed: {result.gates.summary()}", previous)
    metric, margin = _margin(settings)
    new_value = result.metrics.get(metric)
    if not isinstance(new_value, int | float) or not np.isfinite(new_value):
        return ChampionDecision(False, f"model has no finite OOS {metric}", previous)
    if pointer is not None:
        old_value = float(pointer.get("metric_value", float("-inf")))
        if not new_value > old_value + margin:
            return ChampionDecision(
                False,
                f"OOS {metric} {new_value:.3f} does not beat champion {previous} ({old_value:.3f}) by {margin:g}",
                previous,
            )
        reason = f"OOS {metric} {new_value:.3f} beats champion {previous} ({old_value:.3f}) by more than {margin:g}"
    else:
        reason = f"first champion ({why_none}); OOS {metric} {new_value:.3f}, all gates passed"
    write_json(home.champion(symbol), {
        "symbol": symbol,
        "model_id": result.model_id,
        "model_path": _rel(home, result.model_dir),
        "metric": metric,
        "metric_value": float(new_value),
        "gates_passed": True,
        "performance_metrics": {k: result.metrics.get(k) for k in
                                ("sharpe", "hit_rate", "net_pnl_bps", "max_drawdown_pct", "trades",
                                 "deflated_sharpe", "last_7d_net_bps")},
        "promoted_at": datetime.now(UTC).isoformat(),
        "previous_model": previous,
        "reason": reason,
    })
    return ChampionDecision(True, reason, previous)


def _model_info(model_dir: Path | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    if model_dir is None or not is_complete(model_dir):
        return None, None
    return read_json(model_dir / "metrics.json"), read_json(model_dir / "costs.json")


def _pct_rank(values: list[float], higher_better: bool) -> list[float]:
    arr = np.asarray([v if np.isfinite(v) else (-np.inf if higher_better else np.inf) for v in values])
    order = np.argsort(-arr if higher_better else arr, kind="stable")
    ranks = np.empty(len(arr))
    ranks[order] = np.arange(len(arr))
    return list(ranks / max(len(arr) - 1, 1))


def _entry(home: EngineHome, symbol: str, outcome: dict[str, Any] | None) -> dict[str, Any]:
    status = (outcome or {}).get("status", "missing")
    error = (outcome or {}).get("error")
    today_dir = (outcome or {}).get("model_dir")
    today_metrics, today_costs = _model_info(_abs(home, today_dir) if today_dir else None)
    pointer, why_none = current_champion(home, symbol)
    champ_metrics, champ_costs = _model_info(_abs(home, pointer["model_path"]) if pointer else None)
    costs = champ_costs or today_costs or {}
    recent = today_metrics or champ_metrics or {}
    reasons = []
    if status not in STATUSES:
        reasons.append(error or "no training outcome recorded for this day")
    elif status == "failed":
        reasons.append(f"training failed: {error or 'unknown error'}")
    elif status == "skipped":
        reasons.append(f"skipped: {error or 'no reason given'}")
    elif today_metrics is None:
        reasons.append(f"today's model {today_dir} is missing or does not verify")
    elif not today_metrics.get("gates", {}).get("passed", False):
        reasons.append(f"today's model failed gates: {today_metrics.get('gates', {}).get('summary', '')}")
    if pointer is None:
        reasons.append(why_none or "no champion")
    inputs = costs.get("inputs", {})
    return {
        "symbol": symbol,
        "status": status if status in STATUSES else "missing",
        "model_id": pointer.get("model_id") if pointer else None,
        "model_path": pointer.get("model_path") if pointer else None,
        "rank": None,
        "spread_bps": costs.get("spread_bps"),
        "fee_bps": costs.get("fee_bps"),
        "avg_slip_bps": costs.get("avg_slip_bps"),
        "round_trip_bps": costs.get("round_trip_bps"),
        "adv_usd": inputs.get("adv_usd"),
        "last_7d_net_bps": recent.get("last_7d_net_bps"),
        "oos_sharpe": (champ_metrics or {}).get("sharpe"),
        "trade_ok": not reasons,
        "reason": "; ".join(reasons) if reasons else None,
    }


def build_roster(
    home: EngineHome, day: date, symbols: list[str], outcomes: dict[str, dict], settings: Settings
) -> dict[str, Any]:
    """Write `champions/roster.json` for exactly `symbols` (the day's coins) and return it."""
    norm_outcomes = {normalise_symbol(k): v for k, v in outcomes.items()}
    wanted = list(dict.fromkeys(normalise_symbol(s) for s in symbols))
    entries = [_entry(home, s, norm_outcomes.get(s)) for s in wanted]

    def num(e: dict[str, Any], key: str) -> float:
        v = e.get(key)
        return float(v) if isinstance(v, int | float) else float("nan")

    if entries:
        liq = _pct_rank([num(e, "adv_usd") for e in entries], higher_better=True)
        cost = _pct_rank([num(e, "round_trip_bps") for e in entries], higher_better=False)
        edge = _pct_rank([num(e, "last_7d_net_bps") for e in entries], higher_better=True)
        for e, a, b, c in zip(entries, liq, cost, edge, strict=True):
            e["score"] = float((a + b + c) / 3.0)
        entries.sort(key=lambda e: (not e["trade_ok"], e["score"], e["symbol"]))
        for i, e in enumerate(entries, start=1):
            e["rank"] = i
    roster = {
        "date": day.isoformat(),
        "generated_at": datetime.now(UTC).isoformat(),
        "ranking": "trade_ok first, then mean percentile rank of ADV (desc), round trip cost (asc), "
                   "last 7 days OOS net bps (desc); lower score is better",
        "n_symbols": len(entries),
        "n_trade_ok": sum(e["trade_ok"] for e in entries),
        "coins": entries,
    }
    write_json(home.roster(), roster)
    return roster
