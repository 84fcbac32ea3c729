"""The one Definitions object of the Huracan code location (`dagster dev`, daemon, webserver, `huracan run`)."""

from __future__ import annotations

from dagster import Definitions, in_process_executor

from huracan_core.config import load_settings
from huracan_dagster.defs.health.checks import FRESHNESS_CHECKS, freshness_sensor
from huracan_dagster.defs.health.sensors import telegram_on_run_failure
from huracan_dagster.defs.pipeline.sensors import night_automation
from huracan_dagster.defs.storage.sync import remote_sync_job, remote_sync_sensor
from huracan_dagster.defs.universe.schedules import nightly_universe
from huracan_dagster.graph import ASSETS
from huracan_dagster.resources import HuracanConfig, ray_resource

defs = Definitions(
    assets=ASSETS,
    asset_checks=FRESHNESS_CHECKS,
    jobs=[remote_sync_job],
    schedules=[nightly_universe],
    sensors=[night_automation, remote_sync_sensor, telegram_on_run_failure, freshness_sensor],
    resources={"huracan": HuracanConfig(), "ray_cluster": ray_resource(load_settings())},
    # every run's steps run in the run's own process (no second import of the code location per step)
    executor=in_process_executor,
)
