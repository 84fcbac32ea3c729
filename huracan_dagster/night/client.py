"""`huracan run`: a thin client of the same definitions the daemon runs.

It materialises the date's layers in graph order, each as one run in this process (one run per unbroken
block of coins for a per-coin layer), recorded in the instance under `DAGSTER_HOME` with the origin the UI
needs to re-execute them. The same rules decide what each run does as under the daemon
(`huracan_dagster.night.layer.plan_coins`, `night.days`): a rerun without `--force` redoes exactly the
coins that failed (or whose outputs no longer verify) and what depends on them, and keeps the rest.

One `huracan run` at a time per engine home: a second one waits for the first (bounded, saying who holds
it), then refuses. A run this command left in flight when it was killed is marked failed by the next one
(it holds the engine home's lock, so no live process is still carrying that run).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, RunsFilter

from huracan_core.config import Settings
from huracan_core.ledger import CoinEntry
from huracan_core.logs import get_logger
from huracan_core.paths import EngineHome
from huracan_dagster.graph import LAYERS
from huracan_dagster.night.days import day_due
from huracan_dagster.night.launch import RunOutcome, execute
from huracan_dagster.night.layer import plan_coins
from huracan_dagster.night.state import (
    IN_FLIGHT,
    TAG_FORCE,
    TAG_TRIGGER,
    Generation,
    day_done,
    generation,
    symbol_order,
    write_status,
)
from huracan_dagster.partitions import block_tags, ranges

log = get_logger("dagster.night")
TAG_DATE = "huracan/date"
TAG_PID = "huracan/pid"
LAYER_TAG = "huracan/step"  # one run of this `huracan run`: "<assets> <date>:<n>", for its progress bar
TRIGGER_CLI = "cli"
POLL_S = 0.5
LOCAL_INSTANCE_YAML = """\
# Local Dagster instance written by `huracan run` (embedded profile): Dagster's SQLite storage in this
# folder. Point `dagster dev` here with DAGSTER_HOME to see the runs. Production uses the repo's dagster.yaml.
telemetry:
  enabled: false
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  max_runtime_seconds: 14400
  poll_interval_seconds: 30
  free_slots_after_run_end_seconds: 30
run_retries:
  enabled: true
  max_retries: 0
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    dequeue_interval_seconds: 1
concurrency:
  runs:
    max_concurrent_runs: 4
  pools:
    # the `train` pool: one model run at a time (it fans its coins out on Ray, which caps them itself)
    default_limit: 1
