"""`market_context` (daily) and `features` (date × symbol, all of a date's coins in one run)."""

from datetime import date

from dagster import AssetDep, AssetExecutionContext, AssetSpec, BackfillPolicy, MaterializeResult, multi_asset

from huracan_core import stages
from huracan_core.notify.milestones import notices
from huracan_dagster.automation import after_coins, per_coin
from huracan_dagster.context import plain, readable, stage_errors
from huracan_dagster.night.coins import features_work
from huracan_dagster.night.days import day_step_due
from huracan_dagster.night.layer import first_day, run_layer, start_logging
from huracan_dagster.partitions import by_date, daily, date_symbol
from huracan_dagster.resources import HuracanConfig


@multi_asset(
    specs=[
        AssetSpec(
            "market_context",
            partitions_def=daily,
            deps=[AssetDep("candles", partition_mapping=by_date)],
            group_name="features",
            kinds={"polars"},
            skippable=True,
            automation_condition=after_coins(),
            description="Cross-asset references of the day (BTC, ETH, equal-weight universe) so coin features align on time.",
        )
    ],
    partitions_def=daily,
)
def market_context(context: AssetExecutionContext, huracan: HuracanConfig):  # noqa: ANN201
    day = date.fromisoformat(context.partition_key)
    settings = huracan.settings()
    start_logging(context, settings, "market_context")
    gen = day_step_due(context, settings, "market_context", day)
    if gen is None:
        return
    with stage_errors("market_context", day):
        info = stages.market_context_stage(settings, day, gen.symbols)
    yield MaterializeResult(
        asset_key="market_context", metadata=readable({k: plain(v) for k, v in info.items()})
    )


@multi_asset(
    specs=[
        AssetSpec(
            "features",
            partitions_def=date_symbol,
            deps=["candles", AssetDep("market_context", partition_mapping=by_date)],
            group_name="features",
            kinds={"polars"},
            skippable=True,
            automation_condition=per_coin(),
            description="The feature recipe for one coin, point-in-time, validated, written as parquet.",
        )
    ],
    partitions_def=date_symbol,
    backfill_policy=BackfillPolicy.single_run(),
    can_subset=True,
)
def features(context: AssetExecutionContext, huracan: HuracanConfig):  # noqa: ANN201
    settings = huracan.settings()
    start_logging(context, settings, "features")
    with notices(settings, first_day(context.partition_keys), warn=context.log.warning) as notifier:
        yield from run_layer(context, settings, "features", features_work, notifier)
