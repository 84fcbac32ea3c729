"""The one Definitions object of the Huracan code location (`dagster dev`, daemon, webserver)."""

from __future__ import annotations

from dagster import Definitions

from huracan_core.config import load_settings
from huracan_dagster.defs.pipeline.sensors import chain_sensor
from huracan_dagster.defs.universe.schedules import nightly_universe
from huracan_dagster.graph import ASSETS
from huracan_dagster.jobs import ALL_JOBS
from huracan_dagster.resources import HuracanConfig, ray_resource

defs = Definitions(
    assets=ASSETS,
    jobs=ALL_JOBS,
    schedules=[nightly_universe],
    sensors=[chain_sensor],
    resources={"huracan": HuracanConfig(), "ray_cluster": ray_resource(load_settings())},
)
