"""Targets as settings (issue N.1): triple-barrier labels, the purge over the label's span, a classifier's
after-cost signal, meta-labelling inside the training window only, and what a saved folder predicts live.

Each test pins a property that was checked to fail when the code is broken (the note on each says how).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from huracan_core.atomic import read_json
from huracan_core.config import Settings, TrainingSettings
from huracan_core.features import build_features
from huracan_core.labels import LABEL, add_target_label, label_span, triple_barrier_bps
from huracan_core.paths import EngineHome
from huracan_core.trading.live import model_vote_table
from huracan_core.training import models, trainer
from huracan_core.training.artifacts import load_model
from huracan_core.training.dataset import prepare, trailing_volatility
from huracan_core.training.evaluate import evaluate_predictions
from huracan_core.training.splits import purge_gap
from huracan_core.training.trainer import TrainOptions, fit_meta, train_coin
from tests.core.training.conftest import DAY, FAST, cost_inputs, fast_settings
from tests.support.planted import planted_candles

W = math.log(1.01)  # barrier width (log) of the hand-built bars: vol x sqrt(B) with k = 1


def _bars(rows: list[tuple[float, float, float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    o, h, lo = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    return o, h, lo


def test_first_touch_is_decided_in_bar_order_by_each_bars_high_and_low() -> None:
    """Row 0 enters at open[1] = 100 with barriers 101 / 99.0099 over B = 4 bars. Breaking it (deciding
    by the larger excursion, or the last touch) turns row 0's stop into a profit-take."""
    b = 4
    vol = np.full(8, W / math.sqrt(b))
    #           open   high   low
    rows = [
        (100.0, 100.0, 100.0),  # t = 0: the decision bar (its prices are not in the label)
        (100.0, 100.5, 99.5),  # t+1: inside both
        (99.8, 100.2, 98.9),  # t+2: the stop (99.0099) first
        (99.0, 103.0, 99.0),  # t+3: a larger profit-take later: must not count
        (101.0, 101.0, 100.0),
        (100.0, 100.0, 100.0),  # t+5 = t+1+B: only its open is read (vertical barrier)
        (100.0, 100.0, 100.0),
        (100.0, 100.0, 100.0),
    ]
    label, side, bars = triple_barrier_bps(*_bars(rows), vol, b, 1.0, 1.0)
    assert side[0] == -1 and bars[0] == 2
    assert label[0] == pytest.approx(-W * 1e4)
    assert np.isnan(label[3:]).all()  # t+1+B beyond the last bar: no label yet


def test_gap_both_barriers_in_one_bar_and_the_vertical_barrier() -> None:
    """A gap exits at the gapping open; a bar holding both barriers credits neither side (0 bps); no touch
    by t+B exits at open[t+1+B]."""
    b = 3
    vol = np.full(6, W / math.sqrt(b))
    gap = [(100, 100, 100), (100, 100.5, 99.6), (102.0, 102.5, 101.5), (100, 100, 100), (100, 100, 100)]
    label, side, _ = triple_barrier_bps(*_bars(gap + [(100, 100, 100)]), vol, b, 1.0, 1.0)
    assert side[0] == 1 and label[0] == pytest.approx(math.log(1.02) * 1e4)  # the open, above U
    both = [(100, 100, 100), (100, 101.5, 98.5), (100, 100, 100), (100, 100, 100), (100, 100, 100)]
    label, side, _ = triple_barrier_bps(*_bars(both + [(100, 100, 100)]), vol, b, 1.0, 1.0)
    assert side[0] == 0 and label[0] == 0.0
    calm = [(100, 100, 100), (100, 100.5, 99.5), (100.2, 100.6, 99.6), (100.3, 100.7, 99.7), (100.4, 0, 0)]
    label, side, bars = triple_barrier_bps(*_bars(calm + [(100, 100, 100)]), vol, b, 1.0, 1.0)
    assert side[0] == 0 and bars[0] == b
    assert label[0] == pytest.approx(math.log(100.4 / 100.0) * 1e4)  # open[t+1+B] = open[4]


