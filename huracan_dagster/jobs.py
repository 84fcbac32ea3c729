"""One job per step of the night, generated from the planner's steps (themselves read off the asset
graph). A job cannot mix partitions definitions, so the chain across daily and date × symbol steps is
driven by the planner (the sensor in the daemon, `huracan run` in a terminal) rather than one big job.
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from huracan_dagster.defs.health.checks import FRESHNESS_CHECKS
from huracan_dagster.defs.pipeline.plan import STEPS, Step
from huracan_dagster.partitions import daily, date_symbol


def _job(step: Step):  # noqa: ANN202 - dagster does not export the job type
    # the step's assets with their own checks (the model's gates); not the freshness checks, which
    # `freshness_checks_sensor` evaluates on its own cadence: in every per-coin run they were a second
    # step (6 of a candles run's 17 events), 630 times on a 210-coin night
    selection = AssetSelection.assets(*step.assets) | AssetSelection.checks_for_assets(*step.assets)
    return define_asset_job(
        step.job,
        selection - AssetSelection.checks(*FRESHNESS_CHECKS),
        partitions_def=date_symbol if step.per_coin else daily,
        description=f"step '{step.name}' of the night: materialises {', '.join(step.assets)}",
        # one step per run: the default multiprocess executor would start a second process (and import
        # the whole code location again) for it
        executor_def=in_process_executor,
    )


JOBS = {step.name: _job(step) for step in STEPS}
ALL_JOBS = list(JOBS.values())
ROOT_JOB = JOBS[STEPS[0].name]
