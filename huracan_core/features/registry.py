"""All ops of all families in one table, and the columns a recipe may read besides its own features."""

from __future__ import annotations

from huracan_core.candles.frame import CANDLE_COLUMNS
from huracan_core.features import (  # submodules, not the package API
    cross_asset,
    derived,
    momentum,
    regime,
    returns,
    time_features,
    trend,
    volatility,
    volume,
)
from huracan_core.features.ops import Op

FAMILY_MODULES = (returns, trend, volatility, momentum, volume, regime, time_features, cross_asset, derived)

OPS: dict[str, Op] = {}
for _module in FAMILY_MODULES:
    for _name, _op in _module.OPS.items():
        if _name in OPS:
            raise RuntimeError(f"op {_name!r} is defined twice (in {_module.__name__})")
        OPS[_name] = _op

# columns a spec may read that are not features, with their warm-up
BASE_COLUMNS: dict[str, int] = {name: 0 for name in CANDLE_COLUMNS} | {
    ref_col: cross_asset.REF_WARMUP for ref_col in cross_asset.REF_COLUMNS.values()
}
