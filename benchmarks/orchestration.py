"""How much of a night is orchestration: `huracan run` (Dagster runs, process pool, Ray tasks) against
the same stage functions called in a plain Python loop (the peer: no Dagster, no Ray), same coins,
same settings, fresh engine homes, measured in one run.

    uv run python benchmarks/orchestration.py [--coins 20] [--date 2026-11-20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def plain_loop(day: date, coins: int) -> tuple[float, dict[str, float]]:
    from huracan_core import stages
    from huracan_core.config import load_settings
    from huracan_core.exports import export_day

    settings = load_settings()
    parts: dict[str, float] = {}
    t0 = time.perf_counter()

    def timed(name: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        parts[name] = parts.get(name, 0.0) + time.perf_counter() - start
        return out

    universe = timed("universe", stages.universe_stage, settings, day, top_n=coins)
    for symbol in universe.selected:
        timed("candles", stages.candles_stage, settings, day, symbol)
    timed("market_context", stages.market_context_stage, settings, day, universe.selected)
    for symbol in universe.selected:
        timed("features", stages.features_stage, settings, day, symbol)
    timed("shared_encoder", stages.encoder_stage, settings, day, universe.selected)
    for symbol in universe.selected:
        timed("model (train + backtest + artifacts)", stages.model_stage, settings, day, symbol)
    timed("roster", stages.roster_stage, settings, day)
    timed("exports", export_day, stages.engine_home(settings), day)
    return time.perf_counter() - t0, parts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--coins", type=int, default=20)
    parser.add_argument("--date", default="2026-11-20")
    args = parser.parse_args()
    day = date.fromisoformat(args.date)
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HURACAN_HOME": str(Path(tmp) / "cli")}
        env.pop("DAGSTER_HOME", None)
        env.pop("RAY_ADDRESS", None)
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "huracan_dagster", "run", "--date", args.date, "--top", str(args.coins)],
            env=env,
            capture_output=True,
            text=True,
        )
        cli_wall = time.perf_counter() - start
        if proc.returncode not in (0, 1):
            sys.exit(f"huracan run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
        start = time.perf_counter()
        rerun = subprocess.run(
            [sys.executable, "-m", "huracan_dagster", "run", "--date", args.date, "--top", str(args.coins)],
            env=env,
            capture_output=True,
            text=True,
        )
        rerun_wall = time.perf_counter() - start
        os.environ["HURACAN_HOME"] = str(Path(tmp) / "plain")
        plain_wall, parts = plain_loop(day, args.coins)
    print(f"{args.coins} synthetic coins, {args.date}, settings from config/settings.yaml")
    print(f"huracan run (Dagster + process pool + Ray), cold process : {cli_wall:7.1f} s")
    print(
        f"same date again (every step complete, nothing re-run)     : {rerun_wall:7.1f} s (rc {rerun.returncode})"
    )
    print(f"peer: the same stage functions in one plain Python loop   : {plain_wall:7.1f} s")
    for name, seconds in parts.items():
        print(f"    {name:38s} {seconds:7.2f} s")
    print(
        f"ratio huracan run / plain loop: {cli_wall / plain_wall:.2f}x; "
        f"orchestration share of the run: {max(0.0, cli_wall - plain_wall) / cli_wall:.0%} "
        f"(plain loop is sequential on one core; huracan run uses {os.cpu_count()} cores)"
    )


if __name__ == "__main__":
    main()
