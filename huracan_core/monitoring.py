"""The seed's monitoring JSON: one record per component with `component`, `status`, `error_rate`,
`data_gaps` and `model_load_time_ms`, written at a night's start and end and by `huracan health`.

Why measured, not assumed: an operator reading `monitoring/` must see what the engine found when it looked.
- `error_rate`: the share of the night's coins whose step failed (status.json), None before any finished;
- `data_gaps`: missing bars in the candle cache of the coins in question, over the configured lookback
  ending at the night's as-of moment (real exchange gaps count too: they are gaps the models saw);
- `model_load_time_ms`: the time to verify (sha256.txt) and parse each current model, as the bot loads it:
  at the start of a night the bot's champions (`champions/roster.json`), at its end the night's own roster
  (or, without one, the models the night trained). A model that fails to load is named with its error.

Files: `monitoring/monitoring_{YYYYMMDD}_{phase}.json` (phase start or end: the night's date; health: the
day it ran) and
`monitoring/monitoring_latest.json`, both atomic. The night calls `night_monitoring(settings, day, phase)`;
`huracan health` writes the same record with its checks as components (`health.write_health`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl

from huracan_core import atomic
from huracan_core.config import Settings
from huracan_core.paths import EngineHome

Phase = Literal["start", "end", "health"]
PHASES = ("start", "end", "health")


@dataclass
class ComponentRecord:
    """One component as the seed's monitoring JSON lists it."""

    component: str
    status: str  # healthy | degraded | unhealthy | not_applicable
    error_rate: float | None = None
    data_gaps: int | None = None
    model_load_time_ms: float | None = None
    latency_ms: float | None = None
    detail: str = ""
    metrics: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "status": self.status,
            "error_rate": self.error_rate,
            "data_gaps": self.data_gaps,
            "model_load_time_ms": self.model_load_time_ms,
            "latency_ms": self.latency_ms,
            "detail": self.detail,
            "metrics": self.metrics or {},
        }


def night_error_rate(home: EngineHome, day: date) -> ComponentRecord:
    """The share of the night's coins that failed, from its status.json."""
    from huracan_core.ledger import LedgerError, RunLedger

    try:
        counts = RunLedger(home, day).counts()
    except LedgerError as exc:
        return ComponentRecord("night", "unhealthy", detail=str(exc)[:500])
    finished = sum(counts.get(s, 0) for s in ("success", "failed", "skipped"))
    failed = counts.get("failed", 0)
    rate = failed / finished if finished else None
    status = "healthy" if not failed else ("unhealthy" if rate == 1.0 else "degraded")
    detail = f"{failed} of {finished} finished coin(s) failed" if finished else "no coin has finished yet"
    return ComponentRecord("night", status, error_rate=rate, detail=detail, metrics={"coins": counts})


def candle_gaps(
    home: EngineHome, symbols: Iterable[str], timeframe: str, lookback_days: int, as_of: datetime
) -> ComponentRecord:
    """Missing bars in the candle cache of `symbols` over [as_of - lookback, as_of)."""
    from huracan_core.candles.gaps import find_gaps
    from huracan_core.timeframes import TIMEFRAMES

    start = as_of - timedelta(days=lookback_days)
    by_symbol: dict[str, int] = {}
    missing: list[str] = []
    unreadable: dict[str, str] = {}
    for symbol in symbols:
        path = home.candles(symbol, timeframe)
        if not path.is_file():
            missing.append(symbol)
            continue
        try:
            frame = (
                pl.read_parquet(path, columns=["timestamp"])
                .filter((pl.col("timestamp") >= start) & (pl.col("timestamp") < as_of))
                .sort("timestamp")
            )
        except Exception as exc:  # noqa: BLE001 - an unreadable cache file is reported, not fatal
            unreadable[symbol] = f"{type(exc).__name__}: {exc}"[:300]
            continue
        by_symbol[symbol] = sum(g.missing_bars for g in find_gaps(frame, TIMEFRAMES[timeframe]))
    total = sum(by_symbol.values())
    status = "unhealthy" if unreadable else ("degraded" if total or missing else "healthy")
    if not by_symbol and not missing and not unreadable:
        status = "not_applicable"
    detail = f"{total} missing bar(s) over {len(by_symbol)} coin(s), {lookback_days} days to {as_of:%Y-%m-%d %H:%M}"
    if missing:
        detail += f"; no candle cache for {', '.join(missing[:10])}"
    return ComponentRecord(
        "candles",
        status,
        data_gaps=total,
        detail=detail,
        metrics={"by_symbol": by_symbol, "no_cache": missing, "unreadable": unreadable},
    )


def _roster_models(home: EngineHome, roster_path: Path) -> dict[str, Path]:
    if not roster_path.is_file():
        return {}
    out = {}
    for coin in atomic.read_json(roster_path).get("coins", []):
        if coin.get("model_path"):
            p = Path(coin["model_path"])
            out[coin["symbol"]] = p if p.is_absolute() else home.root / p
    return out


