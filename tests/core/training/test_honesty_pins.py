"""Honesty pins (issue 22, item 0): each test fails when one honesty property of the factory is broken.

1. The hyperparameter search and its early stopping see only the fold's training rows (never its test
   rows, nothing after the training window, the inner validation tail purged from the fit part).
2. A trade leg is charged the full cost model of costs.py (fees, spread, slippage, funding), in the
   trainer's evaluation and search score and in the portfolio simulator.
3. The deflated Sharpe charges the trials the search actually ran, and falls strictly as they grow.
4. The trainer applies the configured gate thresholds.
5. The training matrix's shared-encoder codes of rows up to t do not move when rows after t change.

Each gate following its setting and the pinned gate/purge defaults are in tests/core/test_gates.py, the
synthetic tickers' closed bars in tests/core/test_synthetic_market.py; the encoder itself is pinned by
test_encoder.py::test_the_code_at_t_uses_only_data_closed_by_t. Expected values are computed here from
costs.py and the settings directly, never from the code path under test. One train_coin run on 1200
hourly bars takes under a second.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from huracan_core.config import CostSettings, GateSettings, Settings, TrainingSettings
from huracan_core.costs import CostInputs, funding_bps, point_in_time_inputs, slippage_bps
from huracan_core.features import build_features
from huracan_core.gates import evaluate_gates
from huracan_core.metrics import deflated_sharpe
from huracan_core.paths import EngineHome
from huracan_core.trading.simulator import plan_coin, simulate
from huracan_core.training import models, trainer
from huracan_core.training.dataset import Prepared, prepare, trailing_volatility
from huracan_core.training.encoder import fit_shared_encoder
from huracan_core.training.evaluate import backtest_table
from huracan_core.training.splits import purge_gap, walk_forward
from huracan_core.training.trainer import TrainOptions, TrainResult, train_coin
from tests.core.training.conftest import AS_OF, DAY, cost_inputs
from tests.support.planted import planted_candles, random_walk_candles

BAR_S = 3600
N_BARS = 1200
# n_trials 4 with a full-budget size far above the data: every search runs the 3-trial floor, so the
# trials actually run (3 per fold) differ from the configured ones (4 per fold)
OPTS = TrainOptions(n_trials=4, early_stopping_rounds=5, search_full_budget_rows=10**6)
# lax but distinctive gates: each threshold differs from its default
GATES = GateSettings(
    min_sharpe=-3.25,
    min_hit_rate=0.05,
    min_net_pnl_bps=-987.0,
    max_drawdown_pct=97.5,
    min_trades=3,
    min_deflated_sharpe=0.015,
)


def _settings(costs: CostSettings | None = None, gates: GateSettings | None = None) -> Settings:
    training = TrainingSettings(
        num_boost_round=30, folds=3, min_train_bars=300, horizon_bars=1, embargo_bars=2
    )
    return Settings(training=training, costs=costs or CostSettings(), gates=gates or GateSettings())


@pytest.fixture(scope="module")
def feats(recipe) -> pl.DataFrame:
    return build_features(planted_candles(31, n_bars=N_BARS, sigma_bps=120.0), recipe)


def _train(home: Path, feats: pl.DataFrame, recipe, settings: Settings, inputs: CostInputs) -> TrainResult:
    return train_coin(
        symbol="PIN-USDT",
        features=feats,
        recipe=recipe,
        encoder_dir=None,
        cost_inputs=inputs,
        settings=settings,
        home=EngineHome(home),
        training_date=DAY,
        bar_seconds=BAR_S,
        options=OPTS,
    )


# --- 1. the search sees only the fold's training rows --------------------------------------------------


@dataclasses.dataclass
class Spied:
    result: TrainResult
    prepared: Prepared
    fits: list[dict[str, Any]]  # every models.fit call: rows trained and validated on, a refit's model
    val_scores: list[tuple[int, int]]  # (lo, hi) of every after-cost score built for early stopping
    log: dict[str, Any]


def _run_spied(
    home: Path, feats: pl.DataFrame, recipe, mp: pytest.MonkeyPatch, poison_from: int | None = None
) -> Spied:
    """train_coin with spies on what it fits and scores; with `poison_from`, every row-indexed array of
    the training matrix from that row on (inputs, labels, fill prices, costs) is replaced by garbage."""
    seen: dict[str, Any] = {}
    fits: list[dict[str, Any]] = []
    val_scores: list[tuple[int, int]] = []
    real_prepare, real_fit, real_val_score = trainer.prepare, models.fit, trainer.val_score

    def spy_prepare(*a: Any, **k: Any) -> Prepared:
        p = real_prepare(*a, **k)
        if poison_from is not None:
            rng = np.random.default_rng(5)
            s = slice(poison_from, None)

            def garbage(v: np.ndarray, how) -> np.ndarray:  # type: ignore[no-untyped-def]
                v = v.copy()
                v[s] = how(v[s])
                return v

            p = dataclasses.replace(
                p,
                x=garbage(p.x, lambda x: rng.permutation(x[:, ::-1]) * 7.0 + 3.0),
                y=garbage(p.y, lambda y: -50.0 * y + 3000.0),  # absurd labels
                exec_price=garbage(p.exec_price, lambda v: v * np.exp(rng.normal(0, 0.2, len(v)))),
                next_exec=garbage(p.next_exec, lambda v: v * np.exp(rng.normal(0, 0.2, len(v)))),
                threshold=garbage(p.threshold, lambda v: v * 0.0),
                round_trip=garbage(p.round_trip, lambda v: v * 0.0),
                leg=garbage(p.leg, lambda v: v * 0.0),
            )
        seen["p"] = p
        return p

    def rows_of(x: np.ndarray) -> np.ndarray:
        index = seen["index"]
        return np.array([index[r.tobytes()] for r in np.ascontiguousarray(x, dtype=float)])

    def spy_fit(model_type, params, x, y, num_boost_round, **k):  # type: ignore[no-untyped-def]
        if "index" not in seen:
            p = seen["p"]
            seen["index"] = {r.tobytes(): i for i, r in enumerate(np.ascontiguousarray(p.x))}
            assert len(seen["index"]) == len(p.x), "rows of the training matrix must be distinct to spy"
        data, valid = k.get("data"), k.get("valid")
        fits.append(
            {
                "train": rows_of(x if data is None else data.get_data()),
                "valid": None if valid is None else rows_of(valid.get_data()),
            }
        )
        out = real_fit(model_type, params, x, y, num_boost_round, **k)
        if valid is None:  # a refit: keep its model to compare
            fits[-1]["model"] = models.to_bytes(model_type, out.booster)
        return out

    def spy_val_score(p: Prepared, lo: int, hi: int, market_type: str):  # type: ignore[no-untyped-def]
        val_scores.append((lo, hi))
        return real_val_score(p, lo, hi, market_type)

    with mp.context() as m:
        m.setattr(trainer, "prepare", spy_prepare)
        m.setattr(models, "fit", spy_fit)
        m.setattr(trainer, "val_score", spy_val_score)
        result = _train(home, feats, recipe, _settings(gates=GATES), cost_inputs())
    log = json.loads((result.model_dir / "training_log.json").read_text())
    return Spied(result, seen["p"], fits, val_scores, log)


@pytest.fixture(scope="module")
def spied(tmp_path_factory: pytest.TempPathFactory, feats, recipe) -> Spied:
    with pytest.MonkeyPatch.context() as mp:
        return _run_spied(tmp_path_factory.mktemp("spied"), feats, recipe, mp)


def _folds(n: int) -> list:
    t = _settings().training
    return walk_forward(n, t.folds, t.horizon_bars, t.embargo_bars, t.window, t.min_train_bars, 20)


def _by_search(fits: list[dict[str, Any]]) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
    """Group the fit calls: each search's trials (fits with validation rows), then its refit."""
    out, trials = [], []
    for f in fits:
        if f["valid"] is not None:
            trials.append(f)
        else:
            out.append((trials, f))
            trials = []
    return out


