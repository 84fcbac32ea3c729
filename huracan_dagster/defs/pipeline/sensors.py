"""`chain_sensor`: carries every recent day from candles to exports without a human.

Each tick asks the planner what may start for the days whose universe was materialised recently and
requests those runs (run keys make a request idempotent). A failed coin is terminal for its own
chain but never blocks the others: the daily barrier steps wait for complete-or-failed.
"""

from __future__ import annotations

from datetime import date, timedelta

from dagster import AssetKey, DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from huracan_core.config import load_settings
from huracan_core.dates import last_complete_day
from huracan_dagster.defs.pipeline.plan import day_state, next_steps
from huracan_dagster.jobs import context_job, encoder_job, features_job, model_job, publish_job

LOOKBACK_DAYS = 7


@sensor(
    jobs=[context_job, features_job, encoder_job, model_job, publish_job],
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
)
def chain_sensor(context: SensorEvaluationContext) -> SensorResult:
    instance = context.instance
    training = load_settings().training
    newest = last_complete_day()
    recent = {
        date.fromisoformat(k)
        for k in instance.get_materialized_partitions(AssetKey("universe"))
        if date.fromisoformat(k) >= newest - timedelta(days=LOOKBACK_DAYS)
    }
    requests = []
    for day in sorted(recent):
        state = day_state(instance, day)
        for step in next_steps(state, skip_started=True, exclude=("candles",), training=training):
            requests.append(
                RunRequest(job_name=step.job, partition_key=step.partition_key, run_key=step.run_key, tags=step.tags)
            )
    return SensorResult(run_requests=requests)
