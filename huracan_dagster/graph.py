"""The night's assets, in graph order: the one list the Definitions and `huracan run` are built from."""

from __future__ import annotations

from huracan_dagster.defs.candles.assets import candles
from huracan_dagster.defs.exports.assets import exports
from huracan_dagster.defs.features.assets import features, market_context
from huracan_dagster.defs.models.assets import model, shared_encoder
from huracan_dagster.defs.roster.assets import roster
from huracan_dagster.defs.universe.assets import coin, universe

ASSETS = [universe, coin, candles, market_context, features, shared_encoder, model, roster, exports]
# the night's steps in order: (asset keys of one run, per coin?)
LAYERS: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("universe",), False),
    (("candles",), True),
    (("market_context",), False),
    (("features",), True),
    (("shared_encoder",), False),
    (("model",), True),
    (("roster", "exports"), False),
)
