"""The pattern library: minimum support and a Benjamini-Hochberg correction over the night's candidates,
so random walks yield no pattern while a planted one survives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from huracan_core.trades import TradeRecord
from huracan_core.training.learning import benjamini_hochberg, mine_patterns

T0 = datetime(2026, 1, 1, tzinfo=UTC)
COST_BPS = 10.0


def _trades(symbol: str, seed: int, planted: bool = False, n_bars: int = 3000) -> list[TradeRecord]:
    """Trades of a fixed rule (long 3 bars every 5th bar) on a random walk; features from past prices and an
    outside `signal` known at entry. With `planted`, a high signal is followed by a rise (a real pattern)."""
    rng = np.random.default_rng(seed)
    ret = rng.normal(0, 0.01, n_bars)
    signal = rng.normal(0, 1, n_bars)
    if planted:
        ret[1:] += np.where(signal[:-1] > 0.5, 0.01, 0.0)
    price = 100 * np.exp(np.cumsum(ret))
    out = []
    for k, i in enumerate(range(25, n_bars - 4, 5)):
        gross = (price[i + 3] / price[i] - 1) * 1e4
        net = gross - COST_BPS
        feats = {
            "ret_1": float(ret[i]),
            "ret_5": float(price[i] / price[i - 5] - 1),
            "vol_20": float(np.std(ret[i - 19 : i + 1])),
            "hour": float(i % 24),
            "signal": float(signal[i]),
        }
        out.append(
            TradeRecord(
                trade_id=f"{symbol}#{k}",
                model_id=f"{symbol}_m",
                model_version="m",
                symbol=symbol,
                training_date="2026-01-01",
                source="oos_backtest",
                side="long",
                entry_time=T0 + timedelta(hours=i),
                exit_time=T0 + timedelta(hours=i + 3),
                entry_price=float(price[i]),
                exit_price=float(price[i + 3]),
                bars_held=3,
                size=1.0,
                quantity=1.0,
                gross_bps=gross,
                fees_bps=COST_BPS,
                spread_bps=0.0,
                slippage_bps=0.0,
                funding_bps=0.0,
                net_bps=net,
                net_pnl=net / 1e4,
                currency="USDT",
                regime=None,
                volatility=feats["vol_20"],
                is_winner=net > 0,
                features=feats,
            )
        )
    return out


def test_fifty_random_walk_coins_leave_no_pattern_after_the_correction() -> None:
    coins = {f"RW{i:02d}-USDT": _trades(f"RW{i:02d}-USDT", seed=i) for i in range(50)}
    rows = mine_patterns(coins)
    assert len(rows) > 500  # hundreds of conditions were really tried...
    assert sum(r["p_value"] < 0.05 for r in rows) > 5  # ...and some look "significant" on their own
    assert not [r["pattern"] for r in rows if r["survived"]]  # none survives Benjamini-Hochberg
    assert all(r["support"] >= 20 for r in rows)


def test_a_planted_pattern_survives_among_random_walks() -> None:
    coins = {f"RW{i:02d}-USDT": _trades(f"RW{i:02d}-USDT", seed=100 + i) for i in range(20)}
    coins["PLANT-USDT"] = _trades("PLANT-USDT", seed=7, planted=True)
    survivors = [r for r in mine_patterns(coins) if r["survived"]]
    assert survivors and {r["symbol"] for r in survivors} == {"PLANT-USDT"}
    best = max(survivors, key=lambda r: r["win_rate"])
    assert best["feature"] == "signal" and best["lower"] > 0 and best["win_rate"] > best["base_win_rate"]


def test_minimum_support_drops_small_bins() -> None:
    coins = {"RW-USDT": _trades("RW-USDT", seed=3, n_bars=200)}  # ~35 trades: bins of ~12 < 20
    assert mine_patterns(coins) == []
    assert mine_patterns(coins, min_support=5)


def test_benjamini_hochberg_matches_the_textbook_example() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    q = benjamini_hochberg(p)
    assert np.allclose(q, [0.02, 0.04, 0.04, 0.02])
    assert benjamini_hochberg([]) == []


def test_welch_p_values_match_scipy_ttest_ind_pair_by_pair() -> None:
    """The vectorised Welch test gives scipy's own `ttest_ind(equal_var=False)` p-value for every pair, and
    None exactly where the one-call-per-pair form refused one (too few values, constant sides, scipy's
    precision-loss warning)."""
    import warnings

    from scipy import stats

    from huracan_core.training.learning import _welch_p

    rng = np.random.default_rng(7)
    pairs = [
        (rng.normal(0, 1, rng.integers(2, 60)), rng.normal(0.3, 2, rng.integers(2, 60))) for _ in range(40)
    ]
    pairs += [
        (np.array([1.0]), rng.normal(0, 1, 10)),  # a side with one value
        (np.full(8, 3.0), np.full(5, 3.0)),  # both constant
        (np.full(8, 3.0), rng.normal(0, 1, 9)),  # one constant side away from zero: scipy warns
        (np.zeros(6), rng.normal(0, 1, 9)),  # one constant side at zero: scipy does not
        (1e6 + np.array([0.0, 1e-12, 2e-12]), rng.normal(1e6, 1, 9)),  # values equal to within ulps
        (np.array([1.0, 2.0]), np.array([5.0, 5.0, 5.1])),
    ]

    def one_by_one(a: np.ndarray, b: np.ndarray) -> float | None:
        if len(a) < 2 or len(b) < 2 or (np.std(a) == 0 and np.std(b) == 0):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            try:
                p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
            except RuntimeWarning:
                return None
        return p if np.isfinite(p) else None

    expected = [one_by_one(a, b) for a, b in pairs]
    got = _welch_p(pairs)
    assert [e is None for e in expected] == [g is None for g in got]
    assert sum(e is None for e in expected) == 4
    for e, g in zip(expected, got, strict=True):
        if e is not None:
            assert g == pytest.approx(e, rel=1e-9, abs=1e-300)
