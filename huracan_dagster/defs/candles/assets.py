"""`candles` (date × symbol): each coin's parquet cache brought up to the day's close, all of a date's
coins in one run."""

from dagster import AssetExecutionContext, AssetSpec, BackfillPolicy, multi_asset

from huracan_core.notify.milestones import notices
from huracan_dagster.automation import per_coin
from huracan_dagster.night.coins import candles_work
from huracan_dagster.night.layer import first_day, run_layer, start_logging
from huracan_dagster.partitions import date_symbol
from huracan_dagster.resources import HuracanConfig


@multi_asset(
    specs=[
        AssetSpec(
            "candles",
            partitions_def=date_symbol,
            deps=["coin"],
            group_name="market",
            kinds={"parquet"},
            skippable=True,
            automation_condition=per_coin(),
            description="Incremental, validated download: only missing bars are requested, open bars never stored.",
        )
    ],
    partitions_def=date_symbol,
    backfill_policy=BackfillPolicy.single_run(),
    can_subset=True,
)
def candles(context: AssetExecutionContext, huracan: HuracanConfig):  # noqa: ANN201
    settings = huracan.settings()
    start_logging(context, settings, "candles")
    with notices(settings, first_day(context.partition_keys), warn=context.log.warning) as notifier:
        yield from run_layer(context, settings, "candles", candles_work, notifier)
