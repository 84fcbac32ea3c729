"""All ops of all families in one table, and the columns a recipe may read besides its own features.

`FAMILY_MODULES` make the default recipe; `OPTIONAL_FAMILY_MODULES` are families a setting adds to it
(`default_recipe(..., cross_sectional_family=True)`), after every default family so the default recipe, and its
hash, stay what they are when the option is off."""

from __future__ import annotations

from huracan_core.candles.frame import CANDLE_COLUMNS
from huracan_core.features import (  # submodules, not the package API
    cross_asset,
    cross_sectional,
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
OPTIONAL_FAMILY_MODULES = (cross_sectional,)

OPS: dict[str, Op] = {}
for _module in (*FAMILY_MODULES, *OPTIONAL_FAMILY_MODULES):
    for _name, _op in _module.OPS.items():
        if _name in OPS:
            raise RuntimeError(f"op {_name!r} is defined twice (in {_module.__name__})")
        OPS[_name] = _op

# columns a spec may read that are not features, with their warm-up
BASE_COLUMNS: dict[str, int] = {name: 0 for name in CANDLE_COLUMNS} | {
    ref_col: cross_asset.REF_WARMUP for ref_col in cross_asset.REF_COLUMNS.values()
}
