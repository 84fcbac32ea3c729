"""`night_job`: one daemon-launched run that carries a date from its universe to its exports.

Why one run per night rather than one per step: under the daemon every run is a fresh process that
imports the code location, and the chain moves one step per sensor tick, so a night of seven steps
spent most of its time between steps (154 s for a 3-coin night that takes 47 s through `huracan run`).
This run does what `huracan run` does after its universe: it asks the planner what is due and
executes each step as its own Dagster run (one per coin for per-coin steps, in warm worker processes
that share the engine home's Ray head), so every date × coin partition keeps its own run, lineage,
metadata and checks in the UI. The steps a running UI backfill targets are left to that backfill;
the night waits for them with a bound and finishes what follows.
"""

import os
import socket
from datetime import date

from dagster import Config, Failure, OpExecutionContext, in_process_executor, job, op

from huracan_core.config import load_settings
from huracan_dagster.defs.pipeline.plan import model_max_runtime_s
from huracan_dagster.partitions import daily

NIGHT_JOB = "night_job"


class NightConfig(Config):
    """`universe`: materialise the date's universe first when it has none (the nightly schedule's night),
    so a scheduled night is one daemon-launched run rather than a universe run, a sensor tick and a
    night run."""

    universe: bool = False


@op(name="carry_night")
def carry_night(context: OpExecutionContext, config: NightConfig) -> None:
    """Run the due steps of this partition's date, each as its own Dagster run, until none is due."""
    from huracan_dagster import interrupt
    from huracan_dagster.defs.pipeline.plan import TAG_GENERATION, latest_generation
    from huracan_dagster.defs.pipeline.sensors import backfilled_assets
    from huracan_dagster.runner import (
        TAG_HOST,
        TAG_PID,
        TRIGGER_NIGHT,
        RunFailed,
        carried_by_live_process,
        carry_day,
        materialise_universe,
        reap_orphans,
    )

    day = date.fromisoformat(context.partition_key)
    settings = load_settings()
    instance = context.instance
    # a kill -9 of this process leaves this run and its step runs in flight: the sensor's next tick
    # finds them by these tags and marks them failed, so the night can be carried again
    instance.add_run_tags(context.run_id, {TAG_HOST: socket.gethostname(), TAG_PID: str(os.getpid())})
    reap_orphans(instance, day)
    generation = latest_generation(instance, day)
    if config.universe and generation is None:
        outcome = materialise_universe(instance, day, {"symbols": None, "top_n": None}, TRIGGER_NIGHT)
        if not outcome.success:
            raise Failure(f"universe for {day} failed: {outcome.error}", allow_retries=False)
        generation = latest_generation(instance, day)
    elif config.universe and carried_by_live_process(instance, generation.run_id):
        # a `huracan run` for this date started before the tick is carrying it: running the same steps
        # beside it would race its runs; if it dies, `chain_sensor` finishes the day
        context.log.info(f"{day}: carried by the process that materialised its universe; nothing to do here")
        return
    if generation is not None:  # counted among the generation's nights by the sensor
        instance.add_run_tags(context.run_id, {TAG_GENERATION: generation.run_id})
    try:
        report = carry_day(
            instance,
            settings,
            day,
            deferred=lambda: backfilled_assets(instance).get(day.isoformat(), set()),
            wait_limit_s=model_max_runtime_s(settings.training),
        )
    except RunFailed as exc:
        raise Failure(str(exc), allow_retries=False) from None
    except BaseException:
        # terminated from the UI (an interrupt) or crashed: leave no step run or coin "running"
        interrupt.clean_up(
            settings, day, f"night run {context.run_id} ended before its steps", own_run=context.run_id
        )
        raise
    failed = [s for s in report.steps if not s.success]
    context.log.info(
        f"{day}: {len(report.steps)} step runs, {len(failed)} failed; "
        f"coins {sum(e.status == 'failed' for e in report.coins.values())} failed of {len(report.coins)}"
    )


@job(
    name=NIGHT_JOB,
    partitions_def=daily,
    executor_def=in_process_executor,
    description="Carries one date from its universe to its exports: each step is its own Dagster run.",
)
def night_job() -> None:
    carry_night()
