"""The night's assets: the one list the Definitions, the jobs and the planner are built from."""

from __future__ import annotations

from huracan_dagster.defs.candles.assets import candles
from huracan_dagster.defs.exports.assets import exports
from huracan_dagster.defs.features.assets import features, market_context
from huracan_dagster.defs.models.assets import model, shared_encoder
from huracan_dagster.defs.roster.assets import roster
from huracan_dagster.defs.universe.assets import universe

ASSETS = [universe, candles, market_context, features, shared_encoder, model, roster, exports]
