"""`shared_encoder` (daily) and `model` (date × symbol): all of a date's coins trained in one run as Ray
tasks, each coin's gates as checks of its own partition."""

from datetime import date

from dagster import (
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    multi_asset,
)
from dagster_ray import RayResource

from huracan_core import stages
from huracan_core.execution.ray_training import CONNECTION, ensure_ray, plan_training
from huracan_core.notify.milestones import notices, syncing
from huracan_dagster.automation import after_coins, per_coin
from huracan_dagster.context import plain, readable, stage_errors
from huracan_dagster.night.coins import GATE_CHECKS, train_work
from huracan_dagster.night.days import day_step_due
from huracan_dagster.night.layer import DayPlan, first_day, run_layer, start_logging
from huracan_dagster.partitions import by_date, daily, date_symbol
from huracan_dagster.resources import HuracanConfig


@multi_asset(
    specs=[
        AssetSpec(
            "shared_encoder",
            partitions_def=daily,
            deps=[AssetDep("features", partition_mapping=by_date)],
            group_name="models",
            kinds={"numpy"},
            skippable=True,
            automation_condition=after_coins(),
            description="Fit on the pooled, standardised features of all the day's coins, using only data known that day.",
        )
    ],
    partitions_def=daily,
)
def shared_encoder(context: AssetExecutionContext, huracan: HuracanConfig):  # noqa: ANN201
    day = date.fromisoformat(context.partition_key)
    settings = huracan.settings()
    start_logging(context, settings, "shared_encoder")
    gen = day_step_due(context, settings, "shared_encoder", day)
    if gen is None:
        return
    with stage_errors("shared_encoder", day):
        info = stages.encoder_stage(settings, day, gen.symbols)
    yield MaterializeResult(
        asset_key="shared_encoder",
        metadata=readable({k: plain(v) for k, v in info.items() if isinstance(v, str | int | float)}),
    )


@multi_asset(
    specs=[
        AssetSpec(
            "model",
            partitions_def=date_symbol,
            deps=["features", AssetDep("shared_encoder", partition_mapping=by_date)],
            group_name="models",
            kinds={"lightgbm"},
            skippable=True,
            automation_condition=per_coin(),
            description="Purged walk-forward, after-cost out-of-sample metrics, gates as checks, champion decision.",
        )
    ],
    # non-blocking and partitioned: a coin that trains and misses a gate is materialised with its failed
    # check tied to its own partition; only a crash is a failed coin
    check_specs=[
        AssetCheckSpec(f"gate_{name}", asset="model", blocking=False, partitions_def=date_symbol)
        for name in GATE_CHECKS
    ],
    partitions_def=date_symbol,
    backfill_policy=BackfillPolicy.single_run(),
    can_subset=True,
    pool="train",
)
def model(context: AssetExecutionContext, huracan: HuracanConfig, ray_cluster: RayResource):  # noqa: ANN201
    """The date's coins trained as Ray tasks (timeout, retries, GPU-aware cap), each reported as it ends."""
    settings = huracan.settings()
    start_logging(context, settings, "model")
    plans: dict[str, object] = {}

    def announce(plan: DayPlan) -> None:
        if plan.todo and "ray" not in plans:
            resources = ensure_ray(settings, ray_cluster.ray_address, **ray_cluster.ray_init_options)
            plans["ray"] = plan_training(settings, resources)
            context.log.info(
                f"training on Ray at {CONNECTION.get('address')}: {plans['ray'].to_json()} "
                f"(cluster: {ray_cluster.display_name})"
            )

    def work(settings_, day, symbols):  # noqa: ANN001, ANN202 - run_layer's Work
        if not symbols:
            return iter(())
        return train_work(settings_, day, symbols, plans["ray"], notifier)

    with (
        notices(settings, first_day(context.partition_keys), warn=context.log.warning) as notifier,
        syncing(settings, first_day(context.partition_keys)),
    ):
        yield from run_layer(context, settings, "model", work, notifier, on_plan=announce)
