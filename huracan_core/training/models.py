"""The per-coin regressor behind one small seam: LightGBM by default, XGBoost selectable.

Why a seam: the trainer, the search and `load_model` must not care which library fits; both save in their
own native format (LightGBM text model, XGBoost UBJSON) — never pickle, so a model file cannot execute code
when loaded and stays readable by the library alone. `device="gpu"` selects the libraries' GPU paths
(LightGBM `device_type="gpu"`, XGBoost `device="cuda"`).

Why `make_data`: binning the rows is part of every fit; the search fits the same rows once per trial, so
each fold's training and validation rows are binned once (LightGBM `Dataset` kept with `free_raw_data=False`,
the validation set binned with the training set's bin edges via `reference=`; an XGBoost `DMatrix`) and
reused by every trial. Only parameters that do not change binning vary per trial (the search space holds
none that do), so a reused dataset is never silently rebuilt.

Why early stopping scores with the caller's function: the search is ranked by an after-cost score, so the
boosting rounds are chosen by the same score on the purged validation rows (`feval`), not by a squared error
that could prefer an untradeable model; the best round count is then part of the chosen parameters.

Objectives (`training.objective`): "regression" (squared error on the label in bps) or "classification"
(binary log-loss on the label's sign; the booster predicts P(label > 0)). Every consumer reads an expected
edge in bps: `edge_bps` turns a probability into (2p − 1) × `edge_scale_bps` (the mean |label| of the
model's own last training rows, recorded in config.json), so the cost threshold means the same for both;
`predict_bps` is what a saved model folder predicts with (classification and meta gate applied).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import lightgbm as lgb
import numpy as np

ModelType = Literal["lightgbm", "xgboost"]
MODEL_TYPES = ("lightgbm", "xgboost")
Objective = Literal["regression", "classification"]
OBJECTIVES = ("regression", "classification")
META_MODEL_FILE = "meta_model.bin"
DEFAULT_MAX_BIN = 255  # the libraries' own default (XGBoost's is 256); training.max_bin sets the trainer's


@dataclass
class FitOutcome:
    booster: Any
    seconds: float
    rounds: int = 0  # boosting rounds kept (the best round under early stopping, else all)
    best_score: float | None = None  # the validation score at `rounds` when early stopping ran


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, not {objective!r}")


def _lgb_base(
    device: str, num_threads: int, seed: int, objective: str = "regression", max_bin: int = DEFAULT_MAX_BIN
) -> dict[str, Any]:
    """Every LightGBM parameter that is not searched: the dataset is binned with exactly these."""
    _check_objective(objective)
    out: dict[str, Any] = {
        "objective": "binary" if objective == "classification" else "regression",
        "max_bin": max_bin,
        "verbosity": -1,
        "num_threads": num_threads,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "feature_pre_filter": False,
    }
    if device == "gpu":
        out["device_type"] = "gpu"
    return out


def _lgb_params(
    params: dict[str, Any],
    device: str,
    num_threads: int,
    seed: int,
    objective: str = "regression",
    max_bin: int = DEFAULT_MAX_BIN,
) -> dict[str, Any]:
    out = {**_lgb_base(device, num_threads, seed, objective, max_bin), **params}
    if out.get("bagging_fraction", 1.0) < 1.0:
        out.setdefault("bagging_freq", 1)
    return out


def _xgb_params(
    params: dict[str, Any],
    device: str,
    num_threads: int,
    seed: int,
    objective: str = "regression",
    max_bin: int = DEFAULT_MAX_BIN,
) -> dict[str, Any]:
    _check_objective(objective)
    mapped = {
        "objective": "binary:logistic" if objective == "classification" else "reg:squarederror",
        "tree_method": "hist",
        "max_bin": max_bin,
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


def make_data(
    model_type: ModelType,
    x: np.ndarray,
    y: np.ndarray,
    *,
    device: str = "cpu",
    num_threads: int = 1,
    seed: int = 42,
    feature_names: list[str] | None = None,
    reference: Any = None,
    objective: Objective = "regression",
    max_bin: int = DEFAULT_MAX_BIN,
) -> Any:
    """The rows binned once for every fit that reuses them (see module doc); `reference` bins a
    validation set with the training set's bin edges."""
    if model_type == "lightgbm":
        data = lgb.Dataset(
            x,
            y,
            feature_name=feature_names or "auto",
            reference=reference,
            params=_lgb_base(device, num_threads, seed, objective, max_bin),
            free_raw_data=False,
        )
        return data.construct()
    if model_type == "xgboost":
        import xgboost as xgb

        return xgb.DMatrix(x, label=y, feature_names=feature_names, nthread=num_threads)
    raise ValueError(f"model_type must be one of {MODEL_TYPES}, not {model_type!r}")


