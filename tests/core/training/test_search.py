"""The in-fold search's cost savers keep it the same search: rows binned once per search (never rebuilt by
a trial), early stopping on the after-cost score of the purged validation rows, the best round count
refitted, a budget that shrinks only below the configured size, and the same inputs give the same bytes."""

from __future__ import annotations

import json

import lightgbm as lgb
import numpy as np
import pytest

from huracan_core.backtest import run_backtest, trade_sum_bps
from huracan_core.training import models
from huracan_core.training.search import search
from huracan_core.training.trainer import TrainOptions, search_budget, train_coin
from tests.core.training.conftest import DAY, cost_inputs, fast_settings


def _data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    y = 30 * x[:, 0] + rng.normal(scale=40, size=n)  # bps: a signal in column 0 beside noise
    return x, y


def _score(y_val: np.ndarray):
    def score(pred: np.ndarray) -> float:  # long when the prediction clears 10 bps, 10 bps per round trip
        pos = pred > 10
        return float(np.sum(np.where(pos, y_val - 10, 0.0)))

    return score


def _run(x: np.ndarray, y: np.ndarray, **kw: object):
    xf, yf, xv, yv = x[:400], y[:400], x[420:], y[420:]
    args = {
        "model_type": "lightgbm",
        "x_fit": xf,
        "y_fit": yf,
        "x_val": xv,
        "y_val": yv,
        "score": _score(yv),
        "n_trials": 5,
        "seed": 7,
        "num_boost_round": 300,
        "max_leaves": 15,
        "base_lr": 0.05,
    }
    args.update(kw)
    return search(**args)


def test_rows_are_binned_once_per_search_not_per_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[int] = []
    original = lgb.Dataset._lazy_init

    def counting(self, *a, **k):  # type: ignore[no-untyped-def]
        built.append(id(self))
        return original(self, *a, **k)

    monkeypatch.setattr(lgb.Dataset, "_lazy_init", counting)
    x, y = _data()
    res = _run(x, y)
    assert len(res.trials) == 5
    # the fit set and the validation set, each binned once; a trial whose parameters clashed with the
    # binning would make LightGBM rebuild the dataset (silently) and show up here
    assert len(built) == 2, built


def test_early_stopping_keeps_the_best_round_by_the_after_cost_score() -> None:
    x, y = _data()
    score = _score(y[420:])
    data = models.make_data("lightgbm", x[:400], y[:400])
    valid = models.make_data("lightgbm", x[420:], y[420:], reference=data)
    params = {"num_leaves": 31, "learning_rate": 0.3, "min_data_in_leaf": 5}
    out = models.fit(
        "lightgbm", params, None, None, 400, data=data, valid=valid, score=score, early_stopping_rounds=10
    )
    assert 1 <= out.rounds < 400  # a high learning rate on 400 noisy rows overfits well before 400 rounds
    assert out.booster.current_iteration() <= out.rounds + 10
    # the reported score is the after-cost score of the kept round's predictions, and no round scored more
    kept = out.booster.predict(x[420:], num_iteration=out.rounds)
    assert out.best_score == pytest.approx(score(kept))
    every = [
        score(out.booster.predict(x[420:], num_iteration=i))
        for i in range(1, out.booster.current_iteration() + 1)
    ]
    assert out.best_score == pytest.approx(max(every))


def test_the_search_reports_the_best_trials_rounds_and_stops_trials_early() -> None:
    x, y = _data()
    res = _run(x, y, early_stopping_rounds=20)
    best = max(res.trials, key=lambda t: t["score"])
    assert res.best_rounds == best["rounds"]
    assert res.best_score == best["score"]
    assert all(t["rounds"] < 300 for t in res.trials)
    full = _run(x, y, early_stopping_rounds=0)
    assert all(t["rounds"] == 300 for t in full.trials)


def test_budget_shrinks_only_below_the_configured_rows() -> None:
    assert search_budget(500, 10, 200, 0) == (10, 200)  # 0: always the full budget
    assert search_budget(2000, 10, 200, 1000) == (10, 200)
    assert search_budget(500, 10, 200, 1000) == (5, 100)
    assert search_budget(10, 10, 200, 1000) == (3, 50)  # floors
    assert search_budget(10, 2, 30, 1000) == (2, 30)  # never above the configured budget


def test_same_input_gives_identical_model_and_metrics(tmp_path, recipe) -> None:
    from huracan_core.features import build_features
    from huracan_core.paths import EngineHome
    from tests.support.planted import planted_candles

    feats = build_features(planted_candles(11, n_bars=1500), recipe)
    out = []
    for i in range(2):
        home = EngineHome(tmp_path / f"h{i}")
        res = train_coin(
            symbol="PLANT-USDT",
            features=feats,
            recipe=recipe,
            encoder_dir=None,
            cost_inputs=cost_inputs(),
            settings=fast_settings(num_boost_round=120),
            home=home,
            training_date=DAY,
            bar_seconds=3600,
            options=TrainOptions(n_trials=3),
        )
        metrics = json.loads((res.model_dir / "metrics.json").read_text())
        out.append(((res.model_dir / "model.bin").read_bytes(), metrics))
        log = json.loads((res.model_dir / "training_log.json").read_text())
        for fold in log["folds"]:  # each fold's model was refitted with its best trial's rounds
            best = max(fold["trials"], key=lambda t: t["score"])
            assert fold["rounds"] == best["rounds"]
    assert out[0][0] == out[1][0]
    assert out[0][1] == out[1][1]


