"""Per-coin training time: the search as configured (binned once, early stopping) against the same search
with a fixed budget (every trial boosts all rounds: the search before early stopping), and against the sum
of the LightGBM fits inside it.

`train_coin` does more than fit: labels, costs, the walk-forward, optuna's bookkeeping, the after-cost
OOS backtests, artifacts with hashes and the learning snapshot. Per coin this prints the end-to-end wall
of both searches, their ratio, and the OOS trades, Sharpe and net PnL of each (so a faster search that
earns less shows), then the share of the wall that is the fits themselves. Both are measured in the same
run, one coin after the other, so a loaded machine slows both alike.

    .venv/bin/python benchmarks/train.py [--coins 3] [--bars 3600] [--trials 10] [--rounds 200] [--threads 1]
    .venv/bin/python benchmarks/train.py --data ../shared/data/binance/1d   # the recorded daily coins
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from huracan_core.candles.frame import closed_only, conform  # noqa: E402
from huracan_core.config import Settings, TrainingSettings  # noqa: E402
from huracan_core.costs import CostInputs  # noqa: E402
from huracan_core.features import CrossAssetInputs, build_features, default_recipe, equal_weight_market  # noqa: E402
from huracan_core.paths import EngineHome  # noqa: E402
from huracan_core.training.encoder import fit_shared_encoder  # noqa: E402
from huracan_core.training.trainer import TrainOptions, TrainResult, train_coin  # noqa: E402
from tests.support.planted import planted_candles  # noqa: E402

DAY = date(2026, 4, 20)
AS_OF = datetime(2026, 4, 21, tzinfo=UTC)


def _inputs(args: argparse.Namespace) -> tuple[dict[str, pl.DataFrame], str, int]:
    if args.data:
        candles = {
            p.stem: closed_only(conform(pl.read_csv(p)), 86400, AS_OF)
            for p in sorted(Path(args.data).glob("*-USDT.csv"))
        }
        if args.coins:
            candles = dict(list(candles.items())[: args.coins])
        recipe = default_recipe("1d")
        cross = CrossAssetInputs(
            btc=candles.get("BTC-USDT"), eth=candles.get("ETH-USDT"), market=equal_weight_market(candles)
        )
        return {s: build_features(c, recipe, cross) for s, c in candles.items()}, "1d", 86400
    recipe = default_recipe("1h")
    return (
        {
            f"BENCH{i}-USDT": build_features(planted_candles(500 + i, n_bars=args.bars), recipe)
            for i in range(args.coins or 3)
        },
        "1h",
        3600,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--coins", type=int, default=0, help="coins (default: 3 synthetic, every recorded one)")
    ap.add_argument("--bars", type=int, default=3600, help="hourly bars per synthetic coin (3600 = 150 days)")
    ap.add_argument("--data", help="folder of recorded daily candles (*-USDT.csv) instead of synthetic coins")
    ap.add_argument("--trials", type=int, default=10, help="optuna trials per search")
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--early-stopping", type=int, default=TrainingSettings().early_stopping_rounds)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default="lightgbm", choices=["lightgbm", "xgboost"])
    args = ap.parse_args()

    settings = Settings(training=TrainingSettings(num_boost_round=args.rounds, folds=args.folds))
    ours = TrainOptions(
        n_trials=args.trials, model_type=args.model, early_stopping_rounds=args.early_stopping
    )
    fixed = replace(ours, early_stopping_rounds=0)
    with tempfile.TemporaryDirectory() as tmp:
        home = EngineHome(Path(tmp))
        t0 = time.perf_counter()
        feats, timeframe, bar_seconds = _inputs(args)
        recipe = default_recipe(timeframe)
        t_feat = time.perf_counter() - t0
        t0 = time.perf_counter()
        fit_shared_encoder(feats, recipe, AS_OF, home.encoder_dir(DAY))
        t_enc = time.perf_counter() - t0
        print(f"features {t_feat:.2f} s for {len(feats)} coins; shared encoder {t_enc:.2f} s")
        print(
            f"peer: the same search with a fixed budget ({args.trials} trials x {args.rounds} rounds, no early "
            f"stopping); ours: early stopping after {args.early_stopping} rounds without improvement"
        )
        print(
            f"{'coin':>14} {'rows':>5} {'fixed s':>8} {'ours s':>7} {'speed-up':>8} {'fits %':>6} "
            f"{'trades f/o':>11} {'sharpe f/o':>12} {'net bps f/o':>15}"
        )
        tot = {"fixed": 0.0, "ours": 0.0, "fits": 0.0}

        def run(symbol: str, frame: pl.DataFrame, opts: TrainOptions) -> TrainResult:
            costs = CostInputs(spread_bps=2.0, maker_fee_bps=2.0, taker_fee_bps=4.0, adv_usd=5e8)
            return train_coin(
                symbol=symbol,
                features=frame,
                recipe=recipe,
                encoder_dir=home.encoder_dir(DAY),
                cost_inputs=costs,
                settings=settings,
                home=home,
                training_date=DAY,
                bar_seconds=bar_seconds,
                num_threads=args.threads,
                options=opts,
            )

        for symbol, frame in feats.items():
            a = run(symbol, frame, fixed)
            b = run(symbol, frame, ours)
            if a.skipped_reason or b.skipped_reason:
                print(f"{symbol:>14} skipped: {a.skipped_reason or b.skipped_reason}")
                continue
            tot["fixed"] += a.train_seconds
            tot["ours"] += b.train_seconds
            tot["fits"] += b.fit_seconds
            ma, mb = a.metrics, b.metrics
            print(
                f"{symbol:>14} {b.n_samples:>5} {a.train_seconds:>8.2f} {b.train_seconds:>7.2f} "
                f"{a.train_seconds / b.train_seconds:>7.2f}x {100 * b.fit_seconds / b.train_seconds:>5.0f}% "
                f"{a.n_trades:>5}/{b.n_trades:<5} {ma['sharpe']:>5.2f}/{mb['sharpe']:<6.2f} "
                f"{ma['net_pnl_bps']:>7.0f}/{mb['net_pnl_bps']:<7.0f}"
            )
        if tot["ours"]:
            print(
                f"total: fixed budget {tot['fixed']:.2f} s, ours {tot['ours']:.2f} s: "
                f"{tot['fixed'] / tot['ours']:.2f}x faster; fits are {100 * tot['fits'] / tot['ours']:.0f} % "
                f"of ours (end-to-end / fits = {tot['ours'] / tot['fits']:.2f}x)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
