"""`universe` (daily): the coins worth studying for the day, with the reason each coin is in or out."""

from dataclasses import asdict
from datetime import date

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from huracan_core import stages
from huracan_dagster.context import stage_errors, start, table
from huracan_dagster.partitions import daily
from huracan_dagster.resources import HuracanConfig


class UniverseConfig(Config):
    """Optional pins from `huracan run --symbols/--top`; empty means the configured filters and top N."""

    symbols: list[str] | None = None
    top_n: int | None = None


@asset(partitions_def=daily, group_name="market", kinds={"python"})
def universe(
    context: AssetExecutionContext, config: UniverseConfig, huracan: HuracanConfig
) -> MaterializeResult:
    """Filter and rank the exchange's markets at the day's close (volume, age, type, stablecoins, leverage)."""
    day = date.fromisoformat(context.partition_key)
    settings = start(context, huracan, day)
    with stage_errors("universe", day):
        result = stages.universe_stage(settings, day, symbols=config.symbols, top_n=config.top_n)
    rows = [asdict(r) for r in result.rows]
    return MaterializeResult(
        metadata={
            "selected": len(result.selected),
            "excluded": len(result.excluded),
            "symbols": MetadataValue.json(result.selected),
            "requested": MetadataValue.json({"symbols": config.symbols, "top_n": config.top_n}),
            "source": result.source,
            "as_of": result.as_of.isoformat(),
            "coins": table(
                rows, ["symbol", "selected", "rank", "reason", "quote_volume_usd", "spread_bps", "age_days"]
            ),
        }
    )
