"""Per-coin training time: train_coin as configured against a named peer measured in the same run.

Peers (`--peer`):
* `previous`: the training before the cost work of issue N.4 (every per-round early-stopping score
  through the full `run_backtest`, `max_bin` 255, a fifth search for the shipped model: `final_search`
  all_rows) with everything else as configured;
* `fixed`: the same search with a fixed budget (every trial boosts all rounds: no early stopping).

`train_coin` does more than fit: labels, costs, the walk-forward, optuna's bookkeeping, the after-cost
OOS backtests, artifacts with hashes and the learning snapshot. Per coin this prints the end-to-end wall
of the peer and ours, their ratio, and the OOS trades, Sharpe, deflated Sharpe and net PnL of each (so a
faster search that earns less shows), then the share of the wall that is the fits themselves. The two are
run one after the other per coin, `--repeat` times alternating, and the fastest wall of each is kept, so a
loaded machine slows both alike. `--profile SYMBOL` prints a cProfile breakdown of one train_coin instead.

    .venv/bin/python benchmarks/train.py --data ../shared/data/binance/1h            # the 6 recorded hourly coins
    .venv/bin/python benchmarks/train.py --data ../shared/data/binance/1h --profile BTC-USDT
    .venv/bin/python benchmarks/train.py [--coins 3] [--bars 3600] --peer fixed      # synthetic planted coins
    .venv/bin/python benchmarks/train.py --data ../shared/data/binance/1d --days 0   # the recorded daily coins

Recorded folders end at different dates: the training date is the last whole day of the folder's data and
`--days` (default: market.lookback_days) days of rows plus the feature warm-up are used, as a night does.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from huracan_core.backtest import run_backtest, signal_positions  # noqa: E402
from huracan_core.candles.frame import closed_only, conform  # noqa: E402
from huracan_core.config import Settings  # noqa: E402
from huracan_core.costs import CostInputs  # noqa: E402
from huracan_core.features import CrossAssetInputs, build_features, default_recipe, equal_weight_market  # noqa: E402
from huracan_core.night_inputs import warmup_bars  # noqa: E402
from huracan_core.paths import EngineHome  # noqa: E402
from huracan_core.timeframes import TIMEFRAMES  # noqa: E402
from huracan_core.training import trainer  # noqa: E402
from huracan_core.training.dataset import Prepared  # noqa: E402
from huracan_core.training.encoder import fit_shared_encoder  # noqa: E402
from huracan_core.training.trainer import TrainOptions, TrainResult, train_coin  # noqa: E402
from tests.support.planted import planted_candles  # noqa: E402

SYNTHETIC_DAY = date(2026, 4, 20)
SHAPE = ("num_boost_round", "folds", "n_trials", "early_stopping_rounds")
OVERRIDES = (*SHAPE, "max_bin", "seed", "final_search")
# the training settings before issue N.4's cost work (the `previous` peer; the seed stays the configured one)
PREVIOUS: dict[str, Any] = {"max_bin": 255, "final_search": "all_rows"}


def previous_val_score(p: Prepared, lo: int, hi: int, market_type: str) -> Callable[[np.ndarray], float]:
    """The early-stopping score as it was before N.4: the full run_backtest (both account paths, input
    checks, per-bar returns) on every round whose positions changed."""
    prices = np.append(p.exec_price[lo:hi], p.next_exec[hi - 1])
    leg = np.append(p.leg[lo:hi], p.leg[hi - 1])
    fl = fs = None
    if p.funding is not None:
        fl = np.concatenate([[0.0], p.funding.long[lo:hi]])
        fs = np.concatenate([[0.0], p.funding.short[lo:hi]])
    last: list[Any] = [None, 0.0]

    def score(pred: np.ndarray) -> float:
        target = np.append(signal_positions(pred, p.threshold[lo:hi], market_type), 0.0)
        if last[0] is not None and np.array_equal(target, last[0]):
            return last[1]
        bt = run_backtest(
            prices, target, leg, funding_per_bar=p.funding_per_bar, funding_long=fl, funding_short=fs
        )
        last[0], last[1] = target, float(np.sum(bt.trade_return) * 1e4)
        return last[1]

    return score


def _timeframe(folder: Path, frame: pl.DataFrame) -> str:
    step = int(frame["timestamp"].diff().drop_nulls().min().total_seconds())
    for name, seconds in TIMEFRAMES.items():
        if seconds == step:
            return name
    raise SystemExit(f"{folder}: bars {step} s apart match no timeframe")


def _inputs(
    args: argparse.Namespace, night: int = 0
) -> tuple[dict[str, pl.DataFrame], str, int, date, datetime]:
    """Feature frames per coin, the timeframe, its bar seconds, the training date (`night` x `--step-days`
    before the last whole day of a recorded folder) and its as-of."""
    if args.data:
        folder = Path(args.data)
        raw = {p.stem: conform(pl.read_csv(p)) for p in sorted(folder.glob("*-USDT.csv"))}
        if args.coins:
            raw = dict(list(raw.items())[: args.coins])
        timeframe = _timeframe(folder, next(iter(raw.values())))
        bar_s = TIMEFRAMES[timeframe]
        last = min(f["timestamp"].max() for f in raw.values()) + timedelta(seconds=bar_s)
        day = last.date() - timedelta(days=1 + night * args.step_days)  # the last day every coin has whole
        as_of = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        since = as_of - timedelta(days=args.days) - timedelta(seconds=bar_s * warmup_bars())
        candles = {s: closed_only(f, bar_s, as_of) for s, f in raw.items()}
        if args.days > 0:
            candles = {s: c.filter(pl.col("timestamp") >= since) for s, c in candles.items()}
        recipe = default_recipe(timeframe)
        cross = CrossAssetInputs(
            btc=candles.get("BTC-USDT"), eth=candles.get("ETH-USDT"), market=equal_weight_market(candles)
        )
        feats = {s: build_features(c, recipe, cross) for s, c in candles.items()}
        return feats, timeframe, bar_s, day, as_of
    recipe = default_recipe("1h")
    feats = {
        f"BENCH{i}-USDT": build_features(planted_candles(500 + i, n_bars=args.bars), recipe)
        for i in range(args.coins or 3)
    }
    return feats, "1h", 3600, SYNTHETIC_DAY, datetime(2026, 4, 21, tzinfo=UTC)


@dataclass(frozen=True)
class _Night:
    """One training date's inputs, shared by every run of it."""

    feats: dict[str, pl.DataFrame]
    recipe: Any
    home: EngineHome
    day: date
    bar_seconds: int
    costs: CostInputs
    threads: int

    def run(self, symbol: str, settings: Settings, opts: TrainOptions, score: Any) -> TrainResult:
        """train_coin with `score` as the search's early-stopping score (the peer's or ours)."""
        held = trainer.val_score
        trainer.val_score = score
        try:
            return train_coin(
                symbol=symbol,
                features=self.feats[symbol],
                recipe=self.recipe,
                encoder_dir=self.home.encoder_dir(self.day),
                cost_inputs=self.costs,
                settings=settings,
                home=self.home,
                training_date=self.day,
                bar_seconds=self.bar_seconds,
                num_threads=self.threads,
                options=opts,
            )
        finally:
            trainer.val_score = held


