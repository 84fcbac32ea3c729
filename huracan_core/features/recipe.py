"""The feature recipe: what is computed (names, ops, parameters, inputs), what the model sees, and a
content hash that a trained model records so it never scores features computed another way.

Why a hash and not just a version string: a version is a promise a human must keep; the hash is computed
from everything that changes the numbers (op, params, inputs, which columns feed the model, timeframe,
version), so any silent edit changes it. Formulas and warm-up lengths are documentation derived from the
same spec and are left out of the hash on purpose: rewording a formula does not change a single value.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from huracan_core.atomic import read_json, write_json

FAMILIES = (
    "returns",
    "trend",
    "volatility",
    "momentum",
    "volume",
    "regime",
    "time",
    "cross_asset",
    "derived",
    "cross_sectional",  # opt-in (default_recipe(..., cross_sectional_family=True))
)


class RecipeMismatchError(Exception):
    """Features were (or would be) computed with a recipe other than the one the model was trained on."""


class FeatureSpec(BaseModel):
    """One output column: how it is computed (op, params, inputs) and how it is used (model_input)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    family: str
    op: str
    params: dict[str, Any] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list)
    formula: str
    warmup: int = Field(ge=0, description="leading bars that are null on a gap-free series")
    model_input: bool

    def hash_payload(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "op": self.op,
            "params": self.params,
            "inputs": self.inputs,
            "model_input": self.model_input,
        }


class FeatureRecipe(BaseModel):
    """An ordered list of feature specs for one timeframe; a spec may only read candle columns, the
    cross-asset reference returns, or features listed before it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    timeframe: str
    features: list[FeatureSpec]

    @property
    def content_hash(self) -> str:
        payload = {
            "version": self.version,
            "timeframe": self.timeframe,
            "features": [f.hash_payload() for f in self.features],
        }
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def model_columns(self) -> list[str]:
        """The stationary columns the model sees, in recipe order."""
        return [f.name for f in self.features if f.model_input]

    def spec(self, name: str) -> FeatureSpec:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"feature {name!r} is not in recipe {self.version} ({self.timeframe})")

    def columns_of(self, family: str) -> list[str]:
        return [f.name for f in self.features if f.family == family]

    def to_json(self) -> dict[str, Any]:
        out = self.model_dump(mode="json")
        out["content_hash"] = self.content_hash
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureRecipe:
        """Parse a recipe; when the document carries a `content_hash` it must match the recomputed one."""
        body = {k: v for k, v in data.items() if k != "content_hash"}
        recipe = cls.model_validate(body)
        recorded = data.get("content_hash")
        if recorded is not None and recorded != recipe.content_hash:
            raise RecipeMismatchError(
                f"recipe document says content_hash {recorded[:12]}… but its contents hash to "
                f"{recipe.content_hash[:12]}…: the file was edited by hand or is corrupt"
            )
        return recipe


def write_recipe(path: str | Path, recipe: FeatureRecipe) -> Path:
    """Write `features.json` atomically (never a half-written recipe next to a model)."""
    return write_json(Path(path), recipe.to_json())


def read_recipe(path: str | Path) -> FeatureRecipe:
    return FeatureRecipe.from_json(read_json(Path(path)))


def check_recipe(expected_hash: str, recipe: FeatureRecipe) -> None:
    """Refuse to score with a recipe other than the one the model recorded at training time."""
    actual = recipe.content_hash
    if expected_hash != actual:
        raise RecipeMismatchError(
            f"feature recipe mismatch: the model was trained on recipe {expected_hash[:12]}… but the features "
            f"come from recipe {actual[:12]}… (version {recipe.version}, timeframe {recipe.timeframe}). "
            "Recompute the features with the model's features.json, or retrain the model."
        )
