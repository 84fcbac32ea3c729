"""The shipped model under training.final_search last_fold against all_rows, on what it trades next.

Both modes give the same walk-forward (so the same OOS metrics and gates, tests/core/training/test_search.py);
only the model that ships differs: every row refitted with the last fold's measured parameters and rounds
(last_fold) or with those of a fifth search on a purged inner split of every row (all_rows). This trains
each recorded coin on several nights both ways and scores each shipped model on the `--forward-days`
after its training date, with the search's own after-cost rule (signal threshold = round trip + margin,
trainer.val_score over those rows), so the two can be compared where neither has seen the data.

    .venv/bin/python benchmarks/final_search.py --data ../shared/data/binance/1h [--nights 4] [--forward-days 30]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from benchmarks.train import _inputs  # noqa: E402
from huracan_core.candles.frame import closed_only, conform  # noqa: E402
from huracan_core.config import Settings  # noqa: E402
from huracan_core.costs import CostInputs  # noqa: E402
from huracan_core.features import CrossAssetInputs, build_features, default_recipe, equal_weight_market  # noqa: E402
from huracan_core.night_inputs import warmup_bars  # noqa: E402
from huracan_core.paths import EngineHome  # noqa: E402
from huracan_core.training import models, trainer  # noqa: E402
from huracan_core.training.dataset import prepare  # noqa: E402
from huracan_core.training.encoder import fit_shared_encoder  # noqa: E402

MODES = ("last_fold", "all_rows")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="folder of recorded candles (*-USDT.csv)")
    ap.add_argument("--nights", type=int, default=4)
    ap.add_argument("--step-days", type=int, default=120, help="days between the nights")
    ap.add_argument("--forward-days", type=int, default=30)
    args = ap.parse_args()
    base = Settings()
    args.days, args.coins, args.bars = base.market.lookback_days, 0, 0
    raw = {p.stem: conform(pl.read_csv(p)) for p in sorted(Path(args.data).glob("*-USDT.csv"))}
    costs = CostInputs(spread_bps=2.0, maker_fee_bps=2.0, taker_fee_bps=4.0, adv_usd=5e8)
    net: dict[str, list[float]] = {m: [] for m in MODES}
    print(f"{'night':>10} {'coin':>9} {'rows':>5} " + " ".join(f"{m + ' bps':>14}" for m in MODES))
    for night in range(1, args.nights + 1):  # night 0 (the folder's last day) has nothing after it
        feats, timeframe, bar_s, day, as_of = _inputs(args, night)
        recipe = default_recipe(timeframe)
        end = as_of + timedelta(days=args.forward_days)
        since = as_of - timedelta(days=args.days) - timedelta(seconds=bar_s * warmup_bars())
        later = {s: closed_only(f, bar_s, end).filter(pl.col("timestamp") >= since) for s, f in raw.items()}
        cross = CrossAssetInputs(
            btc=later.get("BTC-USDT"), eth=later.get("ETH-USDT"), market=equal_weight_market(later)
        )
        forward = {s: build_features(c, recipe, cross) for s, c in later.items()}
        with tempfile.TemporaryDirectory() as tmp:
            home = EngineHome(Path(tmp))
            enc = home.encoder_dir(day)
            fit_shared_encoder(feats, recipe, as_of, enc)  # as of the training date: point in time
            for symbol in feats:
                p = prepare(
                    forward[symbol],
                    recipe,
                    enc,
                    costs,
                    base,
                    day + timedelta(days=args.forward_days),
                    bar_s,
                    24,
                )
                stamps = p.frame["timestamp"].dt.epoch("ms").to_numpy()
                lo, hi = int(np.searchsorted(stamps, int(as_of.timestamp() * 1000))), p.frame.height
                row = []
                for mode in MODES:
                    t = base.training.model_copy(update={"final_search": mode})
                    r = trainer.train_coin(
                        symbol=symbol,
                        features=feats[symbol],
                        recipe=recipe,
                        encoder_dir=enc,
                        cost_inputs=costs,
                        settings=base.model_copy(update={"training": t}),
                        home=home,
                        training_date=day,
                        bar_seconds=bar_s,
                    )
                    booster = models.from_bytes("lightgbm", (r.model_dir / "model.bin").read_bytes())
                    value = trainer.val_score(p, lo, hi, "spot")(
                        models.predict("lightgbm", booster, p.x[lo:hi])
                    )
                    net[mode].append(value)
                    row.append(value)
                print(f"{day!s:>10} {symbol:>9} {hi - lo:>5} " + " ".join(f"{v:>14.0f}" for v in row))
    d = np.array(net["last_fold"]) - np.array(net["all_rows"])
    print(
        f"mean forward net bps over {len(d)} coin-nights: last_fold {np.mean(net['last_fold']):.1f}, "
        f"all_rows {np.mean(net['all_rows']):.1f}; last_fold - all_rows {d.mean():+.1f} +/- "
        f"{d.std(ddof=1) / np.sqrt(len(d)):.1f} (s.e.)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