def _frame(n: int = 300, seed: int = 5) -> pl.DataFrame:
    c = planted_candles(seed, n_bars=n)
    return c.select("timestamp", "open", "high", "low", "close")


def _tb_label(frame: pl.DataFrame, b: int) -> np.ndarray:
    vol, _ = trailing_volatility(frame["close"].to_numpy(), 24)
    out = add_target_label(frame, "triple_barrier", 1, vol, b, 1.0, 1.0)
    return out[LABEL].cast(pl.Float64).fill_null(np.nan).to_numpy()


def test_no_label_reads_a_price_after_its_span_and_each_bar_inside_counts() -> None:
    """label_t reads open/high/low of bars t+1 .. t+B, open[t+1+B] and closes up to t (σ_t). Perturbing every
    price after that leaves it unchanged; perturbing a bar inside it changes it. Breaking it (a span of
    B+1 high/low bars, or σ from a centred window) fails the first assertion."""
    b = 6
    frame = _frame()
    base = _tb_label(frame, b)
    vol, _ = trailing_volatility(frame["close"].to_numpy(), 24)
    _, side, bars = triple_barrier_bps(
        frame["open"].to_numpy(), frame["high"].to_numpy(), frame["low"].to_numpy(), vol, b, 1.0, 1.0
    )
    # a row untouched to its vertical barrier: every bar of its span (and open[t+1+B]) decides it
    t = int(np.flatnonzero((side == 0) & (bars == b) & (np.arange(len(side)) > 100))[0])
    i = np.arange(frame.height)
    after = i > t + 1 + b
    shock = np.where(after, 1.5, 1.0)
    later = frame.with_columns(
        pl.col("open") * shock,
        pl.col("close") * np.where(i > t, 1.5, 1.0),  # every close after the decision bar
        pl.col("high") * np.where(i >= t + 1 + b, 3.0, 1.0),  # t+1+B's range is outside the span
        pl.col("low") * np.where(i >= t + 1 + b, 0.2, 1.0),
    )
    assert _tb_label(later, b)[t] == base[t]
    for j in (t + 1, t + b // 2, t + b):  # a crash inside the span is the stop
        inside = frame.with_columns(pl.col("low") * np.where(i == j, 0.5, 1.0))
        assert _tb_label(inside, b)[t] != base[t]
    exit_open = frame.with_columns(pl.col("open") * np.where(i == t + 1 + b, 1.001, 1.0))
    assert _tb_label(exit_open, b)[t] != base[t]


def test_a_folder_without_a_target_record_predicts_as_a_regression_did() -> None:
    """Model folders written before targets were settings have no config.json `target`: their output is
    read as it always was (bps of a forward-return regression); a classifier's is (2p − 1) × scale."""
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(200, 3)), rng.normal(size=200)
    out = models.fit("lightgbm", {"num_leaves": 4}, x, y, 10)
    raw = models.predict("lightgbm", out.booster, x)
    assert np.array_equal(models.predict_bps("lightgbm", out.booster, x, {}), raw)
    assert models.edge_bps(np.array([0.5, 0.75, 0.0]), "classification", 40.0) == pytest.approx([0, 20, -40])
    gated = models.meta_gate(np.array([12.0, -15.0, np.nan]), np.array([0.7, 0.3, 0.9]), 0.5)
    assert gated[:2] == pytest.approx([12.0, 0.0]) and np.isnan(gated[2])


def test_label_span_and_purge_of_each_target() -> None:
    assert label_span("forward_return", 3, 12) == 3
    assert label_span("triple_barrier", 1, 12) == 12
    assert purge_gap(label_span("triple_barrier", 1, 12), 2) == 15
    s = Settings(**{"training": {"target": "triple_barrier", "objective": "classification"}})
    assert (s.training.target, s.training.objective, s.training.meta_label) == (
        "triple_barrier",
        "classification",
        False,
    )
    d = TrainingSettings()
    assert (d.target, d.objective, d.meta_label) == ("forward_return", "regression", False)


@pytest.fixture(scope="module")
def planted(recipe) -> pl.DataFrame:
    return build_features(planted_candles(1, n_bars=1500), recipe)


