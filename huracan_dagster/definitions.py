"""The one Definitions object of the Huracan code location (`dagster dev`, daemon, webserver)."""

from __future__ import annotations

from dagster import Definitions

from huracan_core.config import load_settings
from huracan_dagster.defs.candles.assets import candles
from huracan_dagster.defs.exports.assets import exports
from huracan_dagster.defs.features.assets import features, market_context
from huracan_dagster.defs.models.assets import model, shared_encoder
from huracan_dagster.defs.pipeline.sensors import chain_sensor
from huracan_dagster.defs.roster.assets import roster
from huracan_dagster.defs.universe.assets import universe
from huracan_dagster.defs.universe.schedules import nightly_universe
from huracan_dagster.defs.universe.sensors import symbols_sensor
from huracan_dagster.jobs import ALL_JOBS
from huracan_dagster.resources import HuracanConfig, ray_resource

defs = Definitions(
    assets=[universe, candles, market_context, features, shared_encoder, model, roster, exports],
    jobs=ALL_JOBS,
    schedules=[nightly_universe],
    sensors=[symbols_sensor, chain_sensor],
    resources={"huracan": HuracanConfig(), "ray_cluster": ray_resource(load_settings())},
)
