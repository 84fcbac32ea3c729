"""Feature library: a recipe of stationary, point-in-time features computed with Polars expressions.

Public API: FeatureRecipe/FeatureSpec and default_recipe (what is computed), build_features (compute it on
one coin's candles), CrossAssetInputs/equal_weight_market (BTC, ETH and market references), drop_warmup,
validate_features (pandera schema), write_recipe/read_recipe/check_recipe (a model's recorded recipe hash).
"""

from huracan_core.features.build import (
    CrossAssetInputs,
    build_features,
    cross_asset_columns,
    drop_warmup,
    equal_weight_market,
)
from huracan_core.features.defaults import default_recipe
from huracan_core.features.recipe import (
    FeatureRecipe,
    FeatureSpec,
    RecipeMismatchError,
    check_recipe,
    read_recipe,
    write_recipe,
)
from huracan_core.features.schema import FeatureValidationError, validate_features

__all__ = [
    "CrossAssetInputs",
    "FeatureRecipe",
    "FeatureSpec",
    "FeatureValidationError",
    "RecipeMismatchError",
    "build_features",
    "check_recipe",
    "cross_asset_columns",
    "default_recipe",
    "drop_warmup",
    "equal_weight_market",
    "read_recipe",
    "validate_features",
    "write_recipe",
]
