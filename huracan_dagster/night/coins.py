"""What each per-coin layer does for a date's coins: the work functions `run_layer` hands them to.

`candles` and `features` run their coins in a thread pool (downloads and polars release the GIL);
`model` trains them as Ray tasks (`huracan_core.execution.ray_training`: GPU-aware cap, real timeouts,
retries) and reports each coin the moment its task ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from datetime import date
from typing import Any

from dagster import MetadataValue

from huracan_core import stages
from huracan_core.config import Settings
from huracan_core.execution.ray_training import CoinOutcome, TrainingPlan, cancel_inflight, train_coins
from huracan_core.notify.milestones import skipped_text, trained_text, training_text
from huracan_core.notify.telegram import Notifier
from huracan_dagster.context import num, pct, plain, readable
from huracan_dagster.night.layer import Check, CoinResult, threaded

GATE_CHECKS = ("sharpe", "hit_rate", "net_pnl_bps", "max_drawdown_pct", "trades", "deflated_sharpe")
METRICS = ("sharpe", "hit_rate", "net_pnl_bps", "max_drawdown_pct", "trades", "deflated_sharpe")
JOIN_BOUND_S = 30.0


def _candles(settings: Settings, day: date, symbol: str) -> CoinResult:
    report = stages.candles_stage(settings, day, symbol)
    return CoinResult(
        "done",
        readable(
            {
                "bars": report.bars_total,
                "bars_added": report.bars_added,
                "requests": report.requests,
                "gaps": len(report.gaps),
                "longest_gap_bars": report.longest_gap_bars,
                "first": plain(report.first),
                "last": plain(report.last),
                "note": MetadataValue.text(report.note) if report.note else None,
            }
        ),
    )


def candles_work(settings: Settings, day: date, symbols: list[str]) -> Iterator[tuple[str, CoinResult]]:
    """Downloads are I/O: several coins at once (fewer against a real exchange, to stay under its limits)."""
    workers = 4 if settings.market.source == "ccxt" else 8
    yield from threaded(lambda s: _candles(settings, day, s), symbols, workers)


def _features(settings: Settings, day: date, symbol: str) -> CoinResult:
    info = stages.features_stage(settings, day, symbol)
    return CoinResult(
        "done",
        readable(
            {
                "rows": info["rows"],
                "columns": info["columns"],
                "recipe_hash": info["recipe_hash"],
                "first": plain(info["first"]),
                "last": plain(info["last"]),
                "path": MetadataValue.path(info["path"]),
            }
        ),
    )


def features_work(settings: Settings, day: date, symbols: list[str]) -> Iterator[tuple[str, CoinResult]]:
    yield from threaded(lambda s: _features(settings, day, s), symbols)


def gate_checks(result: Any) -> list[Check]:
    """One check per gate of `huracan_core.gates`, so the UI shows which gate failed and by how much."""
    by_name = {c.name: c for c in result.gates.checks}
    checks = []
    for name in GATE_CHECKS:
        gate = by_name.get(name)
        if gate is None:
            checks.append(Check(f"gate_{name}", False, f"gate {name} was not evaluated"))
            continue
        shown = "missing" if gate.value is None else f"{gate.value:.4g}"
        checks.append(
            Check(
                f"gate_{name}",
                bool(gate.passed),
                f"{name} = {shown} (must be {gate.op} {gate.threshold:g})",
                readable({"value": num(gate.value), "threshold": num(gate.threshold), "op": gate.op}),
            )
        )
    return checks


def model_result(outcome: CoinOutcome, plan: TrainingPlan) -> CoinResult:
    """A Ray outcome as the coin's report: its metrics for the UI (rounded, with units), the full-precision
    outcome for the night's state, and the gate checks."""
    if outcome.status == "failed":
        return CoinResult.failed(
            outcome.error or "unknown error",
            outcome.error_type,
            attempts=outcome.attempts,
            device=plan.device,
        )
    staged = outcome.result  # stages.ModelOutcome
    result = staged.result
    entry = staged.entry()
    common = {
        "attempts": outcome.attempts,
        "device": plan.device,
        "started_at": entry.started_at,
        "ended_at": entry.ended_at,
        "wall_minutes": entry.wall_minutes,
    }
    if result.skipped_reason:
        return CoinResult(
            "skipped",
            readable({**common, "reason": result.skipped_reason, "rows": result.n_samples}),
        )
    metrics = {k: plain(result.metrics.get(k)) for k in METRICS}
    shown = {
        "sharpe": num(metrics["sharpe"]),
        "hit_rate_pct": pct(metrics["hit_rate"]),
        "net_pnl_bps": num(metrics["net_pnl_bps"]),
        "max_drawdown_pct": num(metrics["max_drawdown_pct"]),
        "trades": metrics["trades"],
        "deflated_sharpe": num(metrics["deflated_sharpe"]),
        "gates_passed": bool(result.gates.passed),
        "train_s": num(result.train_seconds, 3),
        "rows": result.n_samples,
    }
    return CoinResult(
        "done",
        readable(
            {
                **shown,
                "decision": MetadataValue.text(entry.reason or ""),
                "model_dir": MetadataValue.path(str(result.model_dir)),
                "metrics_path": entry.metrics_path,
                "metrics": MetadataValue.json({**metrics, "gates_passed": bool(result.gates.passed)}),
                **common,
            }
        ),
        checks=gate_checks(result),
    )


def train_work(
    settings: Settings, day: date, symbols: list[str], plan: TrainingPlan, notifier: Notifier
) -> Iterator[tuple[str, CoinResult]]:
    """Train the coins as Ray tasks from a background thread and yield each coin as its task ends. If the
    step is interrupted (a cancel from the UI, Ctrl-C of `huracan run`), the coins' tasks are cancelled
    (their workers killed) before the step ends."""
    if not symbols:
        return
    done: queue.Queue[CoinOutcome | BaseException | None] = queue.Queue()
    started: list[str] = []
    stop = threading.Event()

    def on_start(symbol: str, attempt: int) -> None:
        if symbol not in started:
            started.append(symbol)
            notifier.send(training_text(symbol, len(started), len(symbols)))

    def body() -> None:
        try:
            train_coins(
                settings, day, symbols, plan=plan, on_done=done.put, on_start=on_start, stop=stop.is_set
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the step, which fails with it
            done.put(exc)
        finally:
            done.put(None)

    thread = threading.Thread(target=body, name="huracan-train", daemon=True)
    thread.start()
    finished = False
    try:
        while True:
            item = done.get()
            if item is None:
                finished = True
                return
            if isinstance(item, BaseException):
                raise item
            result = model_result(item, plan)
            if result.status == "done":
                trained = item.result.result
                notifier.send(
                    trained_text(item.symbol, {**trained.metrics, "gates_passed": trained.gates.passed})
                )
            elif result.status == "skipped":
                notifier.send(skipped_text(item.symbol, item.result.result.skipped_reason))
            yield item.symbol, result
    finally:
        if not finished:
            stop.set()  # no retry, no new task
            cancel_inflight()  # this process's tasks: their workers are killed, the work really stops
        thread.join(JOIN_BOUND_S)
