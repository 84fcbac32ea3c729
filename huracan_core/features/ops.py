"""The building block of the feature library: an *op* turns named input columns and parameters into one
Polars expression, and knows how many leading bars it leaves null (its warm-up).

Why a registry of ops instead of hard-coded columns: the recipe (names, ops, params, inputs) is the single
source of truth. `build_features` computes exactly what the recipe says, the reference page is generated
from it, and the content hash covers it, so a model can refuse to score features computed differently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl

Params = Mapping[str, Any]
Warmup = Callable[[Params, int], int]


class Scratch:
    """Private helper columns of one feature, computed step by step before its final expression.

    Why: a recursive indicator written as one nested expression repeats its sub-expressions (ADX reads the
    smoothed true range in both DIs, the DX and the seed of its own smoothing) and the tree grows
    multiplicatively. Materialising each intermediate once as a helper column keeps every expression
    small; `build_features` computes the steps of all features of a level together and drops the helpers.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.steps: list[list[pl.Expr]] = []

    def step(self, shared: Mapping[str, pl.Expr] | None = None, **exprs: pl.Expr) -> dict[str, pl.Expr]:
        """Add one step (its expressions may read only earlier steps); returns references to its columns.
        `shared`: helpers of the same step with global keys, as in `shared_step`."""
        names = {key: f"{self.prefix}{key}" for key in exprs}
        names |= {key: f"_shared__{key}" for key in shared or {}}
        self.steps.append([expr.alias(names[key]) for key, expr in {**exprs, **(shared or {})}.items()])
        return {key: pl.col(name) for key, name in names.items()}

    def shared_step(self, **exprs: pl.Expr) -> dict[str, pl.Expr]:
        """Like `step`, but the keys are global names: features of the same level that declare the same key
        at the same step share one column (computed once). The key must therefore identify the expression
        completely, e.g. `mean__log_ret_1__30`."""
        return self.step(shared=exprs)


Builder = Callable[[Params, Sequence[str], Scratch], pl.Expr]


@dataclass(frozen=True)
class Op:
    """`build(params, inputs, scratch)` returns the (un-aliased) expression, optionally after declaring helper
    columns on `scratch`; `warmup(params, w)` returns the number of leading null bars given `w`, the largest
    warm-up among the inputs."""

    build: Builder
    warmup: Warmup


def safe_div(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """num/den, null where den is 0 or null: an undefined ratio is missing, never inf and never invented."""
    return pl.when(den != 0).then(num / den)


def col(name: str) -> pl.Expr:
    return pl.col(name)


class Add(Protocol):
    """Signature of the recipe builder's `add`, which family modules call to declare their specs."""

    def __call__(
        self, name: str, op: str, inputs: Sequence[str], formula: str, model_input: bool, **params: Any
    ) -> None: ...
