"""`universe` (daily): the coins worth studying for the day, with the reason each coin is in or out; and
`coin` (date × symbol): each selected coin of the day on its own partition, materialised by the universe
step itself (so the per-coin layers are requested for exactly the day's coins, and a coin outside the
day's universe has no partition of the day anywhere)."""

from dataclasses import asdict
from datetime import date

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
    Config,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from huracan_dagster.context import num, readable, table
from huracan_dagster.night.days import choose_day_universe
from huracan_dagster.night.layer import start_logging
from huracan_dagster.partitions import by_date, coin_key, daily, date_symbol
from huracan_dagster.resources import HuracanConfig

coin = AssetSpec(
    "coin",
    partitions_def=date_symbol,
    deps=[AssetDep("universe", partition_mapping=by_date)],
    group_name="market",
    kinds={"python"},
    description="A coin of the day's universe, with its rank, 24 h volume, spread and age; materialised "
    "by the `universe` step for each selected coin (Materialize `universe` to redo it).",
)


class UniverseConfig(Config):
    """Optional pins from `huracan run --symbols/--top`; empty means the configured filters and top N."""

    symbols: list[str] | None = None
    top_n: int | None = None


@multi_asset(
    specs=[
        AssetSpec("universe", partitions_def=daily, group_name="market", kinds={"python"}, skippable=True)
    ],
    partitions_def=daily,
)
def universe(context: AssetExecutionContext, config: UniverseConfig, huracan: HuracanConfig):  # noqa: ANN201
    """Filter and rank the exchange's markets at the day's close (volume, age, type, stablecoins,
    leverage). A selection equal to the day's current one starts no new night (the night stands); one that
    would replace a finished night with fewer coins is refused unless the run is forced."""
    day = date.fromisoformat(context.partition_key)
    settings = huracan.settings()
    start_logging(context, settings, "universe")
    chosen = choose_day_universe(context, settings, day, symbols=config.symbols, top_n=config.top_n)
    if chosen is None:
        return
    result, notes = chosen
    rows = [asdict(r) for r in result.rows]
    yield MaterializeResult(
        asset_key="universe",
        metadata={
            "selected": len(result.selected),
            "excluded": len(result.excluded),
            "symbols": MetadataValue.json(result.selected),
            "requested": MetadataValue.json({"symbols": config.symbols, "top_n": config.top_n}),
            "source": result.source,
            "as_of": result.as_of.isoformat(),
            **({"replaces": MetadataValue.text(notes)} if notes else {}),
            "coins": _coins_table(rows),
        },
    )
    for symbol in result.selected:  # after the universe: a coin's partition is a fact of this generation
        row = result.row(symbol)
        yield AssetMaterialization(
            asset_key=AssetKey("coin"),
            partition=str(coin_key(day, symbol)),
            metadata=readable(
                {
                    "rank": row.rank,
                    "quote_volume_usd": num(row.quote_volume_usd),
                    "spread_bps": num(row.spread_bps),
                    "age_days": num(row.age_days, 3),
                    "market_type": row.market_type,
                }
            ),
        )


def _coins_table(rows: list[dict]) -> MetadataValue:
    for row in rows:
        if isinstance(row.get("quote_volume_usd"), float):
            row["quote_volume_usd"] = f"{row['quote_volume_usd']:,.0f} $"
        if isinstance(row.get("spread_bps"), float):
            row["spread_bps"] = f"{row['spread_bps']:.2f} bps"
        if isinstance(row.get("age_days"), float):
            row["age_days"] = f"{row['age_days']:.0f} d"
    return table(rows, ["symbol", "selected", "rank", "reason", "quote_volume_usd", "spread_bps", "age_days"])
