"""Cross-coin information on recorded nights: the per-coin model against the pooled model
(huracan_core.training.pooled), each with and without the cross-sectional features
(market.cross_sectional_features), out of sample and after costs.

Every arm runs the night's own stages (`stages.prepare_day`: universe pinned to the folder's coins, candles from
the replay folder, market context, features, shared encoder) into a scratch home per feature set; the per-coin
arm is `train_coin` for each coin, the pooled arm one `train_pooled` over all of them. Both are evaluated by
the same code (dataset.prepare's costs and threshold per coin, evaluate_predictions, the gates), so the table
compares like with like: per coin the OOS trades, net PnL (bps), Sharpe and deflated Sharpe (each charged its
own search's trials), then totals. Same machine, same run, one arm after the other.

    .venv/bin/python benchmarks/cross_coin.py --data ../shared/data/binance/1h-2022-2025 --night 2025-05-20
    .venv/bin/python benchmarks/cross_coin.py --night 2025-05-20 --night 2024-06-30 --threads 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from huracan_core import stages  # noqa: E402
from huracan_core.config import Settings  # noqa: E402
from huracan_core.night_inputs import cost_inputs_for, load_features, night_recipe  # noqa: E402
from huracan_core.training.pooled import train_pooled  # noqa: E402
from huracan_core.training.trainer import train_coin  # noqa: E402

KEYS = ("trades", "net_pnl_bps", "sharpe", "deflated_sharpe")


def _settings(home: Path, data: Path, lookback: int, xs: bool) -> Settings:
    return Settings(
        home=home,
        market={
            "source": "replay",
            "replay_dir": str(data),
            "timeframe": "1h",
            "lookback_days": lookback,
            "cross_sectional_features": xs,
        },
        training={"mode": "sequential"},
        database={"url": f"sqlite:///{home / 'brain.sqlite'}"},
    )


def run_night(data: Path, night: date, lookback: int, threads: int, work: Path) -> dict[str, Any]:
    coins = sorted(p.stem for p in data.glob("*.csv"))
    out: dict[str, Any] = {}
    for xs in (False, True):
        settings = _settings(work / f"{night}_{'xs' if xs else 'base'}", data, lookback, xs)
        chosen = stages.prepare_day(settings, night, symbols=coins)
        recipe, home = night_recipe(settings), stages.engine_home(settings)
        feats = {c: load_features(settings, night, c) for c in chosen}
        costs = {c: cost_inputs_for(settings, night, c) for c in chosen}
        t0 = time.perf_counter()
        per = {}
        for c in chosen:
            r = train_coin(
                symbol=c,
                features=feats[c],
                recipe=recipe,
                encoder_dir=home.encoder_dir(night),
                cost_inputs=costs[c],
                settings=settings,
                home=home,
                training_date=night,
                bar_seconds=3600,
                num_threads=threads,
            )
            per[c] = {k: r.metrics.get(k) for k in KEYS} | {"gates": r.passed}
        per_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = train_pooled(
            feats,
            recipe=recipe,
            encoder_dir=home.encoder_dir(night),
            cost_inputs=costs,
            settings=settings,
            training_date=night,
            bar_seconds=3600,
            num_threads=threads,
        )
        pooled = {
            c: {k: pc.metrics.get(k) for k in KEYS} | {"gates": bool(pc.gates and pc.gates.passed)}
            for c, pc in res.coins.items()
        }
        name = "xs" if xs else "base"
        out[f"per-coin {name}"] = {"coins": per, "seconds": per_s, "columns": len(recipe.model_columns)}
        out[f"pooled {name}"] = {
            "coins": pooled,
            "seconds": time.perf_counter() - t0,
            "columns": len(recipe.model_columns),
            "trials": res.n_trials_total,
        }
    return out


def _row(arm: str, coins: dict[str, dict[str, Any]], seconds: float) -> str:
    vals = [v for v in coins.values() if v.get("trades") is not None]
    trades = sum(v["trades"] for v in vals)
    net = sum(v["net_pnl_bps"] for v in vals)
    median = statistics.median(v["sharpe"] for v in vals) if vals else float("nan")
    dsr = max((v["deflated_sharpe"] for v in vals), default=float("nan"))
    positive = sum(v["net_pnl_bps"] > 0 for v in vals)
    gates = sum(bool(v["gates"]) for v in vals)
    return (
        f"| {arm} | {trades} | {net:,.0f} | {positive}/{len(vals)} | {median:.2f} | {dsr:.3f} | {gates} "
        f"| {seconds:.0f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/binance/1h-2022-2025"))
    ap.add_argument("--night", action="append", type=date.fromisoformat)
    ap.add_argument("--lookback-days", type=int, default=120)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    data = args.data.expanduser().resolve()
    if not data.is_dir():
        sys.exit(f"{data} is not a folder of recorded candles")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for night in args.night or [date(2025, 5, 20)]:
            results[night.isoformat()] = run_night(data, night, args.lookback_days, args.threads, Path(tmp))
    for night, arms in results.items():
        print(f"\nnight {night} ({args.lookback_days} days of 1h bars, {data.name})")
        print("| arm | trades | net bps (sum) | coins net > 0 | median Sharpe | best DSR | gates | s |")
        print("|---|---|---|---|---|---|---|---|")
        for arm, r in arms.items():
            print(_row(f"{arm} ({r['columns']} cols)", r["coins"], r["seconds"]))
        print("\n| coin | " + " | ".join(arms) + " |  (net bps / Sharpe / DSR / trades)")
        print("|---|" + "---|" * len(arms))
        for coin in next(iter(arms.values()))["coins"]:
            cells = []
            for r in arms.values():
                v = r["coins"].get(coin, {})
                cells.append(
                    "n/a"
                    if v.get("trades") is None
                    else f"{v['net_pnl_bps']:,.0f} / {v['sharpe']:.2f} / {v['deflated_sharpe']:.3f} / {v['trades']}"
                )
            print(f"| {coin} | " + " | ".join(cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
