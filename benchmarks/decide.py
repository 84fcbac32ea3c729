"""Latency of a bot's decision: `huracan decide --json` cold (a new process per call) and warm (repeated
`trading.decide.decide` calls in one process), each against a named peer measured in the same run.

The peer is the least a decision could cost: the champion's LightGBM booster loaded from its model.bin
and one row predicted (cold: a new Python process that imports lightgbm, loads and predicts; warm: the
same booster predicting one row again). `decide` does much more: it verifies the model folder's sha256,
syncs and reads the candle cache of every coin of the champion's night, builds the market context and the
full feature recipe, the 22 textbook engines' votes, the consensus over the whole window, the point-in-time
costs, the breakers and the sizing, and appends the decision to the Brain Library. The ratios say what
that costs on top of the bare prediction.

The world: a synthetic night (1 h bars, 40 days of lookback, 8 coins, top 5, loose gates so a champion
exists) trained for yesterday, or `--replay DIR --coins A,B,C --night YYYY-MM-DD --timeframe 1d` for
recorded candles (the first coin is decided). Decisions are for the latest closed bar (synthetic: now;
replay: the close of `--at-days` days after the night).

    .venv/bin/python benchmarks/decide.py [--cold 5] [--warm 50] [--show-json]
    .venv/bin/python benchmarks/decide.py --replay ../shared/data/binance/1d \\
        --coins AVAX-USDT,BTC-USDT,ETH-USDT --night 2024-11-01 --lookback 500
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml  # noqa: E402

from huracan_core.config import Settings  # noqa: E402
from huracan_core.dates import as_of_for, last_complete_day  # noqa: E402
from huracan_core.paths import EngineHome  # noqa: E402

HURACAN = Path(sys.executable).with_name("huracan")
LOOSE_GATES = {
    "min_sharpe": -100,
    "min_hit_rate": 0,
    "min_net_pnl_bps": -1e9,
    "max_drawdown_pct": 100,
    "min_trades": 1,
    "min_deflated_sharpe": 0,
}
PEER = """
import sys, time
t = time.perf_counter()
import lightgbm, numpy as np
booster = lightgbm.Booster(model_str=open(sys.argv[1]).read())
row = np.array([[float(v) for v in sys.argv[2].split(",")]])
booster.predict(row, num_threads=1)
"""


def _world(args: argparse.Namespace, root: Path) -> tuple[Settings, Path, str, datetime | None]:
    """Build the engine home: the night's stages, models until one coin is champion, roster, pointers."""
    from huracan_core import roster, stages

    values: dict[str, Any] = {
        "home": str(root / "home"),
        "costs": {"safety_margin_bps": 0},
        "training": {
            "n_trials": 1,
            "num_boost_round": 20,
            "folds": 3,
            "min_train_bars": 100,
            "mode": "sequential",
        },
        "gates": LOOSE_GATES,
        "database": {"url": f"sqlite:///{root / 'brain.sqlite'}"},
    }
    if args.replay:
        coins = [c.strip() for c in args.coins.split(",")]
        replay = root / "replay"
        replay.mkdir()
        for coin in coins:
            os.symlink(Path(args.replay).resolve() / f"{coin}.csv", replay / f"{coin}.csv")
        values["market"] = {
            "source": "replay",
            "replay_dir": str(replay),
            "timeframe": args.timeframe,
            "lookback_days": args.lookback,
        }
        night = date.fromisoformat(args.night)
        at: datetime | None = as_of_for(night) + timedelta(days=args.at_days)
        symbols: list[str] | None = coins
    else:
        values["market"] = {"timeframe": "1h", "lookback_days": 40, "synthetic_coins": 8}
        night, at, symbols = last_complete_day(), None, None
    config = root / "settings.yaml"
    config.write_text(yaml.safe_dump(values))
    settings = Settings(**values)
    chosen = stages.prepare_day(settings, night, symbols=symbols, top_n=None if symbols else 5)
    home = EngineHome(settings.home)
    champion = None
    for symbol in chosen if not symbols else symbols[:1]:
        stages.model_stage(settings, night, symbol)
        if home.champion_on(night, symbol).is_file() and json.loads(
            home.champion_on(night, symbol).read_text()
        ).get("model_id"):
            champion = symbol
            break
    if champion is None:
        raise SystemExit(f"no coin of {night} became champion: nothing to decide")
    stages.roster_stage(settings, night)
    publish = getattr(roster, "publish_latest", None)  # the night moves the bot's pointers at its end
    if publish is not None:
        publish(home, night)
    return settings, config, champion, at


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cold", type=int, default=5, help="new processes of each kind")
    parser.add_argument("--warm", type=int, default=50, help="repeated calls in one process")
    parser.add_argument("--replay", help="folder of recorded <BASE>-USDT.csv candles")
    parser.add_argument("--coins", default="AVAX-USDT,BTC-USDT,ETH-USDT", help="replay: coins, first decided")
    parser.add_argument("--night", default="2024-11-01", help="replay: the night trained")
    parser.add_argument("--timeframe", default="1d")
    parser.add_argument("--lookback", type=int, default=500)
    parser.add_argument(
        "--at-days", type=int, default=10, help="replay: decide this many days after the night"
    )
    parser.add_argument("--show-json", action="store_true", help="print one `huracan decide --json` output")
    parser.add_argument("--keep", help="build the world in this folder and keep it")
    args = parser.parse_args()
    if args.replay and not Path(args.replay).is_dir():
        print(f"no recorded data at {args.replay}: nothing to measure")
        return 0

    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="huracan_decide_bench_"))
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    settings, config, symbol, at = _world(args, root)
    print(f"world: {symbol} champion in {root} ({time.perf_counter() - t0:.1f} s to build)")

    from huracan_core.trading.decide import decide
    from huracan_core.trading.live import current_champion
    from huracan_core.training.artifacts import load_model

    env = {k: v for k, v in os.environ.items() if not k.startswith("HURACAN_")}
    env["HURACAN_CONFIG"] = str(config)
    command = [
        str(HURACAN),
        "decide",
        "--symbol",
        symbol,
        "--json",
        *(["--at", at.isoformat()] if at else []),
    ]
    first = subprocess.run(command, env=env, cwd=root, capture_output=True, text=True, check=True)  # fetches
    if args.show_json:
        print(first.stdout)

    # the peer's inputs: the champion's booster and the decided bar's model inputs
    champion = current_champion(settings, symbol)
    model = load_model(champion.model_dir)
    d = decide(settings, symbol, at=at, record=False)
    from huracan_core.trading.live import decision_features

    live = decision_features(settings, champion, d.bar_time, sync=False)
    frame = (
        model.encoder.transform(live.frame, bar_seconds=model.config["bar_seconds"])
        if model.encoder
        else live.frame
    )
    row = frame.tail(1).select(model.input_columns).to_numpy()[0]
    model_file = root / "peer_model.txt"
    model_file.write_bytes((champion.model_dir / "model.bin").read_bytes())
    peer_cmd = [sys.executable, "-c", PEER, str(model_file), ",".join(repr(float(v)) for v in row)]

    cold, peer_cold = [], []
    for _ in range(args.cold):  # alternate, so a loaded machine slows both alike
        t = time.perf_counter()
        subprocess.run(command, env=env, cwd=root, capture_output=True, check=True)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run(peer_cmd, capture_output=True, check=True)
        peer_cold.append(time.perf_counter() - t)

    warm, phases = [], []
    decide(settings, symbol, at=at)  # the process's first call loads and verifies; not counted
    for _ in range(args.warm):
        t = time.perf_counter()
        out = decide(settings, symbol, at=at)
        warm.append(time.perf_counter() - t)
        phases.append(out.latency_ms)
    booster = model.booster
    x = row.reshape(1, -1)
    peer_warm = []
    for _ in range(max(args.warm, 200)):
        t = time.perf_counter()
        booster.predict(x, num_threads=1)
        peer_warm.append(time.perf_counter() - t)

    c, pc, w, pw = (_median_ms(s) for s in (cold, peer_cold, warm, peer_warm))
    print(
        f"decided: {symbol} bar {d.bar_time:%Y-%m-%d %H:%M} UTC, {len(live.frame)} bars, {len(live.market_coins)} coins"
    )
    print(f"{'':<34}{'median ms':>12}{'peer ms':>12}{'ratio':>10}")
    print(
        f"{'cold: huracan decide --json':<34}{c:>12.1f}{pc:>12.1f}{c / pc:>10.1f}x   peer: new python, import lightgbm, load model.bin, predict 1 row"
    )
    print(
        f"{'warm: decide() in one process':<34}{w:>12.2f}{pw:>12.3f}{w / pw:>10.0f}x   peer: loaded booster, predict 1 row"
    )
    print(
        f"  warm decide without storing: {statistics.median(phases):.2f} ms (decide's own latency_ms, before the brain write)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
