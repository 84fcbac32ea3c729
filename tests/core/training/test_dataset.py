"""The training matrix (huracan_core/training/dataset.py): fills at the next bar's open, and point-in-time
per-bar costs (altering candles after t never changes bar t's cost; today's quote never prices history)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl
import pytest

from huracan_core.config import CostSettings, Settings, TrainingSettings
from huracan_core.costs import CostInputs
from huracan_core.features import build_features
from huracan_core.training.dataset import Prepared, cost_report, oos_table, prepare
from huracan_core.training.evaluate import backtest_table
from huracan_core.training.splits import Fold
from tests.core.training.conftest import DAY, cost_inputs
from tests.support.planted import planted_candles

H = 3600


def _settings(horizon: int = 1, **costs: object) -> Settings:
    return Settings(training=TrainingSettings(horizon_bars=horizon), costs=CostSettings(**costs))


@pytest.fixture(scope="module")
def candles() -> pl.DataFrame:
    return planted_candles(1)


@pytest.fixture(scope="module")
def features(candles: pl.DataFrame, recipe) -> pl.DataFrame:
    return build_features(candles, recipe)


def _prep(
    features: pl.DataFrame, recipe, settings: Settings | None = None, inputs: CostInputs | None = None
) -> Prepared:
    return prepare(features, recipe, None, inputs or cost_inputs(), settings or _settings(), DAY, H, 24)


def _by_ts(p: Prepared, column: str) -> dict:
    return dict(zip(p.frame["timestamp"].to_list(), p.frame[column].to_list(), strict=True))


@pytest.mark.parametrize("horizon", [1, 3])
def test_fill_at_row_t_is_the_next_bars_open(features: pl.DataFrame, recipe, horizon: int) -> None:
    """Decision at bar t's close: the fill is open[t+1], the exit grid open[t+2], the label
    ln(open[t+1+h] / open[t+1]); and the OOS backtest of a long decided at t earns open[t+2]/open[t+1]."""
    p = _prep(features, recipe, _settings(horizon))
    open_at = dict(zip(features["timestamp"].to_list(), features["open"].to_list(), strict=True))
    bar = timedelta(seconds=H)
    ts = p.frame["timestamp"].to_list()
    assert len(ts) > 1000
    for i in (0, 1, len(ts) // 2, len(ts) - 1):
        t = ts[i]
        assert p.exec_price[i] == open_at[t + bar]
        assert p.exec_price[i] != open_at[t]  # planted candles: open[t] != open[t+1]
        assert p.next_exec[i] == open_at[t + 2 * bar]
        assert p.y[i] == pytest.approx(
            np.log(open_at[t + (1 + horizon) * bar] / open_at[t + bar]) * 1e4, rel=1e-12
        )
    # through the evaluator: one long decided at row k is bought at open[k+1] and sold at open[k+2]
    fold = Fold(index=0, train_start=0, train_end=100, test_start=200, test_end=260)
    pred = np.full(60, -1e9)
    k = 17
    pred[k] = 1e9
    bt, prices, _ = backtest_table(oos_table(p, fold, pred), "spot")
    t = ts[200 + k]
    assert bt.n_trades == 1
    assert bt.trade_gross_return[0] == pytest.approx(open_at[t + 2 * bar] / open_at[t + bar] - 1, rel=1e-12)


def test_altering_candles_after_t_leaves_the_cost_of_t_unchanged(candles: pl.DataFrame, recipe) -> None:
    base = _prep(build_features(candles, recipe), recipe)
    ts = base.frame["timestamp"].to_list()
    t = ts[len(ts) // 2]
    after = pl.col("timestamp") > t
    altered = candles.with_columns(
        pl.when(after).then(pl.col(c) * f).otherwise(pl.col(c)).alias(c)
        for c, f in (("open", 1.3), ("high", 1.6), ("low", 1.1), ("close", 1.3), ("volume", 0.01))
    )
    alt = _prep(build_features(altered, recipe), recipe)
    for col in ("round_trip_bps", "cost_spread_bps", "cost_adv_usd", "volatility", "cost_slippage_bps"):
        before, changed = _by_ts(base, col), _by_ts(alt, col)
        assert all(changed[s] == before[s] for s in ts if s <= t), col
        assert any(changed[s] != before[s] for s in ts if s > t), col  # the later bars did change
    # the same holds when the bars after t are simply not there yet
    cut = _prep(build_features(candles.filter(pl.col("timestamp") <= t + timedelta(hours=2)), recipe), recipe)
    short = _by_ts(cut, "round_trip_bps")
    full = _by_ts(base, "round_trip_bps")
    assert short and all(short[s] == full[s] for s in short)


def test_cost_of_t_comes_from_the_candles_before_it(candles: pl.DataFrame, recipe) -> None:
    """The cost of a bar depends on the bars of its own windows: a bid-ask bounce (closes alternating at
    the high and the low of a wider range) and thin volume in the 20 bars up to t make t dearer."""
    base = _prep(build_features(candles, recipe), recipe)
    ts = base.frame["timestamp"].to_list()
    t = ts[len(ts) // 2]
    window = (pl.col("timestamp") > t - timedelta(hours=20)) & (pl.col("timestamp") <= t)
    high, low = pl.col("high") * 1.01, pl.col("low") * 0.99
    bounce = pl.when(pl.int_range(pl.len()) % 2 == 0).then(high).otherwise(low)
    wide = candles.with_columns(
        pl.when(window).then(high).otherwise(pl.col("high")).alias("high"),
        pl.when(window).then(low).otherwise(pl.col("low")).alias("low"),
        pl.when(window).then(bounce).otherwise(pl.col("close")).alias("close"),
        pl.when(window).then(pl.col("volume") * 0.001).otherwise(pl.col("volume")).alias("volume"),
    )
    alt = _prep(build_features(wide, recipe), recipe)
    assert _by_ts(alt, "cost_adv_usd")[t] < _by_ts(base, "cost_adv_usd")[t]
    assert _by_ts(alt, "round_trip_bps")[t] > _by_ts(base, "round_trip_bps")[t]
    assert _by_ts(alt, "cost_spread_bps")[t] > _by_ts(base, "cost_spread_bps")[t] + 10


def test_todays_quote_never_prices_history(features: pl.DataFrame, recipe) -> None:
    cheap = _prep(features, recipe, inputs=CostInputs(1.0, 2.0, 4.0, adv_usd=1e10))
    dear = _prep(features, recipe, inputs=CostInputs(80.0, 2.0, 4.0, adv_usd=1e4))
    np.testing.assert_array_equal(cheap.round_trip, dear.round_trip)
    np.testing.assert_array_equal(cheap.threshold, dear.threshold)
    # the quote is reported as the live period only
    report = cost_report(dear, _settings(), CostInputs(80.0, 2.0, 4.0, adv_usd=1e4), np.arange(100, 200), H)
    live = report["live"]
    assert live["spread"]["spread_bps"] == 80.0 and live["adv"]["adv_usd"] == 1e4
    assert live["from"] == "2026-04-21T00:00:00+00:00" and live["round_trip_bps"] > 80.0
    assert report["spread_bps"] < 80.0


@pytest.mark.parametrize("estimator", ["abdi_ranaldo", "corwin_schultz", "default"])
def test_cost_report_names_the_estimator_of_every_period(
    features: pl.DataFrame, recipe, estimator: str
) -> None:
    settings = _settings(spread_estimator=estimator, spread_window_bars=40, adv_window_bars=12)
    p = _prep(features, recipe, settings)
    oos = np.arange(p.frame.height - 500, p.frame.height)
    report = cost_report(p, settings, cost_inputs(), oos, H)
    history = [q for q in report["periods"] if q["role"] == "history"]
    assert report["periods"][-1]["role"] == "live"
    assert sum(q["bars"] for q in history) == p.frame.height
    assert history[0]["from"] == p.frame["timestamp"][0].isoformat()
    assert history[-1]["to"] == p.frame["timestamp"][-1].isoformat()
    names = {q["spread"]["estimator"] for q in history}
    if estimator == "default":
        assert names == {"default_spread_bps"}
    else:
        assert estimator in names
        q = next(q for q in history if q["spread"]["estimator"] == estimator)
        assert (
            q["spread"]["window_bars"] == 40 and q["spread"]["floor_bps"] == settings.costs.spread_floor_bps
        )
        assert q["spread"]["reference"].startswith(
            {"abdi_ranaldo": "Abdi & Ranaldo (2017)", "corwin_schultz": "Corwin & Schultz (2012)"}[estimator]
        )
    assert {q["adv"]["estimator"] for q in history} == {"rolling_quote_volume"}
    assert history[0]["adv"]["window_bars"] == 12
    # the keys the roster reads are the averages over the out-of-sample bars
    assert report["round_trip_bps"] == pytest.approx(float(np.mean(p.round_trip[oos])))
    assert report["spread_bps"] == pytest.approx(float(p.frame["cost_spread_bps"].to_numpy()[oos].mean()))
    assert report["inputs"]["adv_usd"] == pytest.approx(float(p.frame["cost_adv_usd"].to_numpy()[oos].mean()))
    assert report["fee_bps"] == 4.0 and report["avg_slip_bps"] > 0
    assert report["per_bar"]["spread_bps"]["oos"]["min"] >= min(settings.costs.spread_floor_bps, 2.0)
    assert report["averaged_over"]["n"] == 500