def test_search_and_early_stopping_see_only_the_folds_training_rows(spied: Spied) -> None:
    """Every trial trains on a contiguous block at the start of the fold's training window and is scored
    (early stopping included) on a contiguous tail that ends at the window's end, with the purge
    (horizon + 1 + embargo rows) between them; the fold's refit trains on exactly its window. The shipped
    model is refitted on every row, after its own search (final_search all_rows) or none (last_fold)."""
    t = _settings().training
    gap = purge_gap(t.horizon_bars, t.embargo_bars)
    n = spied.prepared.frame.height
    folds = _folds(n)
    searches = _by_search(spied.fits)
    assert len(searches) == len(folds) + 1  # one search per fold, then the final model's refit on all rows
    windows = [(f.train_start, f.train_end, f.test_start) for f in folds] + [(0, n, n)]
    scored = iter(spied.val_scores)
    for (trials, refit), (start, end, test_start) in zip(searches, windows, strict=True):
        assert end + (gap if end < n else 0) <= test_start
        if end == n and t.final_search == "last_fold":  # no search of its own: the last fold's choice
            assert trials == [] and np.array_equal(refit["train"], np.arange(0, n))
            assert next(scored, None) is None  # and no after-cost score on rows past the last fold's
            continue
        assert len(trials) == 3  # the shrunk budget: 3 trials
        for trial in trials:
            fit, val = trial["train"], trial["valid"]
            assert np.array_equal(fit, np.arange(fit[0], fit[-1] + 1)), "fit rows not contiguous"
            assert np.array_equal(val, np.arange(val[0], val[-1] + 1)), "validation rows not contiguous"
            assert fit[0] == start and val[-1] == end - 1  # inside the training window, up to its end
            assert fit[-1] + 1 + gap <= val[0]  # validation tail purged from the fit part
        lo, hi = next(scored)  # the after-cost score early stopping ranks rounds by: the same tail
        assert (lo, hi) == (trials[0]["valid"][0], trials[0]["valid"][-1] + 1)
        assert np.array_equal(refit["train"], np.arange(start, end))