def _train(tmp: Path, recipe, feats: pl.DataFrame, options: TrainOptions = FAST, **training: object):
    home = EngineHome(tmp)
    return train_coin(
        symbol="PLANT-USDT",
        features=feats,
        recipe=recipe,
        encoder_dir=None,
        cost_inputs=cost_inputs(),
        settings=fast_settings(**training),
        home=home,
        training_date=DAY,
        bar_seconds=3600,
        options=options,
    )


def test_every_split_purges_the_barrier_span_not_the_horizon(tmp_path, recipe, planted, monkeypatch) -> None:
    """horizon_bars = 1, barrier_bars = 8: the outer folds, each search's inner split and the meta model's
    inner walk-forward must all leave >= 8 + 1 + embargo rows between a training row and a later test row.
    Breaking it (any of them purging horizon_bars + 1) fails here."""
    seen: list[tuple[str, int, int, int]] = []  # (where, last training row, first test row, embargo)
    real_wf, real_inner = trainer.walk_forward, trainer.inner_split

    def wf(n, folds, horizon, embargo, *args, **kwargs):
        out = real_wf(n, folds, horizon, embargo, *args, **kwargs)
        seen.extend(("walk_forward", f.train_end - 1, f.test_start, embargo) for f in out)
        return out

    def inner(lo, hi, horizon, embargo, *args, **kwargs):
        out = real_inner(lo, hi, horizon, embargo, *args, **kwargs)
        if out is not None:
            seen.append(("inner_split", out[0][1] - 1, out[1][0], embargo))
        return out

    monkeypatch.setattr(trainer, "walk_forward", wf)
    monkeypatch.setattr(trainer, "inner_split", inner)
    b = 8
    res = _train(tmp_path, recipe, planted, target="triple_barrier", barrier_bars=b, meta_label=True)
    assert res.skipped_reason is None
    assert {w for w, *_ in seen} == {"walk_forward", "inner_split"}
    assert len([s for s in seen if s[0] == "walk_forward"]) > 3  # outer folds and the meta's inner ones
    for where, last_train, first_test, embargo in seen:
        assert first_test - last_train >= b + 1 + embargo + 1, (where, last_train, first_test)
    splits = read_json(res.model_dir / "split_indices.json")
    assert splits["label_span_bars"] == b and splits["purge_rows"] == b + 1 + 2
    for f in splits["folds"]:
        assert f["test_start"] - f["train_end"] >= b + 1 + 2


def test_classification_trains_end_to_end_and_its_oos_metrics_are_after_costs(
    tmp_path, recipe, planted
) -> None:
    """A classifier on the planted coin: the saved OOS table's predictions are (2p − 1) × the fold's
    edge scale (bps, bounded by it), metrics.json is that table evaluated after costs (net = gross − costs,
    costs > 0), and the shipped folder predicts the same rule live."""
    res = _train(tmp_path, recipe, planted, objective="classification")
    assert res.skipped_reason is None and res.n_trades > 0
    d = res.model_dir
    cfg = read_json(d / "config.json")
    assert cfg["target"]["objective"] == "classification"
    oos = pl.read_parquet(d / "oos_predictions.parquet")
    scales = cfg["target"]["fold_edge_scale_bps"]
    assert all(s is not None and s > 0 for s in scales)
    for k, s in enumerate(scales):
        pred = oos.filter(pl.col("fold") == k)["prediction_bps"].to_numpy()
        assert np.all(np.abs(pred) <= s + 1e-9)
    metrics = read_json(d / "metrics.json")
    again = evaluate_predictions(oos, "spot", metrics["periods_per_year"], metrics["n_trials"])
    assert again["net_pnl_bps"] == pytest.approx(metrics["net_pnl_bps"])
    assert metrics["cost_bps"] > 0
    assert metrics["net_pnl_bps"] == pytest.approx(metrics["gross_pnl_bps"] - metrics["cost_bps"], abs=1e-6)
    assert metrics["target"]["objective"] == "classification"
    model = load_model(d)
    live = model.predict(planted.tail(50))
    prob = models.predict(
        model.model_type, model.booster, planted.tail(50).select(model.input_columns).to_numpy()
    )
    assert np.all((prob >= 0) & (prob <= 1))
    assert live == pytest.approx((2 * prob - 1) * cfg["target"]["edge_scale_bps"])


