"""Per-coin end-to-end training time against the sum of the LightGBM fits inside it.

`train_coin` does more than fit: labels, costs, the walk-forward, optuna's bookkeeping, the after-cost
OOS backtests, artifacts with hashes and the learning snapshot. This prints how much of the wall time is
the LightGBM fits themselves (the named peer, measured inside the same run) and the overhead ratio.

    .venv/bin/python benchmarks/train.py [--coins 3] [--bars 3600] [--trials 10] [--rounds 200] [--threads 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from huracan_core.config import Settings, TrainingSettings  # noqa: E402
from huracan_core.costs import CostInputs  # noqa: E402
from huracan_core.features import build_features, default_recipe  # noqa: E402
from huracan_core.paths import EngineHome  # noqa: E402
from huracan_core.training.encoder import fit_shared_encoder  # noqa: E402
from huracan_core.training.trainer import TrainOptions, train_coin  # noqa: E402
from tests.support.planted import planted_candles  # noqa: E402

DAY = date(2026, 4, 20)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--coins", type=int, default=3)
    ap.add_argument("--bars", type=int, default=3600, help="hourly bars per coin (3600 = 150 days)")
    ap.add_argument("--trials", type=int, default=10, help="optuna trials per search")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default="lightgbm", choices=["lightgbm", "xgboost"])
    args = ap.parse_args()

    recipe = default_recipe("1h")
    settings = Settings(training=TrainingSettings(num_boost_round=args.rounds, folds=args.folds))
    costs = CostInputs(spread_bps=2.0, maker_fee_bps=2.0, taker_fee_bps=4.0, adv_usd=5e8)
    with tempfile.TemporaryDirectory() as tmp:
        home = EngineHome(Path(tmp))
        t0 = time.perf_counter()
        feats = {f"BENCH{i}-USDT": build_features(planted_candles(500 + i, n_bars=args.bars), recipe)
                 for i in range(args.coins)}
        t_feat = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit_shared_encoder(feats, recipe, datetime(2026, 4, 21, tzinfo=UTC), home.encoder_dir(DAY))
        t_enc = time.perf_counter() - t0
        print(f"features {t_feat:.2f} s for {args.coins} coins; shared encoder {t_enc:.2f} s")
        print(f"{'coin':>14} {'end-to-end s':>13} {'LightGBM fits s':>16} {'overhead':>9} {'e2e/fits':>9} "
              f"{'trades':>7} {'sharpe':>7} {'gates':>6}")
        tot_e2e = tot_fit = 0.0
        for symbol, frame in feats.items():
            res = train_coin(symbol=symbol, features=frame, recipe=recipe, encoder_dir=home.encoder_dir(DAY),
                             cost_inputs=costs, settings=settings, home=home, training_date=DAY, bar_seconds=3600,
                             num_threads=args.threads, options=TrainOptions(n_trials=args.trials,
                                                                            model_type=args.model))
            tot_e2e += res.train_seconds
            tot_fit += res.fit_seconds
            print(f"{symbol:>14} {res.train_seconds:>13.2f} {res.fit_seconds:>16.2f} "
                  f"{res.train_seconds - res.fit_seconds:>9.2f} {res.train_seconds / res.fit_seconds:>8.2f}x "
                  f"{res.n_trades:>7} {res.metrics['sharpe']:>7.2f} {'pass' if res.passed else 'fail':>6}")
        fits = args.coins * (args.folds + 1) * (args.trials + 1)
        print(f"total: end-to-end {tot_e2e:.2f} s, inside it {fits} {args.model} fits took {tot_fit:.2f} s: "
              f"end-to-end / fits = {tot_e2e / tot_fit:.2f}x (overhead {100 * (1 - tot_fit / tot_e2e):.1f} %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
