"""The nightly schedule: at the configured time (02:00 UTC by default) materialise yesterday's universe.
Dagster's automation carries the night from there to its exports (`huracan_dagster.automation`)."""

from __future__ import annotations

from dagster import AssetSelection, DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from huracan_core.config import load_settings
from huracan_core.dates import last_complete_day
from huracan_dagster.night.state import TAG_TRIGGER

_SCHEDULE = load_settings().schedule


@schedule(
    name="nightly_universe",
    cron_schedule=_SCHEDULE.cron,
    execution_timezone=_SCHEDULE.timezone,
    target=AssetSelection.assets("universe"),
    default_status=DefaultScheduleStatus.RUNNING,
)
def nightly_universe(context: ScheduleEvaluationContext) -> RunRequest:
    """The day that closed most recently before the tick."""
    day = last_complete_day(context.scheduled_execution_time)
    return RunRequest(
        partition_key=day.isoformat(),
        run_key=f"nightly:{day.isoformat()}",
        tags={"huracan/date": day.isoformat(), TAG_TRIGGER: "schedule"},
    )
