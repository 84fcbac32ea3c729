"""Coin training as Ray tasks under GPU-aware limits, with real timeouts, retries and a resume ledger.

Why Ray and not threads: a thread cannot be stopped, so the original's 45-minute timeout never
stopped anything. Here each coin trains in a Ray worker process; past its timeout the task is
cancelled with `force=True`, which kills the worker, and the coin is marked failed with its error
type. Concurrency is capped twice: Ray only starts a task when its `num_cpus`/`num_gpus` are free,
and this scheduler never keeps more than `cap` tasks in flight, so timeouts are measured from a
task's real start rather than from a queue.

Modes: `sequential` (one at a time), `parallel` (as many as the cluster's resources allow), and
`hybrid` (the default: capped at `training.workers`, else 12 on GPU clusters and 2 on CPU-only).
Retries (`training.retries`, default 2) use jittered exponential backoff and are counted once, here;
Dagster does not retry the step on top of them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import ray

from huracan_core.config import Settings
from huracan_core.ledger import RunLedger
from huracan_core.logs import get_logger
from huracan_core.paths import EngineHome

log = get_logger("execution.ray")
GPU_CAP, CPU_CAP = 12, 2
TIMEOUT_ERROR = "TrainingTimeout"
# deterministic failures: a retry would fail the same way and only delay the night
NOT_RETRIED = frozenset({"StageError", "IntegrityError", "RecipeMismatchError", "LeakError", "ConfigError"})


@dataclass(frozen=True)
class TrainingPlan:
    """How the night's training runs on the cluster at hand."""

    mode: str
    cap: int
    num_cpus: float
    num_gpus: float
    device: str
    timeout_s: float
    retries: int
    backoff_s: float = 5.0

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


def ensure_ray(settings: Settings, address: str | None = None, **init_options: Any) -> dict[str, float]:
    """Join `address`, `ray.address` or `RAY_ADDRESS`, or start one embedded local Ray; once per process.

    The connection is kept for the life of the process on purpose: `huracan run` executes many runs
    in one process, and a driver that started the local cluster would take it down on disconnect.
    """
    if not ray.is_initialized():
        options = {"include_dashboard": False, "log_to_driver": False, "ignore_reinit_error": True}
        options.update(init_options)
        ray.init(address=address or settings.ray.address, **options)
    return dict(ray.cluster_resources())