HEAD = (
    f"{'coin':>9} {'rows':>5} {'peer s':>7} {'ours s':>7} {'speed-up':>8} {'fits %':>6} "
    f"{'trades p/o':>11} {'sharpe p/o':>13} {'dsr p/o':>11} {'net bps p/o':>15}"
)


def _line(r: dict[str, Any]) -> str:
    """One coin-night: walls, their ratio, the fits' share of ours, then peer/ours OOS metrics."""
    return (
        f"{r['coin']:>9} {r['rows']:>5} {r['wall_p']:>7.2f} {r['wall_o']:>7.2f} {r['wall_p'] / r['wall_o']:>7.2f}x "
        f"{100 * r['fits']:>5.0f}% {r['trades_p']:>5}/{r['trades_o']:<5} "
        f"{r['sharpe_p']:>6.2f}/{r['sharpe_o']:<6.2f} "
        f"{r['deflated_sharpe_p']:>5.2f}/{r['deflated_sharpe_o']:<5.2f} "
        f"{r['net_pnl_bps_p']:>7.0f}/{r['net_pnl_bps_o']:<7.0f}"
    )


def _summary(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """Per coin over the nights (mean wall and metrics), then totals: the speed ratio of the summed walls
    and the OOS metrics' mean difference ours - peer with its standard error over the coin-nights."""
    print(f"per coin, mean over {args.nights} night(s) (fastest of {args.repeat} runs per case):")
    print(HEAD)
    for coin in dict.fromkeys(r["coin"] for r in rows):
        mine = [r for r in rows if r["coin"] == coin]
        mean = {k: float(np.mean([r[k] for r in mine])) for k in mine[0] if k != "coin"}
        print(
            _line(
                {
                    **mean,
                    "coin": coin,
                    "rows": int(mean["rows"]),
                    "trades_p": round(mean["trades_p"]),
                    "trades_o": round(mean["trades_o"]),
                }
            )
        )
    wp, wo = sum(r["wall_p"] for r in rows), sum(r["wall_o"] for r in rows)
    print(f"total over {len(rows)} coin-nights: peer {wp:.1f} s, ours {wo:.1f} s: {wp / wo:.2f}x faster")
    for m in ("trades", "sharpe", "deflated_sharpe", "net_pnl_bps"):
        d = np.array([r[f"{m}_o"] - r[f"{m}_p"] for r in rows], dtype=float)
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        print(
            f"  {m:>16}: peer mean {np.mean([r[f'{m}_p'] for r in rows]):9.2f}, ours "
            f"{np.mean([r[f'{m}_o'] for r in rows]):9.2f}, ours - peer {d.mean():+8.2f} +/- {se:.2f} (s.e.)"
        )


def _settings(args: argparse.Namespace, **training: Any) -> Settings:
    """The configured settings (config/settings.yaml) with the command line's overrides."""
    base = Settings()
    t: dict[str, Any] = {}
    for name in OVERRIDES:
        value = getattr(args, name)
        if value is not None:
            t[name] = value
    t.update(training)
    return base.model_copy(update={"training": base.training.model_copy(update=t)})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--coins", type=int, default=0, help="coins (default: 3 synthetic, every recorded one)")
    ap.add_argument("--bars", type=int, default=3600, help="hourly bars per synthetic coin (3600 = 150 days)")
    ap.add_argument("--data", help="folder of recorded candles (*-USDT.csv) instead of synthetic coins")
    ap.add_argument(
        "--days", type=int, default=None, help="lookback days (default market.lookback_days; 0 all)"
    )
    ap.add_argument("--peer", choices=["previous", "fixed"], default="previous")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each case per coin (the fastest is kept)")
    ap.add_argument("--profile", metavar="SYMBOL", help="cProfile one train_coin of this coin and stop")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--model", default=None, choices=["lightgbm", "xgboost"])
    ap.add_argument("--nights", type=int, default=1, help="recorded nights (training dates) per coin")
    ap.add_argument("--step-days", type=int, default=30, help="days between those nights")
    for name in OVERRIDES:
        kind = str if name == "final_search" else int
        ap.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None)
    args = ap.parse_args()
    if args.days is None:
        args.days = Settings().market.lookback_days

    ours_settings = _settings(args, **({"model_type": args.model} if args.model else {}))
    opts = TrainOptions.resolve(ours_settings, None)
    if args.peer == "previous":
        # the shape of the experiment (rounds, folds, trials, patience) as ours; what N.4 changed as before
        shape = {k: getattr(args, k) for k in SHAPE if getattr(args, k) is not None}
        peer_settings = _settings(
            argparse.Namespace(**{k: None for k in OVERRIDES}),
            **shape,
            **PREVIOUS,
            **({"model_type": args.model} if args.model else {}),
        )
        peer_opts, peer_score = opts, previous_val_score
        peer_name = "previous (run_backtest score every round, max_bin 255, final search on all rows)"
    else:
        peer_settings, peer_score = ours_settings, trainer.val_score
        peer_opts = replace(opts, early_stopping_rounds=0)
        peer_name = f"fixed budget ({opts.n_trials} trials x {ours_settings.training.num_boost_round} rounds)"
    t = ours_settings.training
    print(
        f"ours: {opts.n_trials} trials x <= {t.num_boost_round} rounds, early stopping "
        f"{opts.early_stopping_rounds}, max_bin {t.max_bin}, final search {t.final_search}, seed {t.seed}, "
        f"{args.threads} thread(s); "
        f"peer: {peer_name}"
    )
    costs = CostInputs(spread_bps=2.0, maker_fee_bps=2.0, taker_fee_bps=4.0, adv_usd=5e8)
    rows: list[dict[str, Any]] = []
    for night in range(args.nights):
        with tempfile.TemporaryDirectory() as tmp:
            home = EngineHome(Path(tmp))
            t0 = time.perf_counter()
            feats, timeframe, bar_seconds, day, as_of = _inputs(args, night)
            recipe = default_recipe(timeframe)
            t_feat = time.perf_counter() - t0
            t0 = time.perf_counter()
            fit_shared_encoder(feats, recipe, as_of, home.encoder_dir(day))
            print(
                f"{timeframe} bars, training date {day}, {args.days or 'all'} days; features {t_feat:.2f} s "
                f"for {len(feats)} coins; shared encoder {time.perf_counter() - t0:.2f} s"
            )

            night_ = _Night(feats, recipe, home, day, bar_seconds, costs, args.threads)
            run = night_.run

            if args.profile:
                prof = cProfile.Profile()
                prof.enable()
                r = run(args.profile, ours_settings, opts, trainer.val_score)
                prof.disable()
                print(
                    f"{args.profile}: {r.n_samples} rows, {r.train_seconds:.2f} s, fits {r.fit_seconds:.2f} s"
                )
                pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
                pstats.Stats(prof).sort_stats("tottime").print_stats(15)
                return 0
            print(HEAD)
            for symbol in feats:
                walls: dict[str, list[float]] = {"peer": [], "ours": []}
                a = b = None
                for _ in range(args.repeat):
                    a = run(symbol, peer_settings, peer_opts, peer_score)
                    walls["peer"].append(a.train_seconds)
                    b = run(symbol, ours_settings, opts, trainer.val_score)
                    walls["ours"].append(b.train_seconds)
                assert a is not None and b is not None
                if a.skipped_reason or b.skipped_reason:
                    print(f"{symbol:>9} skipped: {a.skipped_reason or b.skipped_reason}")
                    continue
                row = {
                    "coin": symbol,
                    "rows": b.n_samples,
                    "wall_p": min(walls["peer"]),
                    "wall_o": min(walls["ours"]),
                }
                row["fits"] = b.fit_seconds / b.train_seconds
                for key, res in (("p", a), ("o", b)):
                    row[f"trades_{key}"] = res.n_trades
                    for m in ("sharpe", "deflated_sharpe", "net_pnl_bps"):
                        row[f"{m}_{key}"] = float(res.metrics[m])
                rows.append(row)
                print(_line(row))
    if len(rows) > 1:
        _summary(rows, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
