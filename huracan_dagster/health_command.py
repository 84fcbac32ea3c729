"""`huracan health [--json]` (registered on the core CLI app by huracan_dagster.cli): the core checks of
huracan_core.health plus the Dagster daemon heartbeat, the monitoring files, and a non-zero exit when
anything is unhealthy. Dagster is imported only inside the heartbeat check."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from huracan_core.cli import app, console, settings_or_exit
from huracan_core.config import Settings
from huracan_core.health import CheckResult, run_health, write_health

HEARTBEAT_FRESH_S = 120.0


def daemon_heartbeat(settings: Settings) -> CheckResult:
    """The newest dagster-daemon heartbeat of the instance `huracan run` and the daemon share."""
    home = os.environ.get("DAGSTER_HOME") or str(Path(settings.home) / "dagster")
    if not (Path(home) / "dagster.yaml").is_file() and not os.environ.get("DAGSTER_HOME"):
        return CheckResult("dagster_daemon", "not_applicable", f"no Dagster instance at {home}")
    started = time.perf_counter()
    try:
        from dagster import DagsterInstance

        os.environ.setdefault("DAGSTER_HOME", home)
        with DagsterInstance.get() as instance:
            beats = instance.get_daemon_heartbeats()
    except Exception as exc:  # noqa: BLE001 - the answer is "unhealthy", with the reason
        return CheckResult(
            "dagster_daemon", "unhealthy", f"cannot read the Dagster instance at {home}: {exc}"[:500]
        )
    latency = round((time.perf_counter() - started) * 1000, 2)
    if not beats:
        status = "unhealthy" if settings.profile == "production" else "not_applicable"
        return CheckResult(
            "dagster_daemon",
            status,
            f"no dagster-daemon has ever run against {home} "
            "(schedules and sensors are idle; `huracan run` needs no daemon)",
            latency,
        )
    newest = max(b.timestamp for b in beats.values())
    age = time.time() - newest
    stale = [name for name, b in beats.items() if time.time() - b.timestamp > HEARTBEAT_FRESH_S]
    detail = f"{len(beats)} daemon(s), newest heartbeat {age:.0f} s ago"
    if stale:
        return CheckResult(
            "dagster_daemon",
            "unhealthy",
            f"{detail}; stale: {', '.join(sorted(stale))}",
            latency,
            {"heartbeat_age_s": round(age, 1)},
        )
    return CheckResult("dagster_daemon", "healthy", detail, latency, {"heartbeat_age_s": round(age, 1)})


def partition_count(settings: Settings) -> CheckResult:
    """Per-coin partitions (coins ever seen x days since `schedule.first_date`) against Dagster's advice
    of at most 100,000 per asset: beyond it the UI's partition pages and backfill launches slow down."""
    from datetime import date

    home = os.environ.get("DAGSTER_HOME") or str(Path(settings.home) / "dagster")
    if not (Path(home) / "dagster.yaml").is_file() and not os.environ.get("DAGSTER_HOME"):
        return CheckResult("dagster_partitions", "not_applicable", f"no Dagster instance at {home}")
    from dagster import DagsterInstance

    from huracan_dagster.partitions import RECOMMENDED_MAX_PARTITIONS

    os.environ.setdefault("DAGSTER_HOME", home)
    try:
        with DagsterInstance.get() as instance:
            coins = len(instance.get_dynamic_partitions("symbols"))
    except Exception as exc:  # noqa: BLE001 - the answer is "unhealthy", with the reason
        return CheckResult(
            "dagster_partitions", "unhealthy", f"cannot read the Dagster instance: {exc}"[:300]
        )
    days = (date.today() - settings.schedule.first_date).days + 1
    count = coins * days
    detail = (
        f"{coins} coins x {days} days since schedule.first_date {settings.schedule.first_date} = "
        f"{count:,} per-coin partitions (Dagster advises at most {RECOMMENDED_MAX_PARTITIONS:,})"
    )
    if count > RECOMMENDED_MAX_PARTITIONS:
        return CheckResult(
            "dagster_partitions",
            "unhealthy",
            detail + ": move schedule.first_date (HURACAN_SCHEDULE__FIRST_DATE) forward",
            metrics={"partitions": count},
        )
    return CheckResult("dagster_partitions", "healthy", detail, metrics={"partitions": count})


@app.command("health")
def health_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Check the Brain Library, exchange, remote storage, disk, Ray and the Dagster daemon; exit 1 if unhealthy."""
    settings = settings_or_exit()
    report = run_health(settings, [lambda: daemon_heartbeat(settings), lambda: partition_count(settings)])
    written = write_health(settings, report)
    if as_json:
        sys.stdout.write(
            json.dumps({**report.to_json(), "files": [str(p) for p in written]}, indent=2) + "\n"
        )
    else:
        table = Table(
            title=f"Huracan health {report.checked_at}: {'healthy' if report.healthy else 'UNHEALTHY'}"
        )
        for col in ("check", "status", "latency ms", "detail"):
            table.add_column(col)
        for c in report.checks:
            colour = {"healthy": "green", "unhealthy": "red"}.get(c.status, "dim")
            table.add_row(
                c.name,
                f"[{colour}]{c.status}[/]",
                "" if c.latency_ms is None else f"{c.latency_ms:.1f}",
                c.detail,
            )
        console.print(table)
    if not report.healthy:
        raise typer.Exit(1)
