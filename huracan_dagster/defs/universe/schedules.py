"""The nightly schedule: at the configured time (02:00 UTC by default) carry yesterday from its universe
to its exports in one `night_job` run.

Why the night run and not the universe job: a universe run would then wait for a `chain_sensor` tick
(the daemon evaluates sensors every 5 s) and a second run process to start the night; one run that
materialises the universe and carries the day skips both. Each step is still its own Dagster run
(`universe` included), and `chain_sensor` still finishes the day if this run dies.
"""

from __future__ import annotations

from dagster import DefaultScheduleStatus, RunRequest, ScheduleEvaluationContext, schedule

from huracan_core.config import load_settings
from huracan_core.dates import last_complete_day
from huracan_dagster.defs.pipeline.night import night_job
from huracan_dagster.defs.pipeline.plan import TAG_DATE
from huracan_dagster.runner import TAG_TRIGGER

_SCHEDULE = load_settings().schedule


@schedule(
    name="nightly_universe",
    cron_schedule=_SCHEDULE.cron,
    execution_timezone=_SCHEDULE.timezone,
    job=night_job,
    default_status=DefaultScheduleStatus.RUNNING,
)
def nightly_universe(context: ScheduleEvaluationContext) -> RunRequest:
    """The day that closed most recently before the tick: its universe, then every step to its exports."""
    day = last_complete_day(context.scheduled_execution_time)
    return RunRequest(
        partition_key=day.isoformat(),
        run_key=f"nightly:{day.isoformat()}",
        run_config={"ops": {"carry_night": {"config": {"universe": True}}}},
        tags={TAG_DATE: day.isoformat(), TAG_TRIGGER: "schedule"},
    )
