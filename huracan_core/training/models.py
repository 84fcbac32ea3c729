"""The per-coin regressor behind one small seam: LightGBM by default, XGBoost selectable.

Why a seam: the trainer, the search and `load_model` must not care which library fits; both save in their
own native format (LightGBM text model, XGBoost UBJSON) — never pickle, so a model file cannot execute code
when loaded and stays readable by the library alone. `device="gpu"` selects the libraries' GPU paths
(LightGBM `device_type="gpu"`, XGBoost `device="cuda"`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

import lightgbm as lgb
import numpy as np

ModelType = Literal["lightgbm", "xgboost"]
MODEL_TYPES = ("lightgbm", "xgboost")


@dataclass
class FitOutcome:
    booster: Any
    seconds: float


def _lgb_params(params: dict[str, Any], device: str, num_threads: int, seed: int) -> dict[str, Any]:
    out = {
        "objective": "regression",
        "verbosity": -1,
        "num_threads": num_threads,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "feature_pre_filter": False,
        **params,
    }
    if device == "gpu":
        out["device_type"] = "gpu"
    return out


def _xgb_params(params: dict[str, Any], device: str, num_threads: int, seed: int) -> dict[str, Any]:
    mapped = {
        "objective": "reg:squarederror",
        "tree_method": "hist",
        "grow_policy": "lossguide",
        "max_leaves": params.get("num_leaves", 15),
        "eta": params.get("learning_rate", 0.05),
        "min_child_weight": params.get("min_data_in_leaf", 20),
        "colsample_bytree": params.get("feature_fraction", 1.0),
        "subsample": params.get("bagging_fraction", 1.0),
        "lambda": params.get("lambda_l2", 1.0),
        "nthread": num_threads,
        "seed": seed,
        "verbosity": 0,
    }
    if device == "gpu":
        mapped["device"] = "cuda"
    return mapped


def fit(
    model_type: ModelType,
    params: dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    num_boost_round: int,
    *,
    device: str = "cpu",
    num_threads: int = 1,
    seed: int = 42,
    feature_names: list[str] | None = None,
) -> FitOutcome:
    """Fit one booster; `seconds` is the library's own fit time (dataset construction included)."""
    start = time.perf_counter()
    if model_type == "lightgbm":
        train_params = _lgb_params(params, device, num_threads, seed)
        if train_params.get("bagging_fraction", 1.0) < 1.0:
            train_params.setdefault("bagging_freq", 1)
        data = lgb.Dataset(x, y, feature_name=feature_names or "auto", params={"verbosity": -1}, free_raw_data=True)
        booster = lgb.train(train_params, data, num_boost_round=num_boost_round)
    elif model_type == "xgboost":
        import xgboost as xgb

        dm = xgb.DMatrix(x, label=y, feature_names=feature_names, nthread=num_threads)
        booster = xgb.train(_xgb_params(params, device, num_threads, seed), dm, num_boost_round=num_boost_round)
    else:
        raise ValueError(f"model_type must be one of {MODEL_TYPES}, not {model_type!r}")
    return FitOutcome(booster, time.perf_counter() - start)


def predict(model_type: ModelType, booster: Any, x: np.ndarray, num_threads: int = 1) -> np.ndarray:
    if model_type == "lightgbm":
        return np.asarray(booster.predict(x, num_threads=num_threads), dtype=float)
    import xgboost as xgb

    return np.asarray(booster.predict(xgb.DMatrix(x, feature_names=booster.feature_names, nthread=num_threads)),
                      dtype=float)


def to_bytes(model_type: ModelType, booster: Any) -> bytes:
    """Native serialisation: LightGBM's text model, XGBoost's UBJSON."""
    if model_type == "lightgbm":
        return booster.model_to_string().encode()
    return bytes(booster.save_raw(raw_format="ubj"))


def from_bytes(model_type: ModelType, data: bytes) -> Any:
    if model_type == "lightgbm":
        return lgb.Booster(model_str=data.decode())
    if model_type == "xgboost":
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(bytearray(data))
        return booster
    raise ValueError(f"model_type must be one of {MODEL_TYPES}, not {model_type!r}")


def gain_importance(model_type: ModelType, booster: Any, columns: list[str]) -> dict[str, float]:
    """Total gain per input column, normalised to sum to 1 (zeros when the model made no split)."""
    if model_type == "lightgbm":
        gains = np.asarray(booster.feature_importance(importance_type="gain"), dtype=float)
    else:
        score = booster.get_score(importance_type="total_gain")
        gains = np.asarray([score.get(c, 0.0) for c in columns], dtype=float)
    total = gains.sum()
    norm = gains / total if total > 0 else np.zeros_like(gains)
    return {c: float(g) for c, g in zip(columns, norm, strict=True)}
