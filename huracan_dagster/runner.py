"""`huracan run`: drive one date through the whole graph from a terminal, through Dagster.

Every step executes as a real Dagster run recorded in the instance under `DAGSTER_HOME`, so
`dagster dev` shows them afterwards with lineage, metadata and checks. The order comes from the same
planner the daemon's sensors use; the runs execute in this process one after another (the model
step hands its training to the configured executor).
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

from dagster import DagsterInstance, ExecuteInProcessResult, MultiPartitionKey, RunsFilter

from huracan_core.config import Settings
from huracan_core.ledger import CoinEntry, RunLedger
from huracan_core.logs import get_logger
from huracan_core.paths import EngineHome
from huracan_dagster.defs.pipeline.plan import (
    IN_FLIGHT,
    STEP_BY_NAME,
    STEPS,
    TAG_DATE,
    TAG_STEP,
    DayState,
    StepRequest,
    day_state,
    latest_generation,
    next_steps,
)
from huracan_dagster.partitions import symbols as symbols_partitions

log = get_logger("dagster.runner")
TAG_HOST = "huracan/host"
TAG_PID = "huracan/pid"
TAG_TRIGGER = "huracan/trigger"
TRIGGER_CLI = "cli"  # a universe materialised by `huracan run`, which carries the night itself
TRIGGER_NIGHT = "night"  # ... by a night run (the nightly schedule's), which carries the night itself
WAIT_POLL_S = 2.0  # how often a night waiting on steps run elsewhere looks again
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
LOCAL_INSTANCE_YAML = """\
# Local Dagster instance written by `huracan run` (embedded profile): SQLite storage in this folder.
# Point `dagster dev` here with DAGSTER_HOME to see the runs. Production uses the repo's dagster.yaml.
telemetry:
  enabled: false
# Dagster's SQLite storage (runs, event logs, schedules under this folder), with each run's event-log
# file stamped from a schema-revision map read once per process rather than once per run
storage:
  custom:
    module: huracan_dagster.embedded_instance
    class: EmbeddedSqliteStorage
    config:
      base_dir:
        env: DAGSTER_HOME
# each step's stdout/stderr captured to files under storage/ (shown in the UI), not mirrored back
# through `tail` processes to a terminal the night's coin workers do not have
compute_logs:
  module: huracan_dagster.embedded_instance
  class: FileComputeLogManager
  config: {}
run_monitoring:
  enabled: true
  max_runtime_seconds: 7200
  free_slots_after_run_end_seconds: 30
run_retries:
  enabled: true
  max_retries: 0
# the chain moves one step per sensor tick and run dequeue: keep both short so a night under the
# daemon is not mostly waiting (each run still starts its own process)
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
    dequeue_use_threads: true
    dequeue_num_workers: 4
concurrency:
  runs:
    max_concurrent_runs: 4
sensors:
  use_threads: true
  num_submit_workers: 4
backfills:
  use_threads: true
  num_submit_workers: 4
"""


class RunFailed(Exception):
    """A daily step of the night failed; the message carries Dagster's error."""


@dataclass
class StepOutcome:
    step: str
    partition_key: str
    success: bool
    seconds: float
    error: str | None = None


@dataclass
class DayReport:
    day: date
    generation: str | None
    coins: dict[str, CoinEntry]
    steps: list[StepOutcome] = field(default_factory=list)
    roster_path: Path | None = None
    wall_seconds: float = 0.0
    skipped_complete: bool = False

    @property
    def failed_coins(self) -> list[str]:
        return [s for s, e in self.coins.items() if e.status == "failed"]

    @property
    def failed_daily_steps(self) -> list[StepOutcome]:
        return [s for s in self.steps if not s.success and "|" not in s.partition_key]


def ensure_dagster_home(settings: Settings) -> Path:
    """Use `DAGSTER_HOME` when set; otherwise a local instance inside the engine home."""
    if os.environ.get("DAGSTER_HOME"):
        path = Path(os.environ["DAGSTER_HOME"])
        path.mkdir(parents=True, exist_ok=True)
        return path
    path = (Path(settings.home) / "dagster").resolve()
    path.mkdir(parents=True, exist_ok=True)
    config = path / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(path)
    return path


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def carried_by_live_process(instance: DagsterInstance, generation: str) -> bool:
    """The generation's universe was materialised by a process on this host that carries the night
    itself (`huracan run`, or the nightly schedule's night run) and is still alive."""
    run = instance.get_run_by_id(generation)
    tags = run.tags if run is not None else {}
    return (
        tags.get(TAG_TRIGGER) in (TRIGGER_CLI, TRIGGER_NIGHT)
        and tags.get(TAG_HOST) == socket.gethostname()
        and tags.get(TAG_PID, "").isdigit()
        and pid_alive(int(tags[TAG_PID]))
    )


