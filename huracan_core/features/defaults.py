"""The default recipe: every family's specs, in dependency order, with warm-ups derived from the ops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from huracan_core.features.recipe import FeatureRecipe, FeatureSpec
from huracan_core.features.registry import BASE_COLUMNS, FAMILY_MODULES, OPS, OPTIONAL_FAMILY_MODULES
from huracan_core.timeframes import TIMEFRAMES

RECIPE_VERSION = "1.0.0"


class RecipeBuilder:
    """Collects specs family by family; each `add` checks its op and inputs and derives its warm-up."""

    def __init__(self) -> None:
        self.specs: list[FeatureSpec] = []
        self.warmups: dict[str, int] = dict(BASE_COLUMNS)
        self.family = ""

    def add(
        self, name: str, op: str, inputs: Sequence[str], formula: str, model_input: bool, **params: Any
    ) -> None:
        if name in self.warmups:
            raise ValueError(f"feature {name!r} is declared twice or shadows a base column")
        if op not in OPS:
            raise ValueError(f"feature {name!r} uses unknown op {op!r}")
        missing = [i for i in inputs if i not in self.warmups]
        if missing:
            raise ValueError(f"feature {name!r} reads {missing} before they are defined")
        warmup = OPS[op].warmup(params, max((self.warmups[i] for i in inputs), default=0))
        self.specs.append(
            FeatureSpec(
                name=name,
                family=self.family,
                op=op,
                params=params,
                inputs=list(inputs),
                formula=formula,
                warmup=warmup,
                model_input=model_input,
            )
        )
        self.warmups[name] = warmup


def default_recipe(timeframe: str = "1d", *, cross_sectional_family: bool = False) -> FeatureRecipe:
    """The full feature set for one timeframe (windows are in bars of that timeframe).

    `cross_sectional_family`: add the opt-in cross-sectional family (`market.cross_sectional_features`),
    computed over the night's universe (features.cross_sectional); its specs come after every default
    family, so the default recipe and its content hash are unchanged when it is off."""
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"unknown timeframe {timeframe!r}; expected one of {', '.join(TIMEFRAMES)}")
    builder = RecipeBuilder()
    modules = (*FAMILY_MODULES, *OPTIONAL_FAMILY_MODULES) if cross_sectional_family else FAMILY_MODULES
    for module in modules:
        builder.family = module.FAMILY
        module.add_specs(builder.add, timeframe)
    return FeatureRecipe(version=RECIPE_VERSION, timeframe=timeframe, features=builder.specs)
