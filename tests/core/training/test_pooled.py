"""The pooled model: one walk-forward by timestamp across coins, purged by every coin's label span, scored
per coin with the per-coin model's evaluation."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
import pytest

from huracan_core.features import build_features, default_recipe
from huracan_core.training.dataset import prepare
from huracan_core.training.evaluate import evaluate_predictions
from huracan_core.training.pooled import PooledResult, train_pooled
from huracan_core.training.trainer import TrainOptions
from tests.core.training.conftest import cost_inputs, fast_settings
from tests.support.planted import planted_candles, random_walk_candles

DAY = date(2026, 1, 10)
HOUR = 3_600_000
HORIZON, EMBARGO = 3, 2
OPTS = TrainOptions(n_trials=2, early_stopping_rounds=0)


def _candles() -> dict[str, pl.DataFrame]:
    gappy = planted_candles(5, n_bars=1500)
    return {
        "PLANT-USDT": planted_candles(1, n_bars=1500),
        # every 5th bar missing: a label span of 4 bars always straddles a gap, so a purge that counts
        # bars as time (t + (1 + h) hours) lets this coin's labels reach into the test block
        "GAPPY-USDT": gappy.filter(pl.int_range(pl.len()) % 5 != 3),
        "LATE-USDT": random_walk_candles(3, n_bars=1500).slice(400),  # listed later than the others
    }


@pytest.fixture(scope="module")
def world() -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame], PooledResult]:
    recipe = default_recipe("1h")
    candles = _candles()
    feats = {s: build_features(c, recipe) for s, c in candles.items()}
    fees = {"PLANT-USDT": 1.0, "GAPPY-USDT": 4.0, "LATE-USDT": 8.0}  # each coin's own costs
    costs = {s: cost_inputs() for s in feats}
    for s, fee in fees.items():
        costs[s] = costs[s].__class__(**{**vars(costs[s]), "taker_fee_bps": fee, "maker_fee_bps": fee})
    settings = fast_settings(horizon_bars=HORIZON, embargo_bars=EMBARGO, min_train_bars=300)
    result = train_pooled(
        feats,
        recipe=recipe,
        encoder_dir=None,
        cost_inputs=costs,
        settings=settings,
        training_date=DAY,
        bar_seconds=3600,
        options=OPTS,
    )
    return candles, feats, result


def _check_purge(candles: dict[str, pl.DataFrame], result: PooledResult, span: int) -> None:
    """Every coin's latest training row of each fold reads its last price (bar t+1+span's open) more than
    `EMBARGO` bars before the fold's first test timestamp."""
    assert len(result.folds) == 3
    for fold in result.folds:
        test_from = datetime.fromisoformat(fold.test_from)
        for symbol, last in fold.train_last_by_coin.items():
            if last is None:
                continue
            bars = candles[symbol]["timestamp"].to_list()
            i = bars.index(datetime.fromisoformat(last))
            label_end = bars[i + 1 + span]  # the last bar whose open the row's label reads
            gap_ms = (test_from - label_end).total_seconds() * 1000
            assert gap_ms > EMBARGO * HOUR, (fold.index, symbol, last, label_end, test_from)
        assert sum(fold.train_rows_by_coin.values()) == fold.train_rows


def test_no_test_blocks_label_span_overlaps_any_coins_training_rows(world) -> None:
    candles, _, result = world
    _check_purge(candles, result, HORIZON)
    assert result.folds[0].train_rows_by_coin["LATE-USDT"] < result.folds[0].train_rows_by_coin["PLANT-USDT"]


def test_a_triple_barrier_label_is_purged_by_its_barrier_span(world) -> None:
    candles, feats, _ = world
    settings = fast_settings(
        horizon_bars=1, embargo_bars=EMBARGO, min_train_bars=300, target="triple_barrier", barrier_bars=6
    )
    result = train_pooled(
        feats,
        recipe=default_recipe("1h"),
        encoder_dir=None,
        cost_inputs={s: cost_inputs() for s in feats},
        settings=settings,
        training_date=DAY,
        bar_seconds=3600,
        options=OPTS,
    )
    _check_purge(candles, result, 6)


def test_a_test_block_is_one_time_range_for_every_coin(world) -> None:
    _, _, result = world
    for symbol, coin in result.coins.items():
        assert coin.skipped_reason is None and coin.oos is not None, symbol
        for fold in result.folds:
            part = coin.oos.filter(pl.col("fold") == fold.index)["timestamp"]
            lo, hi = datetime.fromisoformat(fold.test_from), datetime.fromisoformat(fold.test_to)
            assert part.min() >= lo and part.max() <= hi, (symbol, fold.index)
        assert np.all(np.diff(coin.oos["row"].to_numpy()) == 1)  # the per-coin evaluation's contract


def test_each_coin_is_scored_with_its_own_costs_by_the_per_coin_evaluation(world) -> None:
    _, feats, result = world
    settings = fast_settings(horizon_bars=HORIZON, embargo_bars=EMBARGO, min_train_bars=300)
    thresholds = {}
    for symbol, coin in result.coins.items():
        fee = {"PLANT-USDT": 1.0, "GAPPY-USDT": 4.0, "LATE-USDT": 8.0}[symbol]
        inp = cost_inputs().__class__(**{**vars(cost_inputs()), "taker_fee_bps": fee, "maker_fee_bps": fee})
        p = prepare(feats[symbol], default_recipe("1h"), None, inp, settings, DAY, 3600, OPTS.vol_window)
        rows = coin.oos["row"].to_numpy()
        assert np.array_equal(coin.oos["threshold_bps"].to_numpy(), p.threshold[rows])
        assert np.array_equal(coin.oos["label_bps"].to_numpy(), p.y[rows])
        again = evaluate_predictions(coin.oos, "spot", 24 * 365, result.n_trials_total)
        assert again["net_pnl_bps"] == coin.metrics["net_pnl_bps"] and coin.metrics["trades"] >= 0
        assert coin.gates is not None
        thresholds[symbol] = float(np.median(p.threshold[rows]))
    assert thresholds["PLANT-USDT"] < thresholds["GAPPY-USDT"] < thresholds["LATE-USDT"]


def test_objectives_the_pooled_model_does_not_fit_are_refused() -> None:
    recipe = default_recipe("1h")
    feats = {"PLANT-USDT": build_features(planted_candles(1, n_bars=300), recipe)}
    for training in ({"objective": "classification"}, {"meta_label": True}):
        with pytest.raises(ValueError, match="regression on the label without a meta gate"):
            train_pooled(
                feats,
                recipe=recipe,
                encoder_dir=None,
                cost_inputs={"PLANT-USDT": cost_inputs()},
                settings=fast_settings(**training),
                training_date=DAY,
                bar_seconds=3600,
                options=OPTS,
            )
