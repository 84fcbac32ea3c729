"""`exports` (daily): the night's publication and its end. Records the night in the Brain Library (one
transaction, row counts per table as metadata), writes exports/YYYY-MM-DD and reports/YYYY-MM-DD, points
the bot's latest roster and champions at the night, then closes the night: the Telegram summary, the
final remote sync and its verify."""

from datetime import date

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from huracan_core.notify.milestones import finish_night, notices
from huracan_core.stages import publish_stage
from huracan_dagster.automation import with_roster
from huracan_dagster.context import num, stage_errors
from huracan_dagster.night.layer import start_logging
from huracan_dagster.night.state import write_status
from huracan_dagster.partitions import daily
from huracan_dagster.resources import HuracanConfig


@asset(
    partitions_def=daily,
    deps=["roster"],
    group_name="publish",
    kinds={"json"},
    automation_condition=with_roster(),
)
def exports(context: AssetExecutionContext, huracan: HuracanConfig) -> MaterializeResult:
    """Hand-off files of the day; counts come from the night's state, never estimated."""
    day = date.fromisoformat(context.partition_key)
    settings = huracan.settings()
    start_logging(context, settings, "exports")
    entries = write_status(context.instance, settings, day)
    with notices(settings, day, warn=context.log.warning) as notifier:
        with stage_errors("exports", day):
            out = publish_stage(settings, day)
        end = finish_night(settings, day, entries, notifier)
    for line in end.lines:
        context.log.warning(line)
    summary = out["summary"]
    return MaterializeResult(
        metadata={
            "coins": summary["total"],
            "succeeded": summary["succeeded"],
            "failed": summary["failed"],
            "skipped": summary["skipped"],
            "wall_minutes": num(summary["total_wall_minutes"]),
            "latest_pointers_moved": bool(out.get("latest_moved")),
            **({} if end.verify is None else {"remote_verified": bool(end.verify.ok)}),
            "files": MetadataValue.json(out["files"]),
            "exports_index": MetadataValue.json(out["index"]["files"]),
            "reports": MetadataValue.json(out["reports"]["files"]),
            "trading_comparison": MetadataValue.json(
                {"portfolio": out["trading"].get("portfolio", {}), "error": out["trading"].get("error")}
            ),
            **{f"brain/{table}": n for table, n in out["brain"]["rows"].items()},
        }
    )
