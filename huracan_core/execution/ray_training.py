"""Coin training as Ray tasks under GPU-aware limits, with real timeouts and retries.

Why Ray and not threads: a thread cannot be stopped, so the original's 45-minute timeout never
stopped anything. Here each coin trains in a Ray worker process; past its timeout the task is
cancelled with `force=True`, which kills the worker, and the coin is marked failed with its error
type. Concurrency is capped twice: Ray only starts a task when its `num_cpus`/`num_gpus` are free,
and this scheduler never keeps more than `cap` tasks in flight, so timeouts are measured from a
task's real start rather than from a queue.

Each task stamps its real start, with the Ray node id and address it runs on, in
`runs/{D}Z/.started/{SYMBOL}.{attempt}` of the engine home (JSON); a coin's outcome carries that node id.

A task that has not started within `training.start_timeout_s` (its worker could not start: a broken
runtime env, a missing interpreter, no free resources) is cancelled and fails with "Ray workers could
not start: <reason>", the reason read from Ray's own logs where the node is local; it is retried like
any failure. Workers always run the driver's interpreter: Ray's `uv run` hook is off (it re-launched
workers with `uv run` in an uploaded copy of the repo, which hung under `uv run --no-sync`), and on
the engine home's shared local head (`ray_head.py`) the job's `py_executable` is `sys.executable`.

Modes: `sequential` (one at a time), `parallel` (as many as the cluster's resources allow), and
`hybrid` (the default: capped at `training.workers`, else 12 on GPU clusters and 2 on CPU-only).
Retries (`training.retries`, default 2) use jittered exponential backoff and are counted once, here;
Dagster does not retry the step on top of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import ray

from huracan_core.config import Settings
from huracan_core.execution import ray_head
from huracan_core.logs import get_logger
from huracan_core.paths import EngineHome

log = get_logger("execution.ray")
GPU_CAP, CPU_CAP = 12, 2
TIMEOUT_ERROR = "TrainingTimeout"
START_ERROR = "RayWorkerStartError"
INTERRUPTED = "Interrupted"
START_PREFIX = "Ray workers could not start: "
CANCEL_WAIT_S = 5.0
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
    start_timeout_s: float = 180.0
    # per-task override of the job's runtime env (tests, special nodes)
    runtime_env: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


# how this process reached Ray (the model asset shows it): address, seconds, whether it started the head
CONNECTION: dict[str, Any] = {}
_JOIN_ONLY = ("num_cpus", "num_gpus", "resources", "labels", "object_store_memory", "include_dashboard")


def ensure_ray(settings: Settings, address: str | None = None, **init_options: Any) -> dict[str, float]:
    """Connect this process to Ray, once: `address`, `ray.address` or `RAY_ADDRESS` when configured,
    else the engine home's shared local head (started by the first process that needs it).

    The one place that connects. The connection is kept for the life of the process; the head outlives
    it, so the next run (or the next process) joins in well under a second instead of booting a Ray.
    Workers run the driver's interpreter however the command was launched (`uv run --frozen`,
    `uv run --no-sync`, the venv's `huracan`, Docker, `dagster dev`): no upload of the repo.
    """
    if ray.is_initialized():
        return dict(ray.cluster_resources())
    ray_head.disable_uv_hook()
    address = address or settings.ray.address or os.environ.get("RAY_ADDRESS")
    options = {"log_to_driver": False, "ignore_reinit_error": True, **init_options}
    for key in _JOIN_ONLY:  # joining an existing cluster: these belong to whoever started it
        options.pop(key, None)
    started = time.perf_counter()
    head_started = False
    if address:
        ray.init(address=address, **options)
    else:
        options.setdefault("runtime_env", {"py_executable": sys.executable})
        for attempt in (0, 1):
            head, head_started = ray_head.ensure_local_head(settings)
            ray_head.use_token(head)
            address = head.address
            try:
                ray.init(address=address, **options)
                break
            except ConnectionError:  # the head went (idle stop) between reading its record and joining
                if attempt:
                    raise
                log.warning("could not join the local Ray head: checking it again", address=address)
    seconds = time.perf_counter() - started
    CONNECTION.update(
        address=address, connect_s=round(seconds, 3), started_head=head_started, pid=os.getpid()
    )
    log.info("connected to Ray", address=address, seconds=round(seconds, 2), started_head=head_started)
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
        start_timeout_s=settings.training.start_timeout_s,
    )


def train_one(settings: Settings, day: date, symbol: str, device: str, num_threads: int) -> Any:
    """The Ray task body: the same `model_stage` every orchestrator runs (imported in the worker)."""
    from huracan_core import stages

    return stages.model_stage(settings, day, symbol, device=device, num_threads=num_threads)


TaskFn = Callable[[Settings, date, str, str, int], Any]
# this process's tasks in flight, so an interrupt (SIGTERM/SIGINT of `huracan run`) can cancel them
_INFLIGHT: set[ray.ObjectRef] = set()


def cancel_inflight() -> int:
    """Force-cancel every training task this process has in flight (kills their workers)."""
    refs = list(_INFLIGHT)
    for ref in refs:
        try:
            ray.cancel(ref, force=True)
        except Exception as exc:  # already finished, or Ray is gone: nothing left to stop
            log.warning("could not cancel a training task", error=str(exc))
    _INFLIGHT.clear()
    return len(refs)


def _started_marker(settings: Settings, day: date, symbol: str, attempt: int) -> Path:
    return EngineHome(settings.home).run_dir(day) / ".started" / f"{symbol}.{attempt}"


def _run_task(
    task: TaskFn, marker: str, settings: Settings, day: date, symbol: str, device: str, threads: int
) -> Any:
    """Worker side: stamp the real start (the timeout counts from here, not from the queue) and the node
    the task runs on, then train."""
    path = Path(marker)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp: dict[str, Any] = {"started": time.time(), "pid": os.getpid()}
    with contextlib.suppress(Exception):  # outside a Ray worker the start time is what the timeout needs
        stamp.update(node_id=ray.get_runtime_context().get_node_id(), node_ip=ray.util.get_node_ip_address())
    path.write_text(json.dumps(stamp))
    return task(settings, day, symbol, device, threads)


def _node_of(marker: Path) -> str | None:
    """The Ray node id a task stamped in its start marker (None when it never started or did not say)."""
    try:
        return json.loads(marker.read_text()).get("node_id")
    except (OSError, ValueError, AttributeError):
        return None


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
    node_id: str | None = None  # the Ray node the successful attempt ran on


@dataclass
class _Slot:
    symbol: str
    attempt: int
    submitted: float
    marker: Path
    started: float | None = None

    def deadline(self, plan: TrainingPlan) -> float:
        """Timeout from the real start once the worker stamped it; the start timeout before that."""
        if self.started is None and self.marker.exists():
            self.started = time.monotonic()
        if self.started is None:
            return self.submitted + plan.start_timeout_s
        return self.started + plan.timeout_s


class _RayLogs:
    """What Ray's local logs said since training began: why a worker never started (its stderr lands
    in raylet.err before it can redirect; the raylet and runtime-env agent log the rest). Empty when
    the node is remote (Ray client) and its logs are not on this machine."""

    FILES = ("raylet.err", "raylet.out", "runtime_env_agent.log")
    PATTERNS = (
        "not registered within the timeout",
        "crashed during start",
        "Failed to",
        "failed to",
        "No such file",
        "Error",
        "error:",
        "not found",
        "Permission denied",
    )

    def __init__(self) -> None:
        self.folder: Path | None = None
        self.offsets: dict[str, int] = {}
        try:
            node = ray._private.worker._global_node
            if node is not None:
                self.folder = Path(node.get_session_dir_path()) / "logs"
        except Exception:  # a client-mode driver has no local node
            self.folder = None
        for path in self._files():
            self.offsets[path.name] = path.stat().st_size

    def _files(self) -> list[Path]:
        if self.folder is None or not self.folder.is_dir():
            return []
        named = [self.folder / n for n in self.FILES if (self.folder / n).is_file()]
        return named + sorted(self.folder.glob("runtime_env_setup-*.log"))

    def reason(self) -> str | None:
        found: list[str] = []
        for path in self._files():
            try:
                with open(path, "rb") as fh:
                    start = self.offsets.get(path.name, 0)
                    fh.seek(max(start, path.stat().st_size - 65536))
                    text = fh.read().decode(errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                line = line.strip()
                if line and (path.name == "raylet.err" or any(p in line for p in self.PATTERNS)):
                    found.append(f"{line[:300]} ({path.name})")
        unique = list(dict.fromkeys(found))
        return "; ".join(unique[-3:]) if unique else None


def _resources_text(plan: TrainingPlan) -> str:
    try:
        total, free = ray.cluster_resources(), ray.available_resources()
    except Exception as exc:
        return f"cluster resources unknown ({exc})"
    need = f"CPU {plan.num_cpus:g}" + (f", GPU {plan.num_gpus:g}" if plan.num_gpus else "")

    def show(res: dict) -> str:
        return ", ".join(f"{k} {res.get(k, 0.0):g}" for k in ("CPU", "GPU") if k in total)

    return f"the task needs {need}; cluster resources free: {show(free)} of {show(total)}"


def _start_failure(plan: TrainingPlan, logs: _RayLogs, waited_s: float) -> str:
    """ "Ray workers could not start: <what Ray logged>; no worker started within N s; <resources>"."""
    parts = [
        p for p in (logs.reason(), f"no worker started within {waited_s:.0f} s", _resources_text(plan)) if p
    ]
    return START_PREFIX + "; ".join(parts)


# Ray's own failures to bring a worker up surface as these exceptions when the task is collected
_START_EXCEPTIONS = (
    "RuntimeEnvSetupError",
    "WorkerCrashedError",
    "LocalRayletDiedError",
    "RaySystemError",
    "NodeDiedError",
)


def _error_of(exc: BaseException) -> tuple[str, str]:
    """The original exception inside a RayTaskError (its type is the coin's error type)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        exc = cause
    return type(exc).__name__, str(exc).strip().splitlines()[-1][:2000] if str(exc).strip() else type(
        exc
    ).__name__


def train_coins(
    settings: Settings,
    day: date,
    symbols: list[str],
    *,
    plan: TrainingPlan | None = None,
    task: TaskFn = train_one,
    on_done: Callable[[CoinOutcome], None] | None = None,
    on_start: Callable[[str, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict[str, CoinOutcome]:
    """Train `symbols` on Ray; never more than `plan.cap` in flight; returns one outcome per coin.
    `on_done` is called (in this thread) with each coin's final outcome as soon as it is known, so the
    caller can report the coin before the others finish; `on_start(symbol, attempt)` when its task really
    started on a worker. When `stop()` turns true (the step was interrupted) the tasks in flight are
    cancelled and every coin not finished is failed as interrupted, without retries."""
    plan = plan or plan_training(settings)
    task_options: dict[str, Any] = {"num_cpus": plan.num_cpus, "num_gpus": plan.num_gpus, "max_retries": 0}
    if plan.runtime_env is not None:
        task_options["runtime_env"] = plan.runtime_env
    remote = ray.remote(_run_task).options(**task_options)
    logs = _RayLogs()
    outcomes = {s: CoinOutcome(s, "pending") for s in symbols}
    queue: list[tuple[float, str, int]] = [(0.0, s, 0) for s in symbols]  # (not_before, symbol, attempt)
    inflight: dict[ray.ObjectRef, _Slot] = {}
    threads = max(1, int(plan.num_cpus))
    announced: set[tuple[str, int]] = set()

    def fail_or_retry(slot: _Slot, error_type: str, error: str) -> None:
        outcome = outcomes[slot.symbol]
        outcome.ended.append(time.monotonic())
        if (
            slot.attempt < plan.retries
            and error_type not in NOT_RETRIED
            and not (stop is not None and stop())
        ):
            delay = plan.backoff_s * (2**slot.attempt) * random.uniform(0.5, 1.5)
            queue.append((time.monotonic() + delay, slot.symbol, slot.attempt + 1))
            log.warning(
                "coin training retry",
                symbol=slot.symbol,
                attempt=slot.attempt + 1,
                delay_s=round(delay, 2),
                error_type=error_type,
                error=error,
            )
            return
        outcome.status, outcome.error, outcome.error_type = "failed", error, error_type
        if on_done:
            on_done(outcome)
        log.error(
            "coin training failed", symbol=slot.symbol, attempts=outcome.attempts, error_type=error_type
        )

    while queue or inflight:
        if stop is not None and stop():
            for ref, slot in list(inflight.items()):
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)
                _INFLIGHT.discard(ref)
                outcomes[slot.symbol].status = "failed"
                outcomes[slot.symbol].error_type, outcomes[slot.symbol].error = INTERRUPTED, "interrupted"
            for _, symbol, _ in queue:
                outcomes[symbol].status = "failed"
                outcomes[symbol].error_type, outcomes[symbol].error = INTERRUPTED, "interrupted"
            return outcomes
        now = time.monotonic()
        queue.sort()
        while queue and len(inflight) < plan.cap and queue[0][0] <= now:
            _, symbol, attempt = queue.pop(0)
            marker = _started_marker(settings, day, symbol, attempt)
            marker.unlink(missing_ok=True)
            ref = remote.remote(task, str(marker), settings, day, symbol, plan.device, threads)
            inflight[ref] = _Slot(symbol, attempt, time.monotonic(), marker)
            _INFLIGHT.add(ref)
            outcomes[symbol].attempts = attempt + 1
            outcomes[symbol].started.append(time.monotonic())
        for slot in inflight.values():
            slot.deadline(plan)  # notes the real start once the worker stamped it
            if slot.started is not None and on_start and (slot.symbol, slot.attempt) not in announced:
                announced.add((slot.symbol, slot.attempt))
                on_start(slot.symbol, slot.attempt)
        waits = [slot.deadline(plan) - now for slot in inflight.values()]
        if queue and len(inflight) < plan.cap:
            waits.append(queue[0][0] - now)
        timeout = min(max(0.0, min(waits)) if waits else 0.0, 1.0)
        if not inflight:
            time.sleep(timeout)  # only backoff delays remain
            continue
        ready, _ = ray.wait(list(inflight), num_returns=1, timeout=timeout)
        for ref in ready:
            slot = inflight.pop(ref)
            _INFLIGHT.discard(ref)
            if on_start and slot.marker.exists() and (slot.symbol, slot.attempt) not in announced:
                announced.add((slot.symbol, slot.attempt))  # it started and ended between two looks
                on_start(slot.symbol, slot.attempt)
            try:
                result = ray.get(ref, timeout=60)  # ready: returns at once; the bound is for a lost object
            except Exception as exc:  # the coin failed; the others go on
                error_type, error = _error_of(exc)
                never_started = slot.started is None and not slot.marker.exists()
                if error_type in _START_EXCEPTIONS and never_started:
                    error_type, error = START_ERROR, START_PREFIX + f"{type(exc).__name__}: {error}"
                fail_or_retry(slot, error_type, error)
                continue
            outcome = outcomes[slot.symbol]
            outcome.ended.append(time.monotonic())
            outcome.result = result
            outcome.status = "skipped" if getattr(result, "skipped_reason", None) else "success"
            outcome.node_id = _node_of(slot.marker)
            if on_done:
                on_done(outcome)
        now = time.monotonic()
        for ref, slot in list(inflight.items()):
            if now >= slot.deadline(plan):
                ray.cancel(ref, force=True)  # kills the worker process: the work really stops
                ray.wait([ref], timeout=CANCEL_WAIT_S)  # the kill is asynchronous: let it land (bounded)
                inflight.pop(ref)
                _INFLIGHT.discard(ref)
                if slot.started is None:
                    error = _start_failure(plan, logs, now - slot.submitted)
                    log.error("Ray workers could not start", symbol=slot.symbol, error=error)
                    fail_or_retry(slot, START_ERROR, error)
                    continue
                minutes = plan.timeout_s / 60
                fail_or_retry(
                    slot, TIMEOUT_ERROR, f"training exceeded the timeout of {minutes:g} min and was cancelled"
                )
    return outcomes