def plan_training(settings: Settings, resources: dict[str, float] | None = None) -> TrainingPlan:
    """Resources per task and the concurrency cap, from the mode and the cluster's CPUs and GPUs."""
    resources = resources if resources is not None else dict(ray.cluster_resources())
    gpus = float(resources.get("GPU", 0.0))
    cpus = max(float(resources.get("CPU", 1.0)), 1.0)
    num_gpus = 1.0 if gpus >= 1 else 0.0
    num_cpus = 1.0
    capacity = int(gpus // num_gpus) if num_gpus else int(cpus // num_cpus)
    mode = settings.training.mode
    if mode == "sequential":
        cap = 1
    elif mode == "parallel":
        cap = capacity
    else:
        cap = settings.training.workers or (GPU_CAP if gpus >= 1 else CPU_CAP)
    return TrainingPlan(
        mode=mode,
        cap=max(1, min(cap, capacity)),
        num_cpus=num_cpus,
        num_gpus=num_gpus,
        device="gpu" if num_gpus else "cpu",
        timeout_s=settings.training.timeout_minutes * 60.0,
        retries=settings.training.retries,
    )


def train_one(settings: Settings, day: date, symbol: str, device: str, num_threads: int) -> Any:
    """The Ray task body: the same `model_stage` every orchestrator runs (imported in the worker)."""
    from huracan_core import stages

    return stages.model_stage(settings, day, symbol, device=device, num_threads=num_threads)


TaskFn = Callable[[Settings, date, str, str, int], Any]
QUEUE_TIMEOUT_S = 600.0  # a task that has not even started after this long is treated as timed out


def _started_marker(settings: Settings, day: date, symbol: str, attempt: int) -> Path:
    return EngineHome(settings.home).run_dir(day) / ".started" / f"{symbol}.{attempt}"


def _run_task(task: TaskFn, marker: str, settings: Settings, day: date, symbol: str, device: str,
              threads: int) -> Any:
    """Worker side: stamp the real start (the timeout counts from here, not from the queue), then train."""
    path = Path(marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(time.time()))
    return task(settings, day, symbol, device, threads)


@dataclass
class CoinOutcome:
    symbol: str
    status: str  # success | skipped | failed
    result: Any = None
    error: str | None = None
    error_type: str | None = None
    attempts: int = 0
    started: list[float] = field(default_factory=list)  # monotonic submit times, one per attempt
    ended: list[float] = field(default_factory=list)


@dataclass
class _Slot:
    symbol: str
    attempt: int
    submitted: float
    marker: Path
    started: float | None = None

    def deadline(self, timeout_s: float) -> float:
        """Timeout from the real start once the worker stamped it; a bounded queueing allowance before."""
        if self.started is None and self.marker.exists():
            self.started = time.monotonic()
        if self.started is None:
            return self.submitted + QUEUE_TIMEOUT_S + timeout_s
        return self.started + timeout_s


def _error_of(exc: BaseException) -> tuple[str, str]:
    """The original exception inside a RayTaskError (its type is the coin's error type)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    return type(exc).__name__, str(exc).strip().splitlines()[-1][:2000] if str(exc).strip() else type(exc).__name__


def train_coins(
    settings: Settings,
    day: date,
    symbols: list[str],
    *,
    plan: TrainingPlan | None = None,
    task: TaskFn = train_one,
    ledger: bool = True,
) -> dict[str, CoinOutcome]:
    """Train `symbols` on Ray; never more than `plan.cap` in flight; returns one outcome per coin."""
    plan = plan or plan_training(settings)
    remote = ray.remote(_run_task).options(num_cpus=plan.num_cpus, num_gpus=plan.num_gpus, max_retries=0)
    book = RunLedger(EngineHome(settings.home), day) if ledger else None
    outcomes = {s: CoinOutcome(s, "pending") for s in symbols}
    queue: list[tuple[float, str, int]] = [(0.0, s, 0) for s in symbols]  # (not_before, symbol, attempt)
    inflight: dict[ray.ObjectRef, _Slot] = {}
    threads = max(1, int(plan.num_cpus))

    def fail_or_retry(slot: _Slot, error_type: str, error: str) -> None:
        outcome = outcomes[slot.symbol]
        outcome.ended.append(time.monotonic())
        if slot.attempt < plan.retries and error_type not in NOT_RETRIED:
            delay = plan.backoff_s * (2**slot.attempt) * random.uniform(0.5, 1.5)
            queue.append((time.monotonic() + delay, slot.symbol, slot.attempt + 1))
            log.warning("coin training retry", symbol=slot.symbol, attempt=slot.attempt + 1, delay_s=round(delay, 2),
                        error_type=error_type, error=error)
            if book:
                book.update(slot.symbol, status="pending", retry_count=slot.attempt + 1, error=error,
                            error_type=error_type)
            return
        outcome.status, outcome.error, outcome.error_type = "failed", error, error_type
        if book:
            book.update(slot.symbol, status="failed", stage="model", error=error, error_type=error_type,
                        retry_count=slot.attempt)
        log.error("coin training failed", symbol=slot.symbol, attempts=outcome.attempts, error_type=error_type)

    while queue or inflight:
        now = time.monotonic()
        queue.sort()
        while queue and len(inflight) < plan.cap and queue[0][0] <= now:
            _, symbol, attempt = queue.pop(0)
            marker = _started_marker(settings, day, symbol, attempt)
            marker.unlink(missing_ok=True)
            ref = remote.remote(task, str(marker), settings, day, symbol, plan.device, threads)
            inflight[ref] = _Slot(symbol, attempt, time.monotonic(), marker)
            outcomes[symbol].attempts = attempt + 1
            outcomes[symbol].started.append(time.monotonic())
        waits = [slot.deadline(plan.timeout_s) - now for slot in inflight.values()]
        if queue and len(inflight) < plan.cap:
            waits.append(queue[0][0] - now)
        timeout = min(max(0.0, min(waits)) if waits else 0.0, 1.0)
        if not inflight:
            time.sleep(timeout)  # only backoff delays remain
            continue
        ready, _ = ray.wait(list(inflight), num_returns=1, timeout=timeout)
        for ref in ready:
            slot = inflight.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as exc:  # the coin failed; the others go on
                fail_or_retry(slot, *_error_of(exc))
                continue
            outcome = outcomes[slot.symbol]
            outcome.ended.append(time.monotonic())
            outcome.result = result
            outcome.status = "skipped" if getattr(result, "skipped_reason", None) else "success"
            if book and slot.attempt:
                book.update(slot.symbol, retry_count=slot.attempt)
        now = time.monotonic()
        for ref, slot in list(inflight.items()):
            if now >= slot.deadline(plan.timeout_s):
                ray.cancel(ref, force=True)  # kills the worker process: the work really stops
                inflight.pop(ref)
                minutes = plan.timeout_s / 60
                fail_or_retry(slot, TIMEOUT_ERROR, f"training exceeded the timeout of {minutes:g} min and was cancelled")
    return outcomes