"""


class NightError(Exception):
    """The night cannot go on: a day-level step failed, or another command holds the engine home."""


class NightInterrupted(Exception):
    """A signal stopped the night; `exit_code` is what a shell reports for it (143 SIGTERM, 130 SIGINT)."""

    def __init__(self, signal_name: str, message: str) -> None:
        super().__init__(message)
        self.exit_code = 143 if signal_name == "SIGTERM" else 130


@dataclass
class LayerRun:
    assets: tuple[str, ...]
    label: str
    outcome: RunOutcome
    coins: list[str] = field(default_factory=list)


@dataclass
class NightReport:
    day: date
    coins: dict[str, CoinEntry] = field(default_factory=dict)
    runs: list[LayerRun] = field(default_factory=list)
    reran: dict[str, list[str]] = field(default_factory=dict)  # layer -> coins it (re)did
    replaced: str | None = None
    roster_path: Path | None = None
    wall_seconds: float = 0.0

    @property
    def nothing_done(self) -> bool:
        """No step redone (a universe run that found the same selection changed nothing)."""
        return not self.reran

    @property
    def failed_coins(self) -> list[str]:
        return [s for s, e in self.coins.items() if e.status == "failed"]

    @property
    def failed_runs(self) -> list[LayerRun]:
        return [r for r in self.runs if not r.outcome.success]


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


@contextmanager
def engine_home_lock(
    settings: Settings, day: date, wait_s: float, say: Callable[[str], None]
) -> Iterator[None]:
    """Hold the engine home for one `huracan run`; wait at most `wait_s` for another, then refuse."""
    path = EngineHome(Path(settings.home)).root / ".huracan-run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another huracan run"
                if time.monotonic() >= deadline:
                    raise NightError(
                        f"the engine home {settings.home} is in use by {holder}; waited {wait_s:.0f} s "
                        "(run again when it has finished)"
                    ) from None
                if not told:
                    say(f"waiting for {holder} to finish (at most {wait_s:.0f} s)")
                    told = True
                time.sleep(0.5)
        fh.seek(0)
        fh.truncate()
        fh.write(
            f"huracan run --date {day} (pid {os.getpid()}, since {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC)"
        )
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)


def fail_orphans(instance: DagsterInstance, day: date) -> list[str]:
    """Runs of `day` that a `huracan run` left in flight when it was killed. Called with the engine home's
    lock held: the process that started them is gone, so they are marked failed (under the daemon, dead
    runs are Dagster's run monitoring's to find)."""
    records = instance.get_run_records(
        RunsFilter(tags={TAG_DATE: day.isoformat(), TAG_TRIGGER: TRIGGER_CLI}, statuses=list(IN_FLIGHT))
    )
    failed = []
    for record in records:
        if record.dagster_run.tags.get(TAG_PID) == str(os.getpid()):
            continue
        instance.report_run_failed(
            record.dagster_run, "the huracan run that carried this run ended before it"
        )
        failed.append(record.dagster_run.run_id)
    return failed


def _same_selection(gen: Generation, requested: dict) -> bool:
    """The request selects the night that stands: the same coins pinned (in any order), or the same
    request as the one that selected it."""
    if requested["symbols"] and set(requested["symbols"]) == set(gen.symbols):
        return True
    old = gen.requested or {}
    pins = sorted(old.get("symbols") or []) or None
    return (
        pins == (sorted(requested["symbols"]) if requested["symbols"] else None)
        and old.get("top_n") == requested["top_n"]
    )


class _Progress:
    """Count the coins a run has reported so far (its materialisations and observations), for the bar."""

    def __init__(
        self, instance: DagsterInstance, on_progress: Callable[[str, int, int], None] | None
    ) -> None:
        self.instance = instance
        self.on_progress = on_progress
        self.done = 0
        self.total = 0

    @contextmanager
    def following(self, label: str, expected: int) -> Iterator[None]:
        if self.on_progress is None:
            yield
            return
        stop = threading.Event()
        base = self.done
        self.on_progress(label.split(":")[0], self.done, self.total)

        def watch() -> None:
            while not stop.wait(POLL_S):
                count = 0
                for run in self.instance.get_runs(RunsFilter(tags={LAYER_TAG: label}), limit=2):
                    for kind in (DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION):
                        count += len(self.instance.all_logs(run.run_id, of_type=kind))
                self.on_progress(label.split(":")[0], base + min(count, expected), self.total)

        thread = threading.Thread(target=watch, name="huracan-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(5)
            self.done = base + expected
            self.on_progress(label.split(":")[0], self.done, self.total)


def _warm_ray_head(settings: Settings) -> threading.Thread | None:
    """Start the engine home's local Ray head in the background while the first layers run (a cold
    start takes 10-30 s), unless a cluster is configured; the model run joins it, and fails with the
    reason if it could not start."""
    if settings.ray.address or os.environ.get("RAY_ADDRESS"):
        return None
    from huracan_core.execution import ray_head

    def start() -> None:
        try:
            ray_head.ensure_local_head(settings)
        except Exception as exc:  # noqa: BLE001 - the model run tries again and fails with the reason
            log.warning("could not start the local Ray head in the background", error=str(exc))

    thread = threading.Thread(target=start, name="huracan-ray-head", daemon=True)
    thread.start()
    return thread


def run_night(
    settings: Settings,
    day: date,
    *,
    symbols: list[str] | None = None,
    top_n: int | None = None,
    force: bool = False,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> NightReport:
    """Materialise the date's layers in order; completed coins and days are kept unless `force`."""
    started = time.perf_counter()
    instance = DagsterInstance.get()
    report = NightReport(day)
    fail_orphans(instance, day)
    base_tags = {TAG_DATE: day.isoformat(), TAG_TRIGGER: TRIGGER_CLI, TAG_PID: str(os.getpid())}
    if force:
        base_tags[TAG_FORCE] = "true"
    requested = {"symbols": symbols, "top_n": top_n}
    gen = generation(instance, day)
    explicit = symbols is not None or top_n is not None
    progress = _Progress(instance, on_progress)

    def run(
        assets: tuple[str, ...], tags: dict[str, str], coins: list[str], config: dict | None = None
    ) -> RunOutcome:
        label = f"{'+'.join(assets)} {day}"
        layer_tags = {**base_tags, **tags, LAYER_TAG: f"{label}:{len(report.runs)}"}
        with progress.following(layer_tags[LAYER_TAG], max(len(coins), 1)):
            outcome = execute(instance, assets, tags=layer_tags, run_config=config)
        report.runs.append(LayerRun(assets, label, outcome, coins))
        if outcome.interrupted:
            raise NightInterrupted(
                outcome.interrupted,
                f"{label}: interrupted by {outcome.interrupted} (run {outcome.run_id[:8]} failed, its coins "
                "marked interrupted); the same command resumes the night",
            )
        return outcome

    if force or gen is None or (explicit and not _same_selection(gen, requested)):
        progress.total = 1
        outcome = run(
            ("universe",),
            {"dagster/partition": day.isoformat()},
            [],
            {"ops": {"universe": {"config": {"symbols": symbols, "top_n": top_n}}}},
        )
        if not outcome.success:
            raise NightError(f"universe for {day} failed: {outcome.error}")
        new = generation(instance, day)
        if gen is not None and new is not None and new.run_id != gen.run_id:
            report.replaced = (
                f"replaced the night of {len(gen.symbols)} coins started by run {gen.run_id[:8]}"
            )
        gen = new
    if gen is None:
        raise NightError(f"{day} has no universe: its universe run materialised nothing")
    coins = list(gen.symbols)
    warming = (
        _warm_ray_head(settings)
        if plan_coins(instance, settings, "model", day, coins, force=force).todo or force
        else None
    )
    progress.total = len(report.runs) + len(coins) * 3 + 3  # candles, features, model; 3 day runs
    order = symbol_order(instance)
    changed = False
    for assets, per_coin in LAYERS[1:]:
        asset = assets[0]
        if per_coin:
            plan = plan_coins(instance, settings, asset, day, coins, force=force)
            if not plan.todo:
                continue
            report.reran[asset] = plan.todo
            for block in ranges(day, plan.todo, order):
                run(assets, block_tags(day, block), block)
            changed = True
            continue
        if asset == "roster":
            done = day_done(instance, "exports", day, gen) is not None
            if done and not changed and not force:
                continue
        else:
            due, _ = day_due(instance, settings, asset, day, force=force)
            if due is None:
                continue
        outcome = run(assets, {"dagster/partition": day.isoformat()}, [])
        report.reran[asset] = []
        changed = True
        if not outcome.success:
            raise NightError(f"{' and '.join(assets)} for {day} failed: {outcome.error}")
    if warming is not None:
        warming.join(settings.ray.head_start_timeout_s + 10)
    report.coins = write_status(instance, settings, day)
    home = EngineHome(Path(settings.home))
    report.roster_path = home.roster_on(day) if home.roster_on(day).is_file() else None
    report.wall_seconds = time.perf_counter() - started
    return report
