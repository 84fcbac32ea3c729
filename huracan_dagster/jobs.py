"""One job per step of the night, generated from the planner's steps (themselves read off the asset
graph). A job cannot mix partitions definitions, so the chain across daily and date × symbol steps is
driven by the planner (the sensor in the daemon, `huracan run` in a terminal) rather than one big job.
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job, in_process_executor

from huracan_dagster.defs.pipeline.plan import STEPS, Step
from huracan_dagster.partitions import daily, date_symbol


def _job(step: Step):  # noqa: ANN202 - dagster does not export the job type
    selection = AssetSelection.assets(*step.assets)
    return define_asset_job(
        step.job,
        selection | AssetSelection.checks_for_assets(*step.assets),
        partitions_def=date_symbol if step.per_coin else daily,
        description=f"step '{step.name}' of the night: materialises {', '.join(step.assets)}",
        # one step per run: the default multiprocess executor would start a second process (and import
        # the whole code location again) for it
        executor_def=in_process_executor,
    )


JOBS = {step.name: _job(step) for step in STEPS}
ALL_JOBS = list(JOBS.values())
ROOT_JOB = JOBS[STEPS[0].name]