def test_meta_model_never_reads_a_row_at_or_after_its_window(recipe, planted) -> None:
    """fit_meta on training window [lo, hi): poisoning every row from hi on (inputs, labels, costs) must
    not change the meta model at all. Breaking it (the inner walk-forward over [lo, hi + k), or the meta
    rows taken from the test block) changes the booster."""
    settings = fast_settings(meta_label=True)
    p = prepare(planted, recipe, None, cost_inputs(), settings, DAY, 3600, 24)
    lo, hi = 0, 900
    opts = TrainOptions.resolve(settings, FAST)
    fitted = trainer._search_and_fit(p, lo, hi, settings, opts, "spot", "cpu", 1)
    meta = fit_meta(p, lo, hi, fitted, settings, opts, "spot", "cpu", 1)
    assert meta.fitted and len(meta.rows) >= trainer.MIN_META_ROWS
    assert lo <= meta.rows.min() and meta.rows.max() < hi
    rng = np.random.default_rng(0)
    p.x[hi:] = rng.normal(size=p.x[hi:].shape) * 100
    p.y[hi:] = rng.normal(size=len(p.y) - hi) * 1e4
    p.threshold[hi:] = 0.0
    p.round_trip[hi:] = -1e6
    poisoned = fit_meta(p, lo, hi, fitted, settings, opts, "spot", "cpu", 1)
    assert np.array_equal(poisoned.rows, meta.rows)
    assert models.to_bytes("lightgbm", poisoned.booster) == models.to_bytes("lightgbm", meta.booster)


def test_meta_labelled_folds_learn_inside_their_window_and_the_folder_gates_live(
    tmp_path, recipe, planted
) -> None:
    """train_coin with meta_label: each fold's meta rows end before its training window does (so a purge
    away from its test block), the OOS predictions are the primary's where P >= threshold and 0 elsewhere,
    and the shipped folder (meta_model.bin in its manifest) predicts the same gate live, as the decide
    path's model vote reads it."""
    res = _train(tmp_path, recipe, planted, meta_label=True, min_train_bars=150)
    assert res.skipped_reason is None
    d = res.model_dir
    log = read_json(d / "training_log.json")
    splits = read_json(d / "split_indices.json")
    for fold, f in zip(log["folds"], splits["folds"], strict=True):
        meta = fold["meta"]
        assert meta["fitted"], meta
        assert f["train_start"] <= meta["first_row"] and meta["last_row"] < f["train_end"]
        assert f["test_start"] - meta["last_row"] > splits["purge_rows"]
    oos = pl.read_parquet(d / "oos_predictions.parquet")
    thr = read_json(d / "config.json")["target"]["meta"]["threshold"]
    prim, prob, pred = (oos[c].to_numpy() for c in ("primary_bps", "meta_probability", "prediction_bps"))
    assert np.array_equal(pred, np.where(prob >= thr, prim, 0.0))
    assert (prob < thr).any() and (prob >= thr).any()
    assert "meta_model.bin" in (d / "sha256.txt").read_text()
    model = load_model(d)
    tail = planted.tail(80)
    x = tail.select(model.input_columns).to_numpy()
    primary = models.predict(model.model_type, model.booster, x)
    meta_booster = models.from_bytes(model.model_type, (d / "meta_model.bin").read_bytes())
    p_meta = models.predict(model.model_type, meta_booster, models.meta_inputs(x, primary))
    live = model.predict(tail)
    assert live == pytest.approx(np.where(p_meta >= thr, primary, 0.0))
    votes = model_vote_table(model, tail, np.full(tail.height, 10.0), model.recipe_hash)
    after = tail["timestamp"] > oos["timestamp"].max()  # bars after the last OOS row: the folder votes
    assert after.sum() >= 2
    voted = votes.filter(pl.col("timestamp") > oos["timestamp"].max())["prediction_bps"].to_numpy()
    assert voted == pytest.approx(live[after.to_numpy()])
