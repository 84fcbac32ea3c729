"""`telegram_on_run_failure`: a Telegram alert for every failed run of this code location (the daemon's
failure alerts; `huracan run` alerts from its own process). Bounded: an outage or a 429 past the bound is
logged and the sensor moves on, it never retries forever."""

from __future__ import annotations

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from huracan_core.config import load_settings
from huracan_core.notify import build_notifier


def failure_text(context: RunFailureSensorContext) -> str:
    run = context.dagster_run
    partition = run.tags.get("dagster/partition") or ", ".join(
        f"{k.split('/')[-1]}={v}" for k, v in run.tags.items() if k.startswith("dagster/partition/")
    )
    message = (context.failure_event.message or "no message").strip().splitlines()[0][:600]
    where = f" [{partition}]" if partition else ""
    return f"Dagster run FAILED: {run.job_name}{where} (run {run.run_id[:8]}): {message}"


@run_failure_sensor(
    name="telegram_on_run_failure", default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30
)
def telegram_on_run_failure(context: RunFailureSensorContext) -> None:
    settings = load_settings()
    notifier = build_notifier(settings)
    notifier.send(failure_text(context))
    for item in notifier.close(timeout_s=max(10.0, settings.telegram.timeout_s * 2)):
        context.log.warning(f"failure alert not delivered: {item.reason}")