def test_poisoned_rows_after_a_folds_window_change_nothing_it_learnt(
    spied: Spied, tmp_path: Path, feats, recipe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Garbage in every row from the first fold's purge on (absurd labels, scrambled inputs, random fill
    prices, zero costs): the first fold's trials (parameters, scores, rounds) and its refitted model are
    unchanged; the second fold, which may see some of those rows, does change (the poison is strong)."""
    t = _settings().training
    first = _folds(spied.prepared.frame.height)[0]
    poison_from = first.test_start - purge_gap(t.horizon_bars, t.embargo_bars)
    poisoned = _run_spied(tmp_path, feats, recipe, monkeypatch, poison_from=poison_from)
    base_fold, bad_fold = spied.log["folds"][0], poisoned.log["folds"][0]
    assert bad_fold["trials"] == base_fold["trials"]
    assert (bad_fold["params"], bad_fold["rounds"]) == (base_fold["params"], base_fold["rounds"])
    assert poisoned.fits[3]["model"] == spied.fits[3]["model"]  # fold 0's refit (after its 3 trials)
    assert poisoned.fits[3]["valid"] is None and poisoned.fits[7]["valid"] is None
    assert spied.log["folds"][1]["trials"] != poisoned.log["folds"][1]["trials"]
    assert poisoned.fits[7]["model"] != spied.fits[7]["model"]  # fold 1's refit


# --- 2. every leg pays the full cost model ----------------------------------------------------------------

ZERO = {
    "maker_fee_bps": 0.0,
    "taker_fee_bps": 0.0,
    "default_spread_bps": 0.0,
    "spread_estimator": "default",
    "slippage_impact_coef": 0.0,
    "funding_bps_per_8h": 0.0,
}
# each component alone at a distinctive value, then all of them with the per-bar spread estimator
COST_CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "fee": ({"maker_fee_bps": 1.0, "taker_fee_bps": 7.0}, {}),  # taker (use_maker off), maker distinct
    "spread": ({}, {"default_spread_bps": 11.0}),
    "slippage": ({}, {"slippage_impact_coef": 0.6, "trade_size_usd": 20_000.0}),
    "funding": ({"market_type": "swap"}, {"funding_bps_per_8h": 24.0}),
    "all": (
        {"maker_fee_bps": 2.0, "taker_fee_bps": 4.0, "market_type": "swap"},
        {"spread_estimator": "abdi_ranaldo", "slippage_impact_coef": 0.2, "funding_bps_per_8h": 8.0},
    ),
}


def _case(name: str) -> tuple[CostInputs, CostSettings]:
    inputs, costs = COST_CASES[name]
    base = {"spread_bps": 0.0, "maker_fee_bps": 0.0, "taker_fee_bps": 0.0, "adv_usd": 5e8}
    return CostInputs(**{**base, **inputs}), CostSettings(**{**ZERO, **costs})


@dataclasses.dataclass(frozen=True)
class Expected:
    """What costs.py says each bar of the candle frame costs: per leg (bps) and funding per bar held (bps)."""

    leg_bps: dict[Any, float]  # by bar timestamp
    funding_bar_bps: float
    round_trip_bps: dict[Any, float]


def _expected(frame: pl.DataFrame, settings: Settings, inputs: CostInputs, vol_window: int) -> Expected:
    c = settings.costs
    frame = frame.sort("timestamp")
    close = frame["close"].to_numpy().astype(float)
    pit = point_in_time_inputs(
        frame["high"].to_numpy(), frame["low"].to_numpy(), close, frame["volume"].to_numpy(), c, BAR_S
    )
    vol, _ = trailing_volatility(close, vol_window)
    fee = inputs.maker_fee_bps if c.use_maker else inputs.taker_fee_bps
    leg = fee + pit.spread_bps / 2.0 + np.asarray(slippage_bps(c, pit.adv_usd, vol, BAR_S))
    h = settings.training.horizon_bars
    ts = frame["timestamp"].to_list()
    rt = 2.0 * leg + funding_bps(inputs, c, h, BAR_S)
    return Expected(
        dict(zip(ts, leg.tolist(), strict=True)),
        funding_bps(inputs, c, 1, BAR_S),
        dict(zip(ts, rt.tolist(), strict=True)),
    )


def _trades(
    prices: np.ndarray, position: np.ndarray, leg: np.ndarray, funding: float
) -> list[tuple[int, int, int, float, float]]:
    """(side, entry, exit, net, gross) of each round trip of `position` filled at `prices`, in the
    all-in compounding account of backtest.py written out by hand: an entry leg buys E / (1 + f_a),
    a long returns r (1 - f_b), a short the collateral 2 - r minus r f_b, funding (1 - f) per bar held."""
    out = []
    pos = position.copy()
    pos[-1] = 0.0
    prev, entry = 0.0, 0
    for i, cur in enumerate(pos):
        if cur != prev:
            if prev != 0:
                r, k = prices[i] / prices[entry], i - entry
                keep = (1.0 - funding) ** k / (1.0 + leg[entry])
                if prev > 0:
                    out.append((1, entry, i, keep * r * (1.0 - leg[i]) - 1.0, r - 1.0))
                else:
                    out.append((-1, entry, i, keep * (2.0 - r - r * leg[i]) - 1.0, 1.0 - r))
            if cur != 0:
                entry = i
        prev = cur
    return out


def _signal(pred: np.ndarray, threshold: np.ndarray, market_type: str) -> np.ndarray:
    short = (pred < -threshold) & (market_type == "swap")
    return np.where(pred > threshold, 1.0, np.where(short, -1.0, 0.0))


@pytest.mark.parametrize("case", list(COST_CASES))
def test_the_trainers_evaluation_charges_the_full_cost_model(
    case: str, tmp_path: Path, feats, recipe
) -> None:
    """metrics.json's net PnL is the sum of its trades, each charged both legs (fee + half spread +
    slippage, costs.py) and funding per bar held, and traded by the rule against the full round trip."""
    inputs, costs = _case(case)
    settings = _settings(costs)
    res = _train(tmp_path, feats, recipe, settings, inputs)
    exp = _expected(feats, settings, inputs, OPTS.vol_window)
    oos = pl.read_parquet(res.model_dir / "oos_predictions.parquet")
    metrics = json.loads((res.model_dir / "metrics.json").read_text())
    ts = oos["timestamp"].to_list()
    leg_bps = np.array([exp.leg_bps[t] for t in ts])
    rt = np.array([exp.round_trip_bps[t] for t in ts])
    assert oos["leg_cost"].to_numpy() * 1e4 == pytest.approx(leg_bps, rel=1e-9, abs=1e-9)
    assert oos["round_trip_bps"].to_numpy() == pytest.approx(rt, rel=1e-9, abs=1e-9)
    threshold = rt + costs.safety_margin_bps
    assert oos["threshold_bps"].to_numpy() == pytest.approx(threshold, rel=1e-9)
    prices = np.append(oos["exec_price"].to_numpy(), oos["next_exec_price"][-1])
    position = np.append(_signal(oos["prediction_bps"].to_numpy(), threshold, inputs.market_type), 0.0)
    leg = np.append(leg_bps, leg_bps[-1]) / 1e4
    trades = _trades(prices, position, leg, exp.funding_bar_bps / 1e4)
    assert len(trades) >= 10 and metrics["trades"] == len(trades)
    assert metrics["net_pnl_bps"] == pytest.approx(sum(t[3] for t in trades) * 1e4, rel=1e-9, abs=1e-6)
    assert metrics["gross_pnl_bps"] == pytest.approx(sum(t[4] for t in trades) * 1e4, rel=1e-9, abs=1e-6)
    if inputs.market_type == "swap":
        assert any(t[0] < 0 for t in trades) and any(t[0] > 0 for t in trades)


@pytest.mark.parametrize("case", list(COST_CASES))
def test_the_searchs_after_cost_score_charges_the_full_cost_model(case: str, feats, recipe) -> None:
    """The score the search and its early stopping rank by is the same full charge, on the rows scored."""
    inputs, costs = _case(case)
    settings = _settings(costs)
    p = prepare(feats, recipe, None, inputs, settings, DAY, BAR_S, OPTS.vol_window)
    exp = _expected(feats, settings, inputs, OPTS.vol_window)
    lo, hi = 400, 700
    i = np.arange(hi - lo)
    pred = np.where((i // 7) % 3 == 0, 1e4, np.where((i // 7) % 3 == 1, -1e4, 0.0))  # clears any threshold
    score = trainer.val_score(p, lo, hi, inputs.market_type)(pred)
    leg_bps = np.array([exp.leg_bps[t] for t in p.frame["timestamp"][lo:hi].to_list()])
    prices = np.append(p.exec_price[lo:hi], p.next_exec[hi - 1])
    position = np.append(_signal(pred, np.zeros(len(pred)), inputs.market_type), 0.0)
    trades = _trades(prices, position, np.append(leg_bps, leg_bps[-1]) / 1e4, exp.funding_bar_bps / 1e4)
    assert len(trades) >= 10
    assert score == pytest.approx(sum(t[3] for t in trades) * 1e4, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("case", list(COST_CASES))
def test_the_portfolio_simulator_charges_the_full_cost_model(case: str, feats) -> None:
    """Each closed position of the simulated account pays, in account currency, both legs' notional x
    (fee + half spread + slippage) of its bar, plus funding on the position's value at each close held;
    the account's cash pays exactly that."""
    inputs, costs = _case(case)
    settings = _settings(costs)
    plan = plan_coin("PIN-USDT", feats, settings, inputs, BAR_S)
    n = len(plan.timestamp_ms)
    i = np.arange(n)
    want = np.where((i // 9) % 3 == 0, 1.0, np.where((i // 9) % 3 == 1, -1.0, 0.0))
    if inputs.market_type == "spot":
        want = np.maximum(want, 0.0)
    want[:100] = 0.0  # past the features' warm-up (ATR known)
    plan = dataclasses.replace(plan, direction=want, confidence=np.full(n, 60.0))
    result = simulate([plan], settings.trading)
    exp = _expected(feats, settings, inputs, 24)
    leg = np.array([exp.leg_bps[t] for t in feats.sort("timestamp")["timestamp"].to_list()]) / 1e4
    f = exp.funding_bar_bps / 1e4
    assert len(result.trades) >= 10
    total_gross = total_cost = 0.0
    for t in result.trades:
        qty = abs(t.quantity)
        held = range(t.entry_index, t.exit_index + (1 if t.exit_reason == "end" else 0))
        cost = (
            qty * t.entry_price * leg[t.entry_index]
            + qty * t.exit_price * leg[t.exit_index]
            + sum(qty * plan.close[k] * f for k in held)
        )
        assert t.costs == pytest.approx(cost, rel=1e-9, abs=1e-15), (t.exit_reason, t.entry_index)
        assert t.gross_pnl == pytest.approx(t.quantity * (t.exit_price - t.entry_price), rel=1e-12)
        total_gross += t.gross_pnl
        total_cost += cost
    assert result.equity[-1] == pytest.approx(1.0 + total_gross - total_cost, rel=1e-12)
    if inputs.market_type == "swap":
        assert {t.side for t in result.trades} == {-1, 1}


# --- 3. the deflated Sharpe charges the trials the search ran; 4. the configured gates apply ----------


def test_the_deflated_sharpe_charges_the_trials_the_search_actually_ran(spied: Spied) -> None:
    """The budget shrank to 3 trials a fold (4 configured): metrics.json counts the trials recorded in
    training_log.json, and its deflated Sharpe is the one of the OOS returns at that count."""
    folds = spied.log["folds"]
    ran = sum(len(f["trials"]) for f in folds)
    assert ran == 3 * len(folds) != OPTS.n_trials * len(folds)
    metrics = json.loads((spied.result.model_dir / "metrics.json").read_text())
    assert metrics["n_trials"] == ran
    oos = pl.read_parquet(spied.result.model_dir / "oos_predictions.parquet")
    returns = backtest_table(oos, "spot")[0].returns
    dsr = deflated_sharpe(returns, ran)["dsr"]
    assert metrics["deflated_sharpe"] == pytest.approx(dsr, rel=1e-12)
    # the count matters at this Sharpe: the configured count (or none) would report another number
    assert (
        deflated_sharpe(returns, OPTS.n_trials * len(folds))["dsr"] < dsr < deflated_sharpe(returns, 1)["dsr"]
    )


def test_the_trainer_applies_the_configured_gate_thresholds(spied: Spied) -> None:
    """Every gate check of the trained coin uses the threshold of settings.gates (each one moved away from
    its default), and the verdict is the configured gates' verdict on the reported metrics."""
    metrics = json.loads((spied.result.model_dir / "metrics.json").read_text())
    thresholds = {c["name"]: c["threshold"] for c in metrics["gates"]["checks"]}
    assert thresholds == {
        "sharpe": GATES.min_sharpe,
        "hit_rate": GATES.min_hit_rate,
        "net_pnl_bps": GATES.min_net_pnl_bps,
        "max_drawdown_pct": GATES.max_drawdown_pct,
        "trades": GATES.min_trades,
        "deflated_sharpe": GATES.min_deflated_sharpe,
    }
    stored = {k: v for k, v in metrics.items() if k != "gates"}
    assert metrics["gates"] == evaluate_gates(stored, GATES).to_json() == spied.result.gates.to_json()


# --- 5. the training matrix's encoder codes are point in time --------------------------------------------


def test_training_codes_up_to_t_do_not_move_when_rows_after_t_change(tmp_path: Path, recipe) -> None:
    """The trainer's matrix (dataset.prepare with the day's shared encoder): every input of a row closed by
    t, the enc_* codes included, is the same when every feature after t (of every coin) changes and the
    encoder is refitted on the changed rows."""
    frames = {
        "AAA-USDT": build_features(planted_candles(41, n_bars=1500), recipe),
        "BBB-USDT": build_features(random_walk_candles(42, n_bars=1500), recipe),
    }
    t = frames["AAA-USDT"]["timestamp"][1000]
    changed = {
        s: f.with_columns(
            pl.when(pl.col("timestamp") > t).then(pl.col(c) * 3 + 1).otherwise(pl.col(c)).alias(c)
            for c in recipe.model_columns
        )
        for s, f in frames.items()
    }
    settings = _settings()
    out = []
    for name, feats in (("base", frames), ("changed", changed)):
        fit_shared_encoder(feats, recipe, AS_OF, tmp_path / name, refit_days=10, bar_seconds=BAR_S)
        p = prepare(feats["AAA-USDT"], recipe, tmp_path / name, cost_inputs(), settings, DAY, BAR_S, 24)
        out.append(p)
    base, moved = out
    enc = [i for i, c in enumerate(base.inputs) if c.startswith("enc_")]
    assert base.inputs == moved.inputs and enc
    upto = (base.frame["timestamp"] <= t).to_numpy()
    assert np.isfinite(base.x[upto][:, enc]).all(axis=1).sum() > 300  # codes exist before t
    assert np.array_equal(base.x[upto], moved.x[upto], equal_nan=True)
    assert not np.array_equal(base.x[~upto][:, enc], moved.x[~upto][:, enc], equal_nan=True)


def test_the_deflated_sharpe_falls_strictly_as_the_trial_count_grows() -> None:
    """Same returns, more trials: the expected best skill-less Sharpe rises and the deflated Sharpe falls,
    strictly at every step, in metrics.deflated_sharpe and in the two reports built on it (the trainer's
    evaluate_predictions and the simulator's simulation_metrics)."""
    from huracan_core.metrics import periods_per_year
    from huracan_core.trading.simulator import SimulationResult, simulation_metrics
    from huracan_core.training.evaluate import evaluate_predictions

    returns = np.random.default_rng(3).normal(0.0008, 0.01, 2000)  # t ≈ 3.6: neither 0 nor 1 at any count
    counts = [1, 2, 3, 4, 5, 8, 10, 20, 50, 100, 1000, 10**5]
    ds = [deflated_sharpe(returns, k) for k in counts]
    assert all(0.0 < d["dsr"] < 1.0 for d in ds)
    assert all(a["dsr"] > b["dsr"] for a, b in zip(ds, ds[1:], strict=False))
    assert all(a["sr0"] < b["sr0"] for a, b in zip(ds, ds[1:], strict=False))
    assert [d["n_trials"] for d in ds] == counts

    equity = np.cumprod(1.0 + returns)
    sim = SimulationResult(np.arange(len(returns)), equity, [], [], np.zeros(len(returns)))
    ppy = periods_per_year(BAR_S)
    sim_dsr = [simulation_metrics(sim, ppy, k)["deflated_sharpe"] for k in counts]
    assert sim_dsr == pytest.approx([d["dsr"] for d in ds], rel=1e-9)

    n = 400  # an OOS table that is long on every row: its backtest returns follow the prices
    prices = 100.0 * np.cumprod(1.0 + returns[: n + 1])
    ts = pl.datetime_range(AS_OF, AS_OF + pl.duration(hours=n - 1), "1h", eager=True)
    table = pl.DataFrame(
        {
            "row": np.arange(n),
            "timestamp": ts,
            "fold": np.zeros(n, dtype=np.int64),
            "prediction_bps": np.full(n, 100.0),
            "label_bps": np.zeros(n),
            "threshold_bps": np.full(n, 10.0),
            "round_trip_bps": np.full(n, 7.0),
            "leg_cost": np.full(n, 3.5e-4),
            "exec_price": prices[:n],
            "next_exec_price": prices[1:],
        }
    )
    rets = backtest_table(table, "spot")[0].returns
    reported = [evaluate_predictions(table, "spot", ppy, k)["deflated_sharpe"] for k in counts[:6]]
    assert reported == pytest.approx([deflated_sharpe(rets, k)["dsr"] for k in counts[:6]], rel=1e-12)
    assert all(a > b for a, b in zip(reported, reported[1:], strict=False))
