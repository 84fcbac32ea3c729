"""`roster` (daily): the ranked champions for exactly that date's coins."""


from datetime import date

from dagster import AssetDep, AssetExecutionContext, MaterializeResult, asset

from huracan_core import stages
from huracan_dagster.context import stage_errors, start, table
from huracan_dagster.partitions import by_date, daily
from huracan_dagster.resources import HuracanConfig


@asset(
    partitions_def=daily,
    deps=[AssetDep("model", partition_mapping=by_date)],
    group_name="publish",
    kinds={"json"},
)
def roster(context: AssetExecutionContext, huracan: HuracanConfig) -> MaterializeResult:
    """Rank the day's coins by liquidity, cost and recent out-of-sample edge; say why any is missing."""
    day = date.fromisoformat(context.partition_key)
    settings = start(context, huracan, day)
    with stage_errors("roster", day):
        result = stages.roster_stage(settings, day)
    entries = result["coins"]
    return MaterializeResult(
        metadata={
            "coins": len(entries),
            "trade_ok": sum(1 for e in entries if e.get("trade_ok")),
            "roster": table(entries, ["rank", "symbol", "trade_ok", "reason", "spread_bps", "fee_bps",
                                      "avg_slip_bps", "last_7d_net_bps", "model_path"]),
        }
    )
