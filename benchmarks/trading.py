"""Model-only vs the bot's rules vs buy-and-hold on the recorded Binance coins, OOS and after costs.

For the 14 daily coins (../shared/data/binance/1d) and the 6 hourly ones (../shared/data/binance/1h, the
last `--hourly-bars` bars) as of 2026-04-20: features with BTC/ETH/market references, the day's shared
encoder, one walk-forward model per coin (train_coin, configured settings), then
huracan_core.trading.comparison.compare on the models' out-of-sample rows. Prints Sharpe and net % per
coin and for the portfolio; the peer of the consensus is the model's own all-in backtest and holding.

    .venv/bin/python benchmarks/trading.py [--timeframes 1d,1h] [--hourly-bars 3600] [--out table.json]

Exits 0 with a message when ../shared/data is absent.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from huracan_core.candles.frame import closed_only, conform  # noqa: E402
from huracan_core.config import TIMEFRAMES, Settings, TrainingSettings  # noqa: E402
from huracan_core.costs import CostInputs  # noqa: E402
from huracan_core.features import CrossAssetInputs, build_features, default_recipe, equal_weight_market  # noqa: E402
from huracan_core.paths import EngineHome  # noqa: E402
from huracan_core.stages import warmup_bars  # noqa: E402
from huracan_core.trading.comparison import CoinInputs, compare, format_table  # noqa: E402
from huracan_core.training.encoder import fit_shared_encoder  # noqa: E402
from huracan_core.training.trainer import train_coin  # noqa: E402

DAY = date(2026, 4, 20)
AS_OF = datetime(2026, 4, 21, tzinfo=UTC)
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "binance"


def _candles(folder: Path, bar_seconds: int, last: int | None) -> dict[str, pl.DataFrame]:
    out = {}
    for path in sorted(folder.glob("*-USDT.csv")):
        frame = closed_only(conform(pl.read_csv(path)), bar_seconds, AS_OF)
        out[path.stem] = frame.tail(last) if last else frame
    return out


def run(timeframe: str, settings: Settings, last: int | None) -> dict:
    bar_seconds = TIMEFRAMES[timeframe]
    candles = _candles(DATA / timeframe, bar_seconds, last)
    recipe = default_recipe(timeframe)
    cross = CrossAssetInputs(
        btc=candles.get("BTC-USDT"), eth=candles.get("ETH-USDT"), market=equal_weight_market(candles)
    )
    feats = {s: build_features(c, recipe, cross) for s, c in candles.items()}
    bars_per_day = 86400 // bar_seconds
    with tempfile.TemporaryDirectory() as tmp:
        home = EngineHome(Path(tmp))
        enc_dir = home.encoder_dir(DAY)
        fit_shared_encoder(feats, recipe, AS_OF, enc_dir, bar_seconds=bar_seconds)
        coins = []
        for symbol, frame in feats.items():
            c = candles[symbol].tail(30 * bars_per_day)
            adv = float((c["close"] * c["volume"]).mean()) * bars_per_day
            costs = CostInputs(
                spread_bps=settings.costs.default_spread_bps,
                maker_fee_bps=settings.costs.maker_fee_bps,
                taker_fee_bps=settings.costs.taker_fee_bps,
                adv_usd=adv,
            )
            start = time.perf_counter()
            res = train_coin(
                symbol=symbol,
                features=frame,
                recipe=recipe,
                encoder_dir=enc_dir if enc_dir.is_dir() else None,
                cost_inputs=costs,
                settings=settings,
                home=home,
                training_date=DAY,
                bar_seconds=bar_seconds,
            )
            oos = pl.read_parquet(res.model_dir / "oos_predictions.parquet") if res.model_dir else None
            print(
                f"  {timeframe} {symbol}: trained in {time.perf_counter() - start:.1f} s"
                + (f" (skipped: {res.skipped_reason})" if res.skipped_reason else ""),
                flush=True,
            )
            coins.append(CoinInputs(symbol, frame, oos, costs))
        return compare(coins, settings, bar_seconds, n_trials=settings.training.n_trials)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeframes", default="1d,1h")
    ap.add_argument(
        "--hourly-bars", type=int, default=3600, help="last hourly bars per coin (+ feature warm-up)"
    )
    ap.add_argument("--trials", type=int, default=None, help="optuna trials per search (default: settings)")
    ap.add_argument("--rounds", type=int, default=None, help="LightGBM rounds (default: settings)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"no recorded data at {DATA}: nothing to compare")
        return 0
    base = Settings()
    training = base.training.model_dump()
    if args.trials is not None:
        training["n_trials"] = args.trials
    if args.rounds is not None:
        training["num_boost_round"] = args.rounds
    settings = base.model_copy(update={"training": TrainingSettings(**training)})
    results = {}
    for tf in args.timeframes.split(","):
        if not (DATA / tf).is_dir():
            print(f"no {tf} data at {DATA / tf}: skipped")
            continue
        start = time.perf_counter()
        last = args.hourly_bars + warmup_bars() if tf != "1d" else None
        results[tf] = run(tf, settings, last)
        print(
            f"\n{tf}: OOS after costs ({time.perf_counter() - start:.0f} s)\n{format_table(results[tf])}\n",
            flush=True,
        )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
