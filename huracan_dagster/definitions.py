"""The one Definitions object of the Huracan code location (`dagster dev`, daemon, webserver)."""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from huracan_core.config import load_settings
from huracan_dagster.defs.health.checks import FRESHNESS_CHECKS, freshness_sensor
from huracan_dagster.defs.health.sensors import telegram_on_run_failure
from huracan_dagster.defs.pipeline.night import night_job
from huracan_dagster.defs.pipeline.sensors import chain_sensor
from huracan_dagster.defs.storage.sync import remote_sync_job, remote_sync_sensor
from huracan_dagster.defs.universe.schedules import nightly_universe
from huracan_dagster.graph import ASSETS
from huracan_dagster.jobs import ALL_JOBS
from huracan_dagster.resources import HuracanConfig, ray_resource

defs = Definitions(
    assets=ASSETS,
    asset_checks=FRESHNESS_CHECKS,
    jobs=[*ALL_JOBS, night_job, remote_sync_job],
    schedules=[nightly_universe],
    sensors=[chain_sensor, remote_sync_sensor, telegram_on_run_failure, freshness_sensor],
    resources={"huracan": HuracanConfig(), "ray_cluster": ray_resource(load_settings())},
    # backfill and UI runs too: their steps run in the run's own process (no second import per step)
    executor=in_process_executor,
)
