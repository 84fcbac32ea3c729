"""The daemon's side of the night sync: `remote_sync_sensor` decides which groups are due (cursor = the last
launch per cadence) and launches `remote_sync_job`; the uploads happen in that run, never in the sensor tick.
The job syncs the night of the newest complete day (the date the 02:00 schedule materialises) and creates
its dated folder and config snapshot first when the night has none yet. Remote failures are logged and
retried on the next run; they never fail the run (training does not depend on the remote)."""

import json
import time
from datetime import date

from dagster import (
    Config,
    DagsterRunStatus,
    DefaultSensorStatus,
    OpExecutionContext,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    job,
    op,
    sensor,
)

from huracan_core.config import Settings, load_settings
from huracan_core.dates import as_of_for, last_complete_day
from huracan_core.storage import StorageError, build_storage
from huracan_core.storage.sync import CANDLES, GROUPS, NightSync
from huracan_dagster.resources import HuracanConfig

QUICK = "candles_quick"
ACTIVE = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]


def cadences_s(settings: Settings) -> dict[str, float]:
    s = settings.storage
    return {
        "learning": s.sync_learning_minutes * 60,
        "outputs": s.sync_outputs_minutes * 60,
        "models": s.sync_models_minutes * 60,
        CANDLES: s.sync_candles_full_minutes * 60,
        QUICK: s.sync_candles_quick_minutes * 60,
    }


class RemoteSyncConfig(Config):
    groups: list[str]
    day: str | None = None  # default: the newest complete UTC day


@op
def remote_sync(context: OpExecutionContext, config: RemoteSyncConfig, huracan: HuracanConfig) -> None:
    settings = huracan.settings()
    try:
        storage = build_storage(settings.storage)
    except StorageError as exc:
        context.log.warning(f"remote storage not available: {exc}")
        return
    if storage is None:
        context.log.info("no remote storage configured: nothing to sync")
        return
    day = date.fromisoformat(config.day) if config.day else last_complete_day()
    sync = NightSync(settings, day, storage)
    if sync.night_started is None:
        # the daemon's night of `day` began when the day closed: everything written since is in scope
        for problem in sync.start_night(since=as_of_for(day).timestamp()):
            context.log.warning(problem)
    for group in config.groups:
        if group == QUICK:
            result = sync.sync_group(
                CANDLES, changed_within_s=settings.storage.sync_candles_quick_window_minutes * 60
            )
        elif group in GROUPS:
            result = sync.sync_group(group)
        else:
            context.log.warning(f"unknown sync group {group!r} (known: {', '.join([*GROUPS, QUICK])})")
            continue
        context.log.info(
            f"{group}: {len(result.uploaded)} uploaded, {result.unchanged} unchanged, "
            f"{len(result.failed)} failed"
        )
        for key, error in list(result.failed.items())[:20]:
            context.log.warning(f"{key}: {error}")


@job(description="Upload the engine home's changed files to the remote storage (one pass per group asked).")
def remote_sync_job() -> None:
    remote_sync()


def _min_interval() -> int:
    try:
        return max(30, int(min(cadences_s(load_settings()).values())))
    except Exception:  # noqa: BLE001 - a bad setting shows up in the tick, not at import
        return 60


@sensor(
    job=remote_sync_job, minimum_interval_seconds=_min_interval(), default_status=DefaultSensorStatus.RUNNING
)
def remote_sync_sensor(context: SensorEvaluationContext):  # noqa: ANN201 - RunRequest | SkipReason
    """Launch a sync run for the groups whose cadence came due (not while one is still running)."""
    settings = load_settings()
    if settings.storage.backend == "local" and settings.storage.remote_dir is None:
        return SkipReason("no remote storage configured")
    running = context.instance.get_run_records(
        RunsFilter(job_name=remote_sync_job.name, statuses=ACTIVE), limit=1
    )
    if running:
        return SkipReason("a remote sync run is still in progress")
    last = json.loads(context.cursor) if context.cursor else {}
    now = time.time()
    due = [g for g, every in cadences_s(settings).items() if now - float(last.get(g, 0)) >= every]
    if not due:
        return SkipReason("no sync cadence due")
    context.update_cursor(json.dumps({**last, **dict.fromkeys(due, now)}))
    if CANDLES in due and QUICK in due:  # a full candle pass covers the quick one (its clock restarts too)
        due.remove(QUICK)
    return RunRequest(
        run_config={"ops": {"remote_sync": {"config": {"groups": due}}}},
        tags={"huracan/sync_groups": ",".join(due)},
    )
