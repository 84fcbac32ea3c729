"""Freshness checks built with Dagster's own builders, so a stale roster or candle cache shows red in the UI.

- `roster` (daily): `build_time_partition_freshness_checks`: the newest complete day's partition must be
  materialised by `DEADLINE_CRON` (06:00 UTC, four hours after the 02:00 schedule);
- `candles` (date x symbol, not a time-window partitioning, so the time-partition builder does not apply):
  `build_last_update_freshness_checks`: some candle partition must have been materialised within 26 h
  of the same deadline.
`freshness_sensor` evaluates them: running by default under the production profile, stopped by default
under the local one (turn it on in the UI), so a local daemon launches no check runs nobody asked for.
"""

from __future__ import annotations

from datetime import timedelta

from dagster import (
    AssetCheckSeverity,
    DefaultSensorStatus,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
    build_time_partition_freshness_checks,
)

from huracan_core.config import load_settings
from huracan_dagster.defs.candles.assets import candles
from huracan_dagster.defs.roster.assets import roster

DEADLINE_CRON = "0 6 * * *"

roster_freshness = build_time_partition_freshness_checks(
    assets=[roster], deadline_cron=DEADLINE_CRON, severity=AssetCheckSeverity.ERROR
)
candles_freshness = build_last_update_freshness_checks(
    assets=[candles],
    lower_bound_delta=timedelta(hours=26),
    deadline_cron=DEADLINE_CRON,
    severity=AssetCheckSeverity.WARN,
)
FRESHNESS_CHECKS = [*roster_freshness, *candles_freshness]
freshness_sensor = build_sensor_for_freshness_checks(
    freshness_checks=FRESHNESS_CHECKS,
    name="freshness_checks_sensor",
    default_status=DefaultSensorStatus.RUNNING
    if load_settings().profile == "production"
    else DefaultSensorStatus.STOPPED,
)