def test_the_shipped_model_refits_the_last_folds_choice_or_searches_all_rows(
    tmp_path, recipe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """final_search last_fold: the shipped model is every row refitted with the last fold's parameters and
    rounds, with no search of its own (no trials, no after-cost score on rows past that fold's window);
    the walk-forward, so every OOS number and gate, is the one all_rows gives. all_rows searches again."""
    from huracan_core.features import build_features
    from huracan_core.paths import EngineHome
    from huracan_core.training import trainer
    from tests.support.planted import planted_candles

    feats = build_features(planted_candles(13, n_bars=1500), recipe)  # folds that choose differently
    real = trainer.val_score
    scored: dict[str, list[tuple[int, int]]] = {"last_fold": [], "all_rows": []}
    mode = "last_fold"

    def spy(p, lo, hi, market_type):  # type: ignore[no-untyped-def]
        scored[mode].append((lo, hi))
        return real(p, lo, hi, market_type)

    monkeypatch.setattr(trainer, "val_score", spy)
    out = {}
    for mode in ("last_fold", "all_rows"):  # noqa: B007 (spy reads it)
        res = train_coin(
            symbol="PLANT-USDT",
            features=feats,
            recipe=recipe,
            encoder_dir=None,
            cost_inputs=cost_inputs(),
            settings=fast_settings(final_search=mode),
            home=EngineHome(tmp_path / mode),
            training_date=DAY,
            bar_seconds=3600,
            options=TrainOptions(n_trials=3),
        )
        d = res.model_dir
        out[mode] = (
            json.loads((d / "config.json").read_text()),
            json.loads((d / "training_log.json").read_text()),
            json.loads((d / "metrics.json").read_text()),
            scored[mode],
        )
    config, log, metrics, scored = out["last_fold"]
    last = log["folds"][-1]
    assert last["params"] != log["folds"][0]["params"]  # so the test can tell which fold was reused
    assert config["final_search"] == "last_fold" and log["final_trials"] == []
    assert (config["final_params"], config["final_rounds"]) == (last["params"], last["rounds"])
    assert len(scored) == len(log["folds"])  # one score per fold's search, none for the shipped model
    a_config, a_log, a_metrics, a_scored = out["all_rows"]
    assert len(a_log["final_trials"]) == 3 and len(a_scored) == len(log["folds"]) + 1
    assert a_metrics == metrics and a_log["folds"] == log["folds"]


@pytest.mark.parametrize("funding", ["none", "constant", "by_side"])
def test_the_early_stopping_score_is_run_backtests_trade_sum_bit_for_bit(funding: str) -> None:
    """trade_sum_bps (the search's per-round after-cost score) gives exactly the float that summing
    run_backtest's trade returns gives: longs, shorts, flips in one bar, an open last position, varying
    leg costs and funding (constant, or recorded by side), for many random position paths."""
    rng = np.random.default_rng(3)
    n = 400
    prices = 100 * np.exp(np.cumsum(rng.normal(scale=0.01, size=n)))
    leg = rng.uniform(0.0002, 0.002, size=n)
    kw: dict = {}
    if funding == "constant":
        kw = {"funding_per_bar": 1e-5}
    elif funding == "by_side":
        fl = np.where(rng.random(n) < 0.1, rng.normal(scale=1e-4, size=n), 0.0)
        kw = {"funding_long": fl, "funding_short": -fl}
    fast = trade_sum_bps(prices, leg, **kw)
    for _ in range(50):
        target = rng.choice([-1.0, 0.0, 1.0], size=n, p=[0.3, 0.4, 0.3])
        target[rng.random(n) < 0.7] = np.nan  # hold runs: forward-fill to get multi-bar positions
        target = _ffill(target)
        expected = float(
            np.sum(
                run_backtest(
                    prices,
                    target,
                    leg,
                    kw.get("funding_per_bar", 0.0),
                    funding_long=kw.get("funding_long"),
                    funding_short=kw.get("funding_short"),
                ).trade_return
            )
            * 1e4
        )
        assert fast(target) == expected  # the same float, not approximately


def _ffill(a: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs (leading NaNs become 0: flat)."""
    idx = np.where(np.isnan(a), 0, np.arange(len(a)))
    np.maximum.accumulate(idx, out=idx)
    out = a[idx]
    return np.nan_to_num(out, nan=0.0)


def test_max_bin_reaches_the_binning_of_both_libraries() -> None:
    """training.max_bin is what the fold's rows are binned with: fewer bins, fewer distinct split points
    a tree can use (LightGBM), and XGBoost's hist method gets the same number."""
    x, y = _data(n=2000)
    coarse = models.make_data("lightgbm", x, y, max_bin=8)
    fine = models.make_data("lightgbm", x, y)
    assert coarse.get_params()["max_bin"] == 8 and fine.get_params()["max_bin"] == models.DEFAULT_MAX_BIN

    def thresholds(data: object, max_bin: int = models.DEFAULT_MAX_BIN) -> int:
        booster = models.fit(
            "lightgbm", {"num_leaves": 31}, None, None, 50, data=data, max_bin=max_bin
        ).booster
        frame = booster.trees_to_dataframe()
        return int(frame.loc[frame["split_feature"] == "Column_0", "threshold"].nunique())

    assert thresholds(coarse, 8) <= 7 < thresholds(fine)
    assert models._xgb_params({}, "cpu", 1, 0, "regression", 8)["max_bin"] == 8