def reap_orphans(instance: DagsterInstance, day: date) -> list[str]:
    """Mark failed the runs of `day` that a `huracan run` process on this host started and that died
    with it (kill -9, power loss): without a daemon nothing else would, and the planner would wait on
    them forever. Returns the reaped run ids."""
    reaped = []
    host = socket.gethostname()
    records = instance.get_run_records(RunsFilter(tags={TAG_DATE: day.isoformat()}, statuses=list(IN_FLIGHT)))
    for record in records:
        tags = record.dagster_run.tags
        if tags.get(TAG_HOST) != host or not tags.get(TAG_PID, "").isdigit():
            continue
        if not pid_alive(int(tags[TAG_PID])):
            instance.report_run_failed(
                record.dagster_run, f"process {tags[TAG_PID]} died before the run ended"
            )
            reaped.append(record.dagster_run.run_id)
    return reaped


def _error_of(result: ExecuteInProcessResult) -> str | None:
    """The first step failure's message (Dagster wraps it; the last line is the original error)."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause is not None:  # Dagster wraps the user error: report the original
                error = error.cause
            return error.message.strip()[:500]
    failures = [e.message for e in result.all_events if e.is_run_failure and e.message]
    return failures[0] if failures else None


def _partition(step: StepRequest) -> str | MultiPartitionKey:
    if step.symbol is None:
        return step.partition_key
    day, symbol = step.partition_key.split("|")
    return MultiPartitionKey({"date": day, "symbol": symbol})


def execute(instance: DagsterInstance, step: StepRequest, run_config: dict | None = None) -> StepOutcome:
    from huracan_dagster.definitions import defs

    job = defs.resolve_job_def(step.job)
    started = time.perf_counter()
    result = job.execute_in_process(
        partition_key=_partition(step),  # type: ignore[arg-type]
        instance=instance,
        tags={**step.tags, TAG_HOST: socket.gethostname(), TAG_PID: str(os.getpid())},
        run_config={**QUIET_RUN_CONFIG, **(run_config or {})},
        raise_on_error=False,
    )
    return StepOutcome(
        step.step,
        step.partition_key,
        result.success,
        time.perf_counter() - started,
        None if result.success else _error_of(result),
    )


def _pool_execute(step: dict) -> StepOutcome:
    """Worker-process side of `CoinPool`: one Dagster run against the shared instance."""
    return execute(DagsterInstance.get(), StepRequest(**step))


class CoinPool:
    """Per-coin runs of one step, `workers` at a time, in persistent worker processes.

    Why processes: Dagster's in-process execution is not thread-safe, and separate processes let
    several coins' runs (and their Ray training tasks) proceed together. The workers inherit
    DAGSTER_HOME and the settings, so they share this instance and the engine home's Ray head.
    A night keeps two pools: training steps go to `cap` workers (the Ray cap; each worker is one Ray
    driver whose Ray worker processes stay warm from coin to coin: spread over more drivers, Ray keeps
    killing and starting workers, 10-15 s per coin), the cheap per-coin steps to `io_workers()`.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def run(self, steps: list[StepRequest], done: Callable[[StepOutcome], None]) -> list[StepOutcome]:
        if self.workers <= 1 or len(steps) <= 1:
            outcomes = []
            for step in steps:
                outcomes.append(execute(DagsterInstance.get(), step))
                done(outcomes[-1])
            return outcomes
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=_worker_context(),
                initializer=_adopt_env,
                initargs=(dict(os.environ),),
            )
        futures: list[Future[StepOutcome]] = [self._pool.submit(_pool_execute, asdict(s)) for s in steps]
        outcomes = []
        for future in as_completed(futures):
            outcomes.append(future.result())
            done(outcomes[-1])
        return outcomes

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


_FORKSERVER_ENV: dict[str, str] | None = None  # the engine's environment when the forkserver started


