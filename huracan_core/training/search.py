"""Hyperparameter search: a fixed, seeded optuna budget inside ONE training window only.

Why this shape: the search sees only a fold's training rows, split in time into a fit part and a purged
validation part (splits.inner_split), so hyperparameters are never chosen on the fold's test block.
TPESampler(seed) makes the search reproducible; the number of trials is reported so the deflated Sharpe
can charge for it. The objective is the after-cost score the caller passes (the same signal rule and
costs as the out-of-sample evaluation), not a statistical loss that could prefer untradeable models.

Cost: the fit rows and the validation rows are binned once per search (models.make_data) and reused by
every trial. With `early_stopping_rounds` > 0 each trial boosts until the after-cost validation score has
not improved for that many rounds (at most `num_boost_round`); its score is the best round's, and the best
trial's round count (`SearchResult.best_rounds`) is what the caller refits with. `max_bin`
(training.max_bin) is the binning both sets share; a boosting round's split finding costs about in
proportion to it, which is most of a trial's time at a night's fold sizes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

from huracan_core.training import models

optuna.logging.set_verbosity(optuna.logging.WARNING)


@dataclass
class SearchResult:
    best_params: dict[str, Any]
    best_score: float
    trials: list[dict[str, Any]] = field(default_factory=list)
    fit_seconds: float = 0.0
    best_rounds: int = 0


def suggest(trial: optuna.Trial, max_leaves: int, base_lr: float) -> dict[str, Any]:
    """The search space, centred on the configured defaults."""
    return {
        "num_leaves": trial.suggest_int("num_leaves", 4, max(8, 2 * max_leaves)),
        "learning_rate": trial.suggest_float("learning_rate", base_lr / 3, min(1.0, base_lr * 3), log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 20, 200, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
    }


def default_params(max_leaves: int, base_lr: float) -> dict[str, Any]:
    return {
        "num_leaves": max_leaves,
        "learning_rate": base_lr,
        "min_data_in_leaf": 20,
        "feature_fraction": 1.0,
        "lambda_l2": 1e-3,
    }


def search(
    *,
    model_type: models.ModelType,
    x_fit: np.ndarray,
    y_fit: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    score: Callable[[np.ndarray], float],
    n_trials: int,
    seed: int,
    num_boost_round: int,
    max_leaves: int,
    base_lr: float,
    device: str = "cpu",
    num_threads: int = 1,
    feature_names: list[str] | None = None,
    early_stopping_rounds: int = 0,
    objective: models.Objective = "regression",
    max_bin: int = models.DEFAULT_MAX_BIN,
) -> SearchResult:
    """Run `n_trials` seeded TPE trials; each fits on (x_fit, y_fit) and is scored on x_val predictions
    (`score` receives the booster's output: probabilities for `objective="classification"`)."""
    start = time.perf_counter()
    common = {
        "device": device,
        "num_threads": num_threads,
        "seed": seed,
        "feature_names": feature_names,
        "objective": objective,
        "max_bin": max_bin,
    }
    fit_data = models.make_data(model_type, x_fit, y_fit, **common)
    val_data = models.make_data(model_type, x_val, y_val, reference=fit_data, **common)
    fit_seconds = time.perf_counter() - start  # binning, once
    log: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        nonlocal fit_seconds
        params = suggest(trial, max_leaves, base_lr)
        out = models.fit(
            model_type,
            params,
            None,
            None,
            num_boost_round,
            data=fit_data,
            valid=val_data,
            score=score,
            early_stopping_rounds=early_stopping_rounds,
            **common,
        )
        fit_seconds += out.seconds
        if out.best_score is not None:
            value = out.best_score
        else:
            value = float(score(models.predict(model_type, out.booster, x_val, num_threads)))
        value = value if np.isfinite(value) else -1e9
        trial.set_user_attr("rounds", out.rounds)
        log.append({"trial": trial.number, "params": params, "rounds": out.rounds, "score": value})
        return value

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.enqueue_trial(default_params(max_leaves, base_lr))
    study.optimize(objective, n_trials=n_trials, show_progress_bar=False)
    best = study.best_trial
    return SearchResult(
        dict(best.params),
        float(best.value),
        log,
        fit_seconds,
        int(best.user_attrs.get("rounds", num_boost_round)),
    )