def model_load_times(models: dict[str, Path], label: str) -> ComponentRecord:
    """Verify and parse each model as the bot does (`load_model`), timing each."""
    from huracan_core.training.artifacts import load_model

    if not models:
        return ComponentRecord("models", "not_applicable", detail=f"no {label} to load")
    times: dict[str, float] = {}
    errors: dict[str, str] = {}
    for symbol, folder in sorted(models.items()):
        started = time.perf_counter()
        try:
            load_model(folder)
        except Exception as exc:  # noqa: BLE001 - a model that cannot be loaded is the finding
            errors[symbol] = f"{type(exc).__name__}: {exc}"[:300]
            continue
        times[symbol] = round((time.perf_counter() - started) * 1000, 3)
    mean = round(sum(times.values()) / len(times), 3) if times else None
    detail = f"{len(times)} {label} loaded" + (f", mean {mean} ms" if mean is not None else "")
    if errors:
        detail += f"; {len(errors)} failed to load: {', '.join(sorted(errors))}"
    return ComponentRecord(
        "models",
        "unhealthy" if errors else "healthy",
        model_load_time_ms=mean,
        detail=detail,
        metrics={
            "by_symbol_ms": times,
            "max_ms": max(times.values()) if times else None,
            "errors": errors,
            "loaded": len(times),
        },
    )


def _overall(components: list[ComponentRecord]) -> str:
    statuses = {c.status for c in components}
    if "unhealthy" in statuses:
        return "unhealthy"
    return "degraded" if "degraded" in statuses else "healthy"


def monitoring_record(
    phase: Phase, day: date | None, components: list[ComponentRecord], checked_at: datetime | None = None
) -> dict[str, Any]:
    """The seed's monitoring JSON: the engine's headline fields, then one record per component."""
    if phase not in PHASES:
        raise ValueError(f"monitoring phase must be one of {PHASES}, not {phase!r}")
    moment = checked_at or datetime.now(UTC)
    by_name = {c.component: c for c in components}

    def pick(name: str, key: str) -> Any:
        return getattr(by_name[name], key) if name in by_name else None

    return {
        "timestamp": moment.isoformat(timespec="seconds"),
        "date": day.isoformat() if day else None,
        "phase": phase,
        "component": "engine",
        "status": _overall(components),
        "error_rate": pick("night", "error_rate"),
        "data_gaps": pick("candles", "data_gaps"),
        "model_load_time_ms": pick("models", "model_load_time_ms"),
        "components": [c.to_json() for c in components],
    }


def write_monitoring(home: EngineHome, record: dict[str, Any]) -> list[Path]:
    """`monitoring/monitoring_{YYYYMMDD}_{phase}.json` and `monitoring/monitoring_latest.json`."""
    folder = home.root / "monitoring"
    stamp = datetime.fromisoformat(record["timestamp"])
    # a night's record is named for its night, a health check's for the day it ran
    night = record.get("date") and record["phase"] != "health"
    tag = record["date"].replace("-", "") if night else f"{stamp:%Y%m%d}"
    return [
        atomic.write_json(folder / f"monitoring_{tag}_{record['phase']}.json", record),
        atomic.write_json(folder / "monitoring_latest.json", record),
    ]


def night_monitoring(settings: Settings, day: date, phase: Phase) -> dict[str, Any]:
    """Measure and write the night's monitoring record at its `start` or `end`; returns the record (with
    the files written under "files"). Never raises for what it measures: a failure is the record's finding."""
    from huracan_core.dates import as_of_for

    home = EngineHome(Path(settings.home))
    as_of = as_of_for(day)
    symbols = _night_symbols(home, day)
    if phase == "start":
        models = _roster_models(home, home.roster())
        label = "current champion(s)"
    else:
        models = _roster_models(home, home.roster_on(day)) or _trained_models(home, day)
        label = "model(s) of the night"
    components = [
        night_error_rate(home, day),
        candle_gaps(home, symbols, settings.market.timeframe, settings.market.lookback_days, as_of),
        model_load_times(models, label),
    ]
    record = monitoring_record(phase, day, components)
    files = write_monitoring(home, record)
    return {**record, "files": [str(p) for p in files]}


def _night_symbols(home: EngineHome, day: date) -> list[str]:
    """The day's selected coins (its universe), else the coins of its status.json."""
    from huracan_core.ledger import LedgerError, RunLedger
    from huracan_core.universe import Universe

    if home.universe(day).is_file():
        try:
            return list(Universe.load(home.universe(day)).selected)
        except Exception:  # noqa: BLE001, S110 - an unreadable universe falls back to the ledger
            pass
    try:
        return sorted(RunLedger(home, day).entries())
    except LedgerError:
        return []


def _trained_models(home: EngineHome, day: date) -> dict[str, Path]:
    from huracan_core.ledger import LedgerError, RunLedger

    try:
        entries = RunLedger(home, day).entries()
    except LedgerError:
        return {}
    return {s: Path(e.output_path) for s, e in entries.items() if e.status == "success" and e.output_path}


def health_monitoring(settings: Settings, checks: list[Any], checked_at: str) -> dict[str, Any]:
    """The monitoring record of a `huracan health` run: its checks as components (each with its latency),
    and the models and candles of the latest roster the bot reads."""
    home = EngineHome(Path(settings.home))
    moment = datetime.fromisoformat(checked_at)
    components = [
        ComponentRecord(
            c.name,
            c.status,
            latency_ms=c.latency_ms,
            detail=c.detail,
            metrics=c.metrics,
            error_rate=0.0 if c.status == "healthy" else (1.0 if c.status == "unhealthy" else None),
        )
        for c in checks
    ]
    day = None
    if home.roster().is_file():
        roster = atomic.read_json(home.roster())
        day = date.fromisoformat(roster["date"]) if roster.get("date") else None
        symbols = [c["symbol"] for c in roster.get("coins", [])]
        components.append(
            candle_gaps(home, symbols, settings.market.timeframe, settings.market.lookback_days, moment)
        )
        components.append(model_load_times(_roster_models(home, home.roster()), "current champion(s)"))
    if day is not None:
        components.append(night_error_rate(home, day))
    return monitoring_record("health", day, components, moment)
