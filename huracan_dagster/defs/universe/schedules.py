"""The nightly schedule: at the configured time (02:00 UTC by default) materialise yesterday's universe."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from huracan_core.config import load_settings
from huracan_core.dates import last_complete_day
from huracan_dagster.jobs import ROOT_JOB

_SCHEDULE = load_settings().schedule


@schedule(
    name="nightly_universe",
    cron_schedule=_SCHEDULE.cron,
    execution_timezone=_SCHEDULE.timezone,
    job=ROOT_JOB,
    default_status=DefaultScheduleStatus.RUNNING,
)
def nightly_universe(context: ScheduleEvaluationContext) -> RunRequest:
    """The day that closed most recently before the tick; the sensors take the chain from there."""
    day = last_complete_day(context.scheduled_execution_time)
    return RunRequest(
        partition_key=day.isoformat(),
        run_key=f"nightly:{day.isoformat()}",
        tags={"huracan/date": day.isoformat(), "huracan/trigger": "schedule"},
    )
