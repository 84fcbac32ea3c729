"""train_coin: artifacts, OOS-only metrics that recompute from the saved predictions, integrity, skipping."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from huracan_core.atomic import IntegrityError, read_json, read_manifest
from huracan_core.features import build_features
from huracan_core.metrics import periods_per_year, sharpe_ratio
from huracan_core.paths import EngineHome
from huracan_core.training.artifacts import (
    FINALS,
    PARTIALS,
    ModelRecipeMismatch,
    complete_models,
    load_model,
)
from huracan_core.training.evaluate import backtest_table, evaluate_predictions
from huracan_core.training.splits import purge_gap
from huracan_core.training.trainer import train_coin
from tests.core.training.conftest import DAY, FAST, cost_inputs, fast_settings
from tests.support.planted import planted_candles


def test_model_folder_has_every_artifact_and_a_verifying_manifest(trained) -> None:
    res = trained.result
    assert res.skipped_reason is None and res.model_dir is not None
    names = set(read_manifest(res.model_dir))
    assert set(PARTIALS) | set(FINALS) <= names
    assert {"encoder/shared_encoder.npz", "encoder/shared_encoder.json"} <= names
    assert res.model_dir.parent == trained.home.model_root("PLANT-USDT")
    assert res.model_id == f"PLANT-USDT_{res.model_dir.name}"
    meta = read_json(res.model_dir / "metadata.json")
    for key in (
        "model_id",
        "symbol",
        "version",
        "training_date",
        "performance_metrics",
        "feature_importance",
        "training_parameters",
    ):
        assert key in meta
    assert meta["training_date"] == DAY.isoformat()
    assert meta["performance_metrics"]["source"].startswith("out-of-sample")
    assert (res.model_dir / "model.bin").read_bytes().startswith(b"tree")  # LightGBM's native text format
    log = read_json(res.model_dir / "training_log.json")
    assert log["status"] == "complete"
    assert res.fit_seconds <= res.train_seconds


def test_metrics_json_is_exactly_the_saved_oos_predictions_evaluated(trained) -> None:
    """Recompute metrics.json from oos_predictions.parquet + split_indices.json: every number must match."""
    d = trained.result.model_dir
    oos = pl.read_parquet(d / "oos_predictions.parquet")
    splits = read_json(d / "split_indices.json")
    stored = read_json(d / "metrics.json")
    # the OOS rows are exactly the union of the folds' test blocks, in time order
    expected_rows = np.concatenate([np.arange(f["test_start"], f["test_end"]) for f in splits["folds"]])
    assert np.array_equal(oos["row"].to_numpy(), expected_rows)
    assert oos["timestamp"].is_sorted()
    # every fold trained strictly before its test block, with the purge gap in between
    gap = purge_gap(splits["horizon_bars"], splits["embargo_bars"])
    for f in splits["folds"]:
        assert f["train_end"] + gap <= f["test_start"]
    # labels in the OOS table are the saved features' labels (no in-sample rows slipped in)
    feats = pl.read_parquet(d / "features.parquet")
    assert np.allclose(feats["label_bps"].to_numpy()[expected_rows], oos["label_bps"].to_numpy())
    recomputed = evaluate_predictions(oos, "spot", periods_per_year(3600), stored["n_trials"])
    for key, value in recomputed.items():
        if isinstance(value, float):
            assert stored[key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
        elif key != "folds":
            assert stored[key] == value, key
    # and the headline Sharpe by hand: √(periods/yr) × mean/std of per-period returns, not a t-stat
    bt, _, _ = backtest_table(oos, "spot")
    by_hand = math.sqrt(365 * 24) * np.mean(bt.returns) / np.std(bt.returns, ddof=1)
    assert stored["sharpe"] == pytest.approx(by_hand, rel=1e-12)
    assert stored["sharpe"] == pytest.approx(sharpe_ratio(bt.returns, 365 * 24))
    assert stored["trades"] == bt.n_trades == trained.result.n_trades


def test_reported_metrics_are_not_the_refit_models_in_sample_numbers(trained) -> None:
    """The shipped model scores far better on its own training rows; metrics.json must not show that."""
    d = trained.result.model_dir
    model = load_model(d)
    oos = pl.read_parquet(d / "oos_predictions.parquet")
    frame = trained.features.filter(pl.col("timestamp").is_in(oos["timestamp"].implode()))
    in_sample = oos.with_columns(pl.Series("prediction_bps", model.predict(frame)))
    ins = evaluate_predictions(in_sample, "spot", periods_per_year(3600), 1)
    assert ins["ic_pearson"] > read_json(d / "metrics.json")["ic_pearson"]
    assert ins["sharpe"] != pytest.approx(trained.result.metrics["sharpe"])


def test_load_model_predicts_and_refuses_a_tampered_file(trained, tmp_path) -> None:
    import shutil

    d = tmp_path / "copy"
    shutil.copytree(trained.result.model_dir, d)
    model = load_model(d, expected_recipe_hash=read_json(d / "features.json")["content_hash"])
    pred = model.predict(trained.features)
    assert pred.shape == (trained.features.height,) and np.isfinite(pred[-100:]).all()
    with pytest.raises(ModelRecipeMismatch):
        load_model(d, expected_recipe_hash="0" * 64)
    (d / "metrics.json").write_text(json.dumps({"sharpe": 99.0}))
    with pytest.raises(IntegrityError, match="metrics.json"):
        load_model(d)


def test_a_folder_without_sha256_is_incomplete_and_never_listed(trained, tmp_path) -> None:
    import shutil

    home = EngineHome(tmp_path)
    dst = home.model_root("PLANT-USDT") / trained.result.model_dir.name
    shutil.copytree(trained.result.model_dir, dst)
    assert complete_models(home, "PLANT-USDT") == [dst]
    (dst / "sha256.txt").unlink()
    assert complete_models(home, "PLANT-USDT") == []
    with pytest.raises(IntegrityError, match="incomplete"):
        load_model(dst)


def test_no_secret_reaches_an_artifact(trained) -> None:
    for path in trained.result.model_dir.rglob("*.json"):
        text = path.read_text().lower()
        assert "token" not in text and "api_secret" not in text and "password" not in text, path


def test_learning_snapshot_compares_with_the_previous_model(trained, recipe) -> None:
    res2 = train_coin(
        symbol="PLANT-USDT",
        features=trained.features,
        recipe=recipe,
        encoder_dir=None,
        cost_inputs=cost_inputs(),
        settings=trained.settings,
        home=trained.home,
        training_date=DAY + timedelta(days=1),
        bar_seconds=3600,
        options=FAST,
    )
    snap = read_json(trained.home.learning_dir() / "20260421Z" / "PLANT-USDT.json")
    assert snap["model_id"] == res2.model_id
    assert snap["previous_model_id"] == trained.result.model_id
    assert "enc_0" in snap["importance"]["removed"]  # the second model was trained without the encoder
    # a rerun (backfill) of the first date compares with models of EARLIER dates only, never the next day's
    train_coin(
        symbol="PLANT-USDT",
        features=trained.features,
        recipe=recipe,
        encoder_dir=None,
        cost_inputs=cost_inputs(),
        settings=trained.settings,
        home=trained.home,
        training_date=DAY,
        bar_seconds=3600,
        options=FAST,
    )
    assert (
        read_json(trained.home.learning_dir() / "20260420Z" / "PLANT-USDT.json")["previous_model_id"] is None
    )


def test_too_short_history_is_skipped_with_numbers(tmp_path, recipe) -> None:
    feats = build_features(planted_candles(5, n_bars=400), recipe)
    res = train_coin(
        symbol="SHORT-USDT",
        features=feats,
        recipe=recipe,
        encoder_dir=None,
        cost_inputs=cost_inputs(),
        settings=fast_settings(),
        home=EngineHome(tmp_path),
        training_date=DAY,
        bar_seconds=3600,
        options=FAST,
    )
    assert res.skipped_reason is not None
    assert "labelled rows" in res.skipped_reason and "need at least" in res.skipped_reason
    assert res.model_dir is None and not res.gates.passed
    assert not (tmp_path / "models").exists()


def test_bars_after_the_training_date_are_never_used(tmp_path, recipe) -> None:
    feats = build_features(planted_candles(6, n_bars=2000), recipe)
    cut_day = feats["timestamp"][1500].date()
    res = train_coin(
        symbol="LATE-USDT",
        features=feats,
        recipe=recipe,
        encoder_dir=None,
        cost_inputs=cost_inputs(),
        settings=fast_settings(),
        home=EngineHome(tmp_path),
        training_date=cut_day,
        bar_seconds=3600,
        options=FAST,
    )
    saved = pl.read_parquet(res.model_dir / "features.parquet")
    assert saved["timestamp"].max().date() <= cut_day
    assert read_json(res.model_dir / "training_log.json")["dropped_rows_after_date"] > 0


def test_genuine_errors_raise(tmp_path, recipe) -> None:
    feats = build_features(planted_candles(7, n_bars=1500), recipe).drop("rsi_14")
    with pytest.raises(ValueError, match="rsi_14"):
        train_coin(
            symbol="BAD-USDT",
            features=feats,
            recipe=recipe,
            encoder_dir=None,
            cost_inputs=cost_inputs(),
            settings=fast_settings(),
            home=EngineHome(tmp_path),
            training_date=DAY,
            bar_seconds=3600,
            options=FAST,
        )


def test_xgboost_is_selectable_and_saved_natively(tmp_path, recipe) -> None:
    from huracan_core.training.trainer import TrainOptions

    feats = build_features(planted_candles(8, n_bars=1500), recipe)
    res = train_coin(
        symbol="XGB-USDT",
        features=feats,
        recipe=recipe,
        encoder_dir=None,
        cost_inputs=cost_inputs(),
        settings=fast_settings(num_boost_round=10),
        home=EngineHome(tmp_path),
        training_date=DAY,
        bar_seconds=3600,
        options=TrainOptions(n_trials=1, model_type="xgboost"),
    )
    model = load_model(res.model_dir)
    assert model.model_type == "xgboost"
    assert (res.model_dir / "model.bin").read_bytes()[:1] == b"{"  # UBJSON object
    assert np.isfinite(model.predict(feats)[-10:]).all()


def test_swap_market_shorts_and_pays_funding(tmp_path, recipe) -> None:
    feats = build_features(planted_candles(9, n_bars=1500), recipe)
    res = train_coin(
        symbol="PERP-USDT",
        features=feats,
        recipe=recipe,
        encoder_dir=None,
        cost_inputs=cost_inputs("swap"),
        settings=fast_settings(),
        home=EngineHome(tmp_path),
        training_date=DAY,
        bar_seconds=3600,
        options=FAST,
    )
    costs = read_json(res.model_dir / "costs.json")
    assert costs["funding_bps"] == pytest.approx(1.0 / 8)
    oos = pl.read_parquet(res.model_dir / "oos_predictions.parquet")
    bt, _, _ = backtest_table(oos, "swap")
    assert (bt.trade_side < 0).any()


def test_a_feature_computed_from_the_future_is_refused(tmp_path, recipe) -> None:
    """A 'lag' that is really a lead (shift(-1)) would give a spectacular, false OOS record."""
    from huracan_core.training.trainer import LeakError

    feats = build_features(planted_candles(10, n_bars=1500), recipe)
    leaked = feats.with_columns(pl.col("ret_1").shift(-1).alias("ret_1_lag_1"))
    with pytest.raises(LeakError, match="ret_1_lag_1"):
        train_coin(
            symbol="LEAK-USDT",
            features=leaked,
            recipe=recipe,
            encoder_dir=None,
            cost_inputs=cost_inputs(),
            settings=fast_settings(),
            home=EngineHome(tmp_path),
            training_date=DAY,
            bar_seconds=3600,
            options=FAST,
        )


def test_train_result_and_train_coin_pickle_for_ray(trained) -> None:
    import pickle

    again = pickle.loads(pickle.dumps(trained.result))
    assert again.model_id == trained.result.model_id and again.gates == trained.result.gates
    assert pickle.loads(pickle.dumps(train_coin)) is train_coin


def test_a_crash_mid_training_leaves_partials_but_no_model(tmp_path, recipe, monkeypatch) -> None:
    from huracan_core.training import trainer

    def boom(*args, **kwargs):
        raise RuntimeError("GPU fell off the bus")

    monkeypatch.setattr(trainer.models, "fit", boom)
    monkeypatch.setattr("huracan_core.training.search.models.fit", boom)
    home = EngineHome(tmp_path)
    feats = build_features(planted_candles(12, n_bars=1500), recipe)
    with pytest.raises(RuntimeError, match="bus"):
        train_coin(
            symbol="CRASH-USDT",
            features=feats,
            recipe=recipe,
            encoder_dir=None,
            cost_inputs=cost_inputs(),
            settings=fast_settings(),
            home=home,
            training_date=DAY,
            bar_seconds=3600,
            options=FAST,
        )
    (folder,) = list(home.model_root("CRASH-USDT").iterdir())
    assert {p.name for p in folder.iterdir()} == set(PARTIALS)
    assert read_json(folder / "training_log.json")["status"] == "training"
    assert complete_models(home, "CRASH-USDT") == []


def test_longer_horizon_purges_more_and_counts_trials(tmp_path, recipe) -> None:
    feats = build_features(planted_candles(13, n_bars=1500), recipe)
    res = train_coin(
        symbol="H3-USDT",
        features=feats,
        recipe=recipe,
        encoder_dir=None,
        cost_inputs=cost_inputs(),
        settings=fast_settings(horizon_bars=3, embargo_bars=1, window="rolling"),
        home=EngineHome(tmp_path),
        training_date=DAY,
        bar_seconds=3600,
        options=FAST,
    )
    splits = read_json(res.model_dir / "split_indices.json")
    for f in splits["folds"]:
        assert f["train_end"] + 3 + 1 + 1 <= f["test_start"]
    assert len({f["train_end"] - f["train_start"] for f in splits["folds"]}) == 1  # rolling window
    assert res.metrics["n_trials"] == FAST.n_trials * len(splits["folds"])  # charged to the deflated Sharpe
    saved = pl.read_parquet(res.model_dir / "features.parquet")
    o = feats.filter(pl.col("timestamp").is_in(saved["timestamp"].implode()))["open"]
    full_open = feats["open"].to_numpy()
    first = int(np.flatnonzero(feats["timestamp"].to_numpy() == saved["timestamp"].to_numpy()[0])[0])
    assert saved["label_bps"][0] == pytest.approx(np.log(full_open[first + 4] / full_open[first + 1]) * 1e4)
    assert len(o) == saved.height


def test_gpu_device_selects_the_libraries_gpu_paths() -> None:
    from huracan_core.training.models import _lgb_params, _xgb_params

    assert _lgb_params({}, "gpu", 1, 0)["device_type"] == "gpu"
    assert "device_type" not in _lgb_params({}, "cpu", 1, 0)
    assert _xgb_params({}, "gpu", 1, 0)["device"] == "cuda"
