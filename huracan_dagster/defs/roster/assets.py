"""`roster` (daily): the ranked champions for exactly that date's coins, once every coin is terminal."""

from datetime import date

from dagster import AssetDep, AssetExecutionContext, MaterializeResult, asset

from huracan_core import stages
from huracan_dagster.automation import after_coins
from huracan_dagster.context import num, stage_errors, table
from huracan_dagster.night.layer import start_logging
from huracan_dagster.night.state import write_status
from huracan_dagster.partitions import by_date, daily
from huracan_dagster.resources import HuracanConfig

# digits shown in the UI's roster table (roster.json keeps full precision)
DIGITS = {
    "oos_sharpe": 2,
    "last_7d_net_bps": 1,
    "round_trip_bps": 1,
    "spread_bps": 2,
    "fee_bps": 2,
    "avg_slip_bps": 2,
    "score": 3,
}


def shown(entry: dict) -> dict:
    """A roster entry with its numbers rounded for reading (`adv_usd` as whole dollars with separators)."""
    out = dict(entry)
    for key, digits in DIGITS.items():
        value = out.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = round(float(value), digits)
    if isinstance(out.get("adv_usd"), int | float):
        out["adv_usd"] = f"{out['adv_usd']:,.0f} $"
    return out


@asset(
    partitions_def=daily,
    deps=[AssetDep("model", partition_mapping=by_date)],
    group_name="publish",
    kinds={"json"},
    automation_condition=after_coins(layer_start="shared_encoder"),
)
def roster(context: AssetExecutionContext, huracan: HuracanConfig) -> MaterializeResult:
    """Rank the day's coins by liquidity, cost and recent out-of-sample edge; say why any is missing."""
    day = date.fromisoformat(context.partition_key)
    settings = huracan.settings()
    start_logging(context, settings, "roster")
    write_status(context.instance, settings, day)  # the night's state, from Dagster's records
    with stage_errors("roster", day):
        result = stages.roster_stage(settings, day)
    entries = result["coins"]
    return MaterializeResult(
        metadata={
            "coins": len(entries),
            "trade_ok": sum(1 for e in entries if e.get("trade_ok")),
            "trade_ok_pct": num(100 * sum(1 for e in entries if e.get("trade_ok")) / max(len(entries), 1)),
            "roster": table(
                [shown(e) for e in entries],
                [
                    "rank",
                    "symbol",
                    "trade_ok",
                    "reason",
                    "oos_sharpe",
                    "last_7d_net_bps",
                    "round_trip_bps",
                    "spread_bps",
                    "fee_bps",
                    "avg_slip_bps",
                    "adv_usd",
                    "model_path",
                ],
            ),
        }
    )
