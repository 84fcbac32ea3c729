"""`exports` (daily): engine_summary.json, the day's status.json and the roster, for the trading bot."""


from datetime import date

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from huracan_core.exports import export_day
from huracan_core.stages import engine_home
from huracan_dagster.context import stage_errors, start
from huracan_dagster.partitions import daily
from huracan_dagster.resources import HuracanConfig


@asset(partitions_def=daily, deps=["roster"], group_name="publish", kinds={"json"})
def exports(context: AssetExecutionContext, huracan: HuracanConfig) -> MaterializeResult:
    """Hand-off files of the day; counts come from the ledger, never estimated."""
    day = date.fromisoformat(context.partition_key)
    settings = start(context, huracan, day)
    with stage_errors("exports", day):
        out = export_day(engine_home(settings), day)
    summary = out["summary"]
    return MaterializeResult(
        metadata={
            "total": summary["total"],
            "succeeded": summary["succeeded"],
            "failed": summary["failed"],
            "skipped": summary["skipped"],
            "total_wall_minutes": summary["total_wall_minutes"],
            "files": MetadataValue.json(out["files"]),
        }
    )

