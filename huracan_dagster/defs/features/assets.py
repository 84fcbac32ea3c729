"""`market_context` (daily) and `features` (date × symbol)."""

from datetime import date

from dagster import AssetDep, AssetExecutionContext, MaterializeResult, asset

from huracan_core import stages
from huracan_dagster.context import not_in_universe, plain, stage_errors, start, upstream_failed
from huracan_dagster.partitions import by_date, daily, date_symbol, split_key
from huracan_dagster.resources import HuracanConfig


@asset(
    partitions_def=daily,
    deps=[AssetDep("candles", partition_mapping=by_date)],
    group_name="features",
    kinds={"polars"},
)
def market_context(context: AssetExecutionContext, huracan: HuracanConfig) -> MaterializeResult:
    """Cross-asset references for the day (BTC, ETH, equal-weight universe) so coin features align on time."""
    day = date.fromisoformat(context.partition_key)
    settings = start(context, huracan, day)
    with stage_errors("market_context", day), stages.day_stage(settings, day, "market_context"):
        info = stages.market_context_stage(settings, day, stages.load_universe(settings, day).selected)
    return MaterializeResult(metadata={k: plain(v) for k, v in info.items()})


@asset(
    partitions_def=date_symbol,
    deps=["candles", AssetDep("market_context", partition_mapping=by_date)],
    group_name="features",
    kinds={"polars"},
)
def features(context: AssetExecutionContext, huracan: HuracanConfig) -> MaterializeResult:
    """The feature recipe for one coin, point-in-time, validated, written as parquet."""
    day, symbol = split_key(context.partition_key)
    settings = start(context, huracan, day, symbol)
    with stage_errors("features", day, symbol):
        if (noop := not_in_universe(settings, day, symbol)) is not None:
            return noop
        upstream_failed(settings, day, symbol, "features")
        with stages.coin_stage(settings, day, symbol, "features"):
            info = stages.features_stage(settings, day, symbol)
    return MaterializeResult(metadata={k: plain(v) for k, v in info.items()})
