"""Consensus weights, score and decisions are point in time, and the engines vote as documented."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from huracan_core.config import TradingSettings
from huracan_core.features import CrossAssetInputs, build_features, default_recipe, equal_weight_market
from huracan_core.labels import forward_log_return_bps
from huracan_core.trading.consensus import Consensus, compute_consensus, decide, engine_weights
from huracan_core.trading.engines import ENGINE_NAMES, MODEL_ENGINE, compute_votes, model_votes
from tests.support.planted import random_walk_candles

T = TradingSettings()


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    coin, btc = random_walk_candles(5, n_bars=1500), random_walk_candles(99, n_bars=1500)
    cross = CrossAssetInputs(btc=btc, eth=None, market=equal_weight_market({"A": coin, "BTC": btc}))
    return build_features(coin, default_recipe("1h"), cross)


def _fake_oos(frame: pl.DataFrame, start: int) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    part = frame.slice(start)
    return pl.DataFrame(
        {
            "timestamp": part["timestamp"],
            "prediction_bps": rng.normal(0, 20, part.height),
            "threshold_bps": np.full(part.height, 12.0),
        }
    )


def _consensus(frame: pl.DataFrame, oos: pl.DataFrame, h: int) -> tuple[np.ndarray, Consensus]:
    votes = compute_votes(frame, oos)
    return votes, compute_consensus(votes, forward_log_return_bps(frame["open"].to_numpy(), h), h, T)


@pytest.mark.parametrize("h", [1, 4])
def test_votes_weights_and_score_unchanged_when_future_bars_are_appended(frame: pl.DataFrame, h: int) -> None:
    oos = _fake_oos(frame, 700)
    cut = 1100
    v_full, full = _consensus(frame, oos, h)
    v_pre, pre = _consensus(
        frame.head(cut), oos.filter(pl.col("timestamp") <= frame["timestamp"][cut - 1]), h
    )
    np.testing.assert_array_equal(v_pre, v_full[:cut])
    for name in ("weights", "accuracy", "score", "score_std", "confidence", "edge_bps"):
        np.testing.assert_array_equal(getattr(pre, name), getattr(full, name)[:cut], err_msg=name)
    thr = np.full(cut, 12.0)
    np.testing.assert_array_equal(
        decide(pre, thr, 0.75, "swap"), decide(full, np.full(frame.height, 12.0), 0.75, "swap")[:cut]
    )
    assert (full.weights[:cut] > 0).any() and (pre.score != 0).any()  # the comparison is not vacuous


def test_an_outcome_counts_only_after_its_label_horizon_closes() -> None:
    """A perfect engine voting from bar 0: with h = 2 the outcome of the vote at s is known at s + 3, so
    its weight turns positive exactly when min_obs outcomes are known, at bar min_obs + 2."""
    n, h, min_obs = 60, 2, 10
    label = np.where(np.arange(n) % 3 == 0, 5.0, -5.0)
    votes = np.column_stack([np.sign(label), -np.sign(label), np.zeros(n)])
    w, acc = engine_weights(votes, label, h, window=200, min_obs=min_obs)
    first = int(np.argmax(w[:, 0] > 0))
    assert first == min_obs + h
    assert (w[:, 1] == 0).all() and (w[:, 2] == 0).all()  # always wrong, never voting
    assert acc[first, 0] == pytest.approx((min_obs + 1) / (min_obs + 2))


def test_decide_needs_both_a_strong_score_and_an_edge_beyond_costs() -> None:
    cons = Consensus(
        score=np.array([0.5, 0.5, 0.1, -0.5, -0.5]),
        score_std=np.full(5, 0.2),
        confidence=np.full(5, 50.0),
        edge_bps=np.array([20.0, 5.0, 20.0, -20.0, -20.0]),
        weights=np.zeros((5, 1)),
        accuracy=np.zeros((5, 1)),
    )
    thr = np.full(5, 12.0)
    assert decide(cons, thr, 0.75, "swap").tolist() == [1, 0, 0, -1, -1]  # weak edge, weak score
    assert decide(cons, thr, 0.75, "spot").tolist() == [1, 0, 0, 0, 0]  # no shorts on spot
    assert decide(cons, thr, np.array([3.0, 0.75, 0.75, 0.75, 3.0]), "swap").tolist() == [0, 0, 0, -1, 0]


def test_every_engine_votes_within_bounds(frame: pl.DataFrame) -> None:
    votes = compute_votes(frame, _fake_oos(frame, 700))
    assert votes.shape == (frame.height, len(ENGINE_NAMES)) and len(ENGINE_NAMES) == 23
    finite = np.isfinite(votes)
    assert np.all(np.abs(votes[finite]) <= 1.0)
    tail = votes[300:]
    silent = [n for n, col in zip(ENGINE_NAMES, tail.T, strict=True) if not np.any(np.nan_to_num(col) != 0)]
    assert silent == [], f"engines that never vote after warm-up: {silent}"


def test_model_engine_joins_on_timestamp_not_row(frame: pl.DataFrame) -> None:
    oos = _fake_oos(frame, 700).sample(fraction=1.0, shuffle=True, seed=1)  # order must not matter
    v = model_votes(frame, oos)
    assert np.isnan(v[:700]).all() and np.isfinite(v[700:]).all()
    i = 900
    pred = oos.filter(pl.col("timestamp") == frame["timestamp"][i])["prediction_bps"][0]
    assert v[i] == pytest.approx(np.tanh(pred / 12.0))
    assert ENGINE_NAMES[-1] == MODEL_ENGINE


def test_whole_plan_is_point_in_time(frame: pl.DataFrame) -> None:
    """Decisions, confidence, costs and the volatility alarm of bar t do not move when bars are appended."""
    from huracan_core.config import Settings
    from huracan_core.costs import CostInputs
    from huracan_core.trading.simulator import plan_coin

    settings = Settings(trading=TradingSettings(breaker_vol_window=100))
    costs = CostInputs(spread_bps=2.0, maker_fee_bps=2.0, taker_fee_bps=4.0, adv_usd=5e8, market_type="swap")
    oos = _fake_oos(frame, 700)
    cut = 1100
    full = plan_coin("A", frame, settings, costs, 3600, oos=oos)
    pre = plan_coin("A", frame.head(cut), settings, costs, 3600, oos=oos)
    for name in (
        "direction",
        "confidence",
        "score",
        "edge_bps",
        "leg_cost",
        "vol_alarm",
        "spread_bps",
        "slippage_bps",
    ):
        np.testing.assert_array_equal(getattr(pre, name), getattr(full, name)[:cut], err_msg=name)
    assert pre.vol_alarm.any() and (pre.direction != 0).any()
