"""The factory's promise, tested end to end (features → shared encoder → train_coin → gates):
random-walk coins almost never pass the gates, coins with a planted cost-beating signal almost always do.

Hourly bars over 150 days (3600 bars) so that trades > 100 is reachable; few optuna trials, small
num_boost_round and one thread keep each coin around a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from huracan_core.features import build_features
from huracan_core.paths import EngineHome
from huracan_core.training.encoder import fit_shared_encoder
from huracan_core.training.trainer import TrainResult, train_coin
from tests.core.training.conftest import AS_OF, DAY, FAST, cost_inputs, fast_settings
from tests.support.planted import planted_candles, random_walk_candles

N_RANDOM = 50
N_PLANTED = 20
N_RANDOM_FAST = 8
N_PLANTED_FAST = 5


def _run(home: Path, candles_by_symbol: dict, recipe) -> list[TrainResult]:
    home_ = EngineHome(home)
    feats = {s: build_features(c, recipe) for s, c in candles_by_symbol.items()}
    enc_dir = home_.encoder_dir(DAY)
    fit_shared_encoder(feats, recipe, AS_OF, enc_dir)
    settings = fast_settings()
    return [
        train_coin(
            symbol=s,
            features=f,
            recipe=recipe,
            encoder_dir=enc_dir,
            cost_inputs=cost_inputs(),
            settings=settings,
            home=home_,
            training_date=DAY,
            bar_seconds=3600,
            options=FAST,
        )
        for s, f in feats.items()
    ]


def _names(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i}-USDT" for i in range(n)]


def _random_walks(tmp_path: Path, recipe, n: int) -> None:
    coins = {s: random_walk_candles(1000 + i) for i, s in enumerate(_names("RW", n))}
    results = _run(tmp_path, coins, recipe)
    passed = [r.symbol for r in results if r.passed]
    assert all(r.skipped_reason is None for r in results)
    print(f"random walks passing the gates: {len(passed)}/{n} {passed}")
    assert len(passed) <= 0.05 * n


def _planted(tmp_path: Path, recipe, n: int) -> None:
    coins = {s: planted_candles(2000 + i) for i, s in enumerate(_names("PL", n))}
    results = _run(tmp_path, coins, recipe)
    passed = [r for r in results if r.passed]
    failed = {r.symbol: r.gates.summary() for r in results if not r.passed}
    print(f"planted coins passing the gates: {len(passed)}/{n}; failures {failed}")
    assert len(passed) >= 0.8 * n


@pytest.mark.slow
def test_50_random_walk_coins_fail_the_gates(tmp_path, recipe) -> None:
    """~55 s on 2 shared cores."""
    _random_walks(tmp_path, recipe, N_RANDOM)


@pytest.mark.slow
def test_20_planted_signal_coins_pass_the_gates(tmp_path, recipe) -> None:
    """~35 s on 2 shared cores."""
    _planted(tmp_path, recipe, N_PLANTED)


def test_random_walk_coins_fail_the_gates_quick(tmp_path, recipe) -> None:
    _random_walks(tmp_path, recipe, N_RANDOM_FAST)


def test_planted_signal_coins_pass_the_gates_quick(tmp_path, recipe) -> None:
    _planted(tmp_path, recipe, N_PLANTED_FAST)
