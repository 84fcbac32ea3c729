"""`exports` (daily): the night's publication. Records the night in the Brain Library (one transaction, row
counts per table as metadata), writes exports/YYYY-MM-DD (the hand-off files and the Brain Library exports,
indexed by performance_summary.json) and reports/YYYY-MM-DD."""

from datetime import date

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from huracan_core.stages import publish_stage
from huracan_dagster.context import stage_errors, start
from huracan_dagster.partitions import daily
from huracan_dagster.resources import HuracanConfig


@asset(partitions_def=daily, deps=["roster"], group_name="publish", kinds={"json"})
def exports(context: AssetExecutionContext, huracan: HuracanConfig) -> MaterializeResult:
    """Hand-off files of the day; counts come from the ledger, never estimated."""
    day = date.fromisoformat(context.partition_key)
    settings = start(context, huracan, day)
    with stage_errors("exports", day):
        out = publish_stage(settings, day)
    summary = out["summary"]
    return MaterializeResult(
        metadata={
            "total": summary["total"],
            "succeeded": summary["succeeded"],
            "failed": summary["failed"],
            "skipped": summary["skipped"],
            "total_wall_minutes": summary["total_wall_minutes"],
            "files": MetadataValue.json(out["files"]),
            "exports_index": MetadataValue.json(out["index"]["files"]),
            "reports": MetadataValue.json(out["reports"]["files"]),
            "trading_comparison": MetadataValue.json(
                {"portfolio": out["trading"].get("portfolio", {}), "error": out["trading"].get("error")}
            ),
            **{f"brain/{table}": n for table, n in out["brain"]["rows"].items()},
        }
    )
