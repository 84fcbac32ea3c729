"""`candles` (date × symbol): the coin's parquet cache brought up to the day's close."""

from dagster import AssetDep, AssetExecutionContext, MaterializeResult, MetadataValue, asset

from huracan_core import stages
from huracan_dagster.context import not_in_universe, plain, stage_errors, start
from huracan_dagster.partitions import by_date, date_symbol, split_key
from huracan_dagster.resources import HuracanConfig


@asset(
    partitions_def=date_symbol,
    deps=[AssetDep("universe", partition_mapping=by_date)],
    group_name="market",
    kinds={"parquet"},
)
def candles(context: AssetExecutionContext, huracan: HuracanConfig) -> MaterializeResult:
    """Incremental, validated download: only missing bars are requested, open bars never stored."""
    day, symbol = split_key(context.partition_key)
    settings = start(context, huracan, day, symbol)
    with stage_errors("candles", day, symbol):
        if (noop := not_in_universe(settings, day, symbol)) is not None:
            return noop
        with stages.coin_stage(settings, day, symbol, "candles"):
            report = stages.candles_stage(settings, day, symbol)
    return MaterializeResult(
        metadata={
            "rows": report.bars_total,
            "bars_added": report.bars_added,
            "requests": report.requests,
            "gaps": len(report.gaps),
            "longest_gap_bars": report.longest_gap_bars,
            "first": str(plain(report.first)),
            "last": str(plain(report.last)),
            "skipped_fresh": report.skipped_fresh,
            "note": MetadataValue.text(report.note or ""),
        }
    )