def fit(
    model_type: ModelType,
    params: dict[str, Any],
    x: np.ndarray | None,
    y: np.ndarray | None,
    num_boost_round: int,
    *,
    device: str = "cpu",
    num_threads: int = 1,
    seed: int = 42,
    feature_names: list[str] | None = None,
    data: Any = None,
    valid: Any = None,
    score: Callable[[np.ndarray], float] | None = None,
    early_stopping_rounds: int = 0,
    objective: Objective = "regression",
    max_bin: int = DEFAULT_MAX_BIN,
) -> FitOutcome:
    """Fit one booster on `data` (from `make_data`) or, without it, on (x, y) binned here; `seconds` is the
    library's own time (binning included when done here). With `valid`, `score` (higher is better) and
    `early_stopping_rounds` > 0, boosting stops once `score` on `valid` has not improved for that many
    rounds and the booster keeps the best round (FitOutcome.rounds, .best_score). With
    `objective="classification"` `y` is 0/1 and `score` receives probabilities (both libraries pass a
    built-in objective's transformed output to a custom metric)."""
    start = time.perf_counter()
    if data is None:
        data = make_data(
            model_type,
            x,
            y,
            device=device,
            num_threads=num_threads,
            seed=seed,
            feature_names=feature_names,
            objective=objective,
            max_bin=max_bin,
        )
    stop = valid is not None and score is not None and early_stopping_rounds > 0
    rounds, best = num_boost_round, None
    if model_type == "lightgbm":
        kwargs: dict[str, Any] = {}
        train_params = _lgb_params(params, device, num_threads, seed, objective, max_bin)
        if stop:
            train_params["metric"] = "None"

            def feval(pred: np.ndarray, _data: Any) -> tuple[str, float, bool]:
                return "after_cost", float(score(pred)), True

            kwargs = {
                "valid_sets": [valid],
                "valid_names": ["val"],
                "feval": feval,
                "callbacks": [
                    lgb.early_stopping(early_stopping_rounds, first_metric_only=True, verbose=False)
                ],
            }
        booster = lgb.train(
            train_params, data, num_boost_round=num_boost_round, keep_training_booster=True, **kwargs
        )
        if stop:
            rounds = int(booster.best_iteration) or num_boost_round
            best = float(booster.best_score["val"]["after_cost"])
    elif model_type == "xgboost":
        import xgboost as xgb

        xgb_kwargs: dict[str, Any] = {}
        if stop:

            def metric(pred: np.ndarray, _data: Any) -> tuple[str, float]:
                return "after_cost", float(score(pred))

            xgb_kwargs = {
                "evals": [(valid, "val")],
                "custom_metric": metric,
                "maximize": True,
                "early_stopping_rounds": early_stopping_rounds,
                "verbose_eval": False,
            }
        xgb_params = _xgb_params(params, device, num_threads, seed, objective, max_bin)
        if stop:
            xgb_params["disable_default_eval_metric"] = 1
        booster = xgb.train(xgb_params, data, num_boost_round=num_boost_round, **xgb_kwargs)
        if stop:
            rounds = int(booster.best_iteration) + 1
            best = float(booster.best_score)
    else:
        raise ValueError(f"model_type must be one of {MODEL_TYPES}, not {model_type!r}")
    return FitOutcome(booster, time.perf_counter() - start, rounds, best)


def predict(model_type: ModelType, booster: Any, x: np.ndarray, num_threads: int = 1) -> np.ndarray:
    if model_type == "lightgbm":
        return np.asarray(booster.predict(x, num_threads=num_threads), dtype=float)
    import xgboost as xgb

    return np.asarray(
        booster.predict(xgb.DMatrix(x, feature_names=booster.feature_names, nthread=num_threads)), dtype=float
    )


def edge_bps(raw: np.ndarray, objective: str, edge_scale_bps: float | None) -> np.ndarray:
    """The expected edge (bps) of a booster's output: a regression's prediction as it is, a classifier's
    P(label > 0) as (2p − 1) × `edge_scale_bps`.

    Why this rule: with a label of mean magnitude m and a sign right with probability p, the expected
    label is p·m − (1 − p)·m = (2p − 1)·m (taking the magnitude independent of the sign); m is measured on
    the model's own training rows only, so the edge is point in time and compares with the same round trip
    + safety margin as a regression's."""
    _check_objective(objective)
    out = np.asarray(raw, dtype=float)
    if objective == "regression":
        return out
    if edge_scale_bps is None or not np.isfinite(edge_scale_bps) or edge_scale_bps < 0:
        raise ValueError(f"a classifier needs a finite edge scale >= 0 (bps), got {edge_scale_bps}")
    return (2.0 * out - 1.0) * float(edge_scale_bps)


def meta_inputs(x: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """The meta model's inputs: the primary's inputs plus its expected edge (bps, signed: the side)."""
    return np.column_stack([np.asarray(x, dtype=float), np.asarray(edge, dtype=float)])


def meta_gate(edge: np.ndarray, probability: np.ndarray, threshold: float) -> np.ndarray:
    """The primary's edge where the meta model gives P(profitable after costs) >= `threshold`, else 0
    (flat: the signal rule never trades a zero edge). NaN edges stay NaN (flat as well)."""
    e = np.asarray(edge, dtype=float)
    keep = np.asarray(probability, dtype=float) >= threshold
    return np.where(keep | ~np.isfinite(e), e, 0.0)


def predict_bps(
    model_type: ModelType,
    booster: Any,
    x: np.ndarray,
    config: dict[str, Any],
    meta_booster: Any = None,
    num_threads: int = 1,
) -> np.ndarray:
    """What a saved model folder predicts: the expected edge (bps) under its config.json's `target`
    (objective, edge scale) and, when it was trained with meta-labelling, gated by its meta model
    (`meta_booster`, parsed from the folder's verified `meta_model.bin` by `load_model`). A folder
    without `target` (trained before targets were settings) is a regression on forward returns."""
    raw = predict(model_type, booster, x, num_threads)
    spec = config.get("target") or {}
    edge = edge_bps(raw, spec.get("objective", "regression"), spec.get("edge_scale_bps"))
    meta = spec.get("meta") or {}
    if not meta.get("fitted"):
        return edge
    if meta_booster is None:
        raise ValueError("a model trained with meta-labelling needs its meta model to predict")
    prob = predict(model_type, meta_booster, meta_inputs(x, edge), num_threads)
    return meta_gate(edge, prob, float(meta["threshold"]))


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