def _engine_env() -> dict[str, str]:
    """The settings the preloaded code location reads at import. Not RAY_*: joining the engine home's
    Ray head sets its token variables in this process after the forkserver started, workers adopt them
    (`_adopt_env`), and nothing reads them at import."""
    return {k: v for k, v in os.environ.items() if k.startswith(("HURACAN_", "DAGSTER_"))}


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a forkserver that imported the code location once (a spawned worker imports
    Dagster and the definitions itself, ~3 s of CPU each, six of them at a night's start). The
    forkserver is a fresh interpreter: no threads, no open storage connections to inherit. It keeps
    the environment it started with, so a process whose engine settings changed since (tests, one
    process carrying nights of two engine homes) spawns instead."""
    global _FORKSERVER_ENV
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    if _FORKSERVER_ENV is None:
        _FORKSERVER_ENV = _engine_env()
        # the code location, and the storage classes a worker's `DagsterInstance.get()` would import
        context.set_forkserver_preload(
            ["huracan_dagster.definitions", "huracan_dagster.runner", "huracan_dagster.embedded_instance"]
        )
    return context if _engine_env() == _FORKSERVER_ENV else multiprocessing.get_context("spawn")


def _prestart_forkserver() -> None:
    """Start the workers' forkserver now: it imports the code location (~1.5 s) while this process runs
    the universe and reads the day's state, instead of when the first per-coin steps are due. Idempotent."""
    context = _worker_context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _adopt_env(env: dict[str, str]) -> None:
    """Worker initializer: the parent's environment as it is now (a forked worker has the forkserver's)."""
    os.environ.clear()
    os.environ.update(env)


def io_workers() -> int:
    """Workers for the cheap per-coin steps (candles, features): such a run is mostly Dagster's
    bookkeeping, much of it waiting on the instance's storage, so two per core keep the cores busy
    (at most 8: each holds ~0.5 GB of imports)."""
    return min(2 * (os.cpu_count() or 1), 8)


def _training_steps() -> set[str]:
    """Steps whose assets train on Ray (they take the `ray_cluster` resource): held to the Ray cap."""
    from huracan_dagster.graph import ASSETS

    ray_assets = {
        key.to_user_string() for a in ASSETS if "ray_cluster" in a.required_resource_keys for key in a.keys
    }
    return {s.name for s in STEPS if ray_assets & set(s.assets)}


def _claim_pools(instance: DagsterInstance) -> None:
    """Create the concurrency rows of the assets' pools (`train`) before runs claim them at once: on
    a fresh PostgreSQL instance, Dagster 1.13's concurrent first claims race to insert the row and the
    loser's run dies (UniqueViolation inside an aborted transaction)."""
    from huracan_dagster.graph import ASSETS

    for pool in sorted({a.op.pool for a in ASSETS if getattr(a.op, "pool", None)}):
        try:
            instance.event_log_storage.initialize_concurrency_limit_to_default(pool)
        except Exception as exc:  # storage without concurrency tables: runs claim nothing either
            log.warning("could not initialise a concurrency pool", pool=pool, error=str(exc))


def _warm_ray_head(settings: Settings) -> threading.Thread | None:
    """Start the engine home's local Ray head in the background while the first steps run (a cold
    start takes 9-30 s), unless a cluster is configured; `_start_ray` joins it when training begins
    and reports any failure then. The caller joins the thread before it returns, so a head is never
    left half-started."""
    if settings.ray.address or os.environ.get("RAY_ADDRESS"):
        return None
    from huracan_core.execution import ray_head

    def start() -> None:
        try:
            ray_head.ensure_local_head(settings)
        except Exception as exc:  # `_start_ray` tries again and fails the night with the reason
            log.warning("could not start the local Ray head in the background", error=str(exc))

    thread = threading.Thread(target=start, name="huracan-ray-head", daemon=True)
    thread.start()
    return thread


def _start_ray(settings: Settings) -> int:
    """Join the configured cluster or the engine home's shared local head (started once, kept between
    commands; the coin workers join the same one through `ensure_ray`); returns the coin cap."""
    from huracan_core.execution.ray_training import ensure_ray, plan_training

    return plan_training(settings, ensure_ray(settings)).cap


def materialise_universe(
    instance: DagsterInstance, day: date, requested: dict[str, object], trigger: str
) -> StepOutcome:
    """The day's `universe` as its own Dagster run in this process: a new generation of the day.
    `trigger` says which process carries the night from here (`huracan run` or a night run); while that
    process lives, `chain_sensor` starts no night of its own for the day. That process's coin workers
    start importing the code location meanwhile."""
    _prestart_forkserver()
    step = StepRequest(
        STEPS[0].name,
        STEPS[0].job,
        day.isoformat(),
        None,
        "",
        {TAG_DATE: day.isoformat(), TAG_STEP: f"universe:{day.isoformat()}", TAG_TRIGGER: trigger},
    )
    return execute(instance, step, {"ops": {"universe": {"config": requested}}})


def run_day(
    settings: Settings,
    day: date,
    *,
    symbols: list[str] | None = None,
    top_n: int | None = None,
    force: bool = False,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> DayReport:
    """Materialise the whole graph for `day`. Completed steps are skipped unless `force`."""
    ensure_dagster_home(settings)
    started = time.perf_counter()
    instance = DagsterInstance.get()
    reap_orphans(instance, day)
    report = DayReport(day, None, {})
    requested = {"symbols": symbols, "top_n": top_n}
    gen = latest_generation(instance, day)
    explicit = symbols is not None or top_n is not None
    if force or gen is None or (explicit and gen.requested != requested):
        outcome = materialise_universe(instance, day, requested, TRIGGER_CLI)
        report.steps.append(outcome)
        if not outcome.success:
            raise RunFailed(f"universe for {day} failed: {outcome.error}")
    carry_day(instance, settings, day, report, on_progress=on_progress)
    report.wall_seconds = time.perf_counter() - started
    return report


def carry_day(
    instance: DagsterInstance,
    settings: Settings,
    day: date,
    report: DayReport | None = None,
    *,
    on_progress: Callable[[str, int, int], None] | None = None,
    deferred: Callable[[], set[tuple[str, str]]] | None = None,
    wait_limit_s: float = 0.0,
) -> DayReport:
    """Run every step of `day`'s latest generation that is due, in the planner's order, until none is.

    Day-level steps run in this process, per-coin steps in the `CoinPool`; each is its own Dagster run.
    `deferred` names the (asset, partition key) pairs someone else will run (a UI backfill): those steps
    are left alone, and while any of them, or any run of the day started elsewhere, is still pending this
    waits for it (at most `wait_limit_s` without progress) rather than ending with the day unfinished.
    """
    report = report if report is not None else DayReport(day, None, {})
    gen = latest_generation(instance, day)
    if gen is None:
        raise RunFailed(f"{day} has no universe yet: materialise `universe` for that date first")
    report.generation = gen.run_id
    known = set(instance.get_dynamic_partitions(symbols_partitions.name))
    new = [s for s in gen.symbols if s not in known]
    if new:
        instance.add_dynamic_partitions(symbols_partitions.name, new)

    n = len(gen.symbols)
    total = sum(n if s.per_coin else 1 for s in STEPS[1:])
    attempted: set[str] = set()
    state = day_state(instance, day)
    report.skipped_complete = state.finished()
    if not report.skipped_complete:
        _prestart_forkserver()
    pools: dict[bool, CoinPool] = {}  # by "trains on Ray"
    training = _training_steps()
    warming = None if report.skipped_complete else _warm_ray_head(settings)
    progress = {"done": sum(len(v) for v in state.done.values()) + sum(len(v) for v in state.failed.values())}

    def record(outcome: StepOutcome) -> None:
        report.steps.append(outcome)
        progress["done"] += 1
        if on_progress:
            on_progress(
                f"{outcome.step} {outcome.partition_key.split('|')[-1]}", min(progress["done"], total), total
            )

    waiting_since: float | None = None
    try:
        while True:
            others = deferred() if deferred is not None else set()
            steps = [
                s
                for s in next_steps(
                    state, attempted=attempted, skip_started=False, training=settings.training
                )
                if not others & {(a, s.partition_key) for a in STEP_BY_NAME[s.step].assets}
            ]
            if not steps:
                if deferred is None or not _pending_elsewhere(state, others):
                    break
                waiting_since = waiting_since or time.monotonic()
                if time.monotonic() - waiting_since > wait_limit_s:
                    raise RunFailed(
                        f"{day}: waited {wait_limit_s:.0f} s for steps run elsewhere (a backfill, another "
                        "process) without progress; they are still pending"
                    )
                time.sleep(WAIT_POLL_S)
                state = day_state(instance, day)
                continue
            waiting_since = None
            attempted.update(f"{s.step}:{s.partition_key}" for s in steps)
            for step in steps:
                if step.symbol is None:
                    record(execute(instance, step))
            for trains in (False, True):
                batch = [s for s in steps if s.symbol is not None and (s.step in training) == trains]
                if not batch:
                    continue
                if trains not in pools:
                    if trains:
                        _claim_pools(instance)
                    pools[trains] = CoinPool(_start_ray(settings) if trains else io_workers())
                pools[trains].run(batch, record)
            state = day_state(instance, day)
    finally:
        for pool in pools.values():
            pool.close()
        if warming is not None:
            warming.join(settings.ray.head_start_timeout_s + 10)
    if on_progress:
        on_progress("done", total, total)
    home = EngineHome(Path(settings.home))
    report.coins = RunLedger(home, day).entries()
    report.roster_path = home.roster_on(day) if home.roster_on(day).is_file() else None
    return report


def _pending_elsewhere(state: DayState, others: set[tuple[str, str]]) -> bool:
    """A step of the day that is in flight in another process, or that `others` will run and is not
    terminal yet: its outcome may still make more steps due."""
    if any(state.in_flight.values()):
        return True
    return any(
        not state.terminal(step.name, key)
        for step in state.steps[1:]
        for key in state.keys(step)
        if others & {(a, key) for a in step.assets}
    )
