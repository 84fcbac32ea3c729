"""Training scheduler: 20 coins sequential against hybrid (capped parallel) on this machine's cores,
and Ray's overhead per task against the same `model_stage` calls in a plain loop (the peer).

    uv run python benchmarks/schedule.py [--coins 20] [--timeframe 1d]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--coins", type=int, default=20)
    parser.add_argument("--date", default="2026-11-20")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HURACAN_HOME"] = tmp
        import ray

        from huracan_core import stages
        from huracan_core.config import load_settings
        from huracan_core.execution.ray_training import ensure_ray, plan_training, train_coins

        settings = load_settings()
        day = date.fromisoformat(args.date)
        symbols = stages.prepare_day(settings, day, top_n=args.coins)

        start = time.perf_counter()
        for symbol in symbols:
            stages.model_stage(settings, day, symbol)
        plain = time.perf_counter() - start

        start = time.perf_counter()
        resources = ensure_ray(settings)
        ray_start = time.perf_counter() - start
        walls = {}
        for mode in ("sequential", "hybrid"):
            settings.training.mode = mode
            plan = plan_training(settings, resources)
            start = time.perf_counter()
            out = train_coins(settings, day, symbols, plan=plan)
            walls[mode] = (time.perf_counter() - start, plan.cap)
            failed = [s for s, o in out.items() if o.status == "failed"]
            if failed:
                raise SystemExit(f"{mode}: coins failed: {failed}")
        ray.shutdown()
    seq, hyb = walls["sequential"][0], walls["hybrid"][0]
    print(
        f"{len(symbols)} synthetic coins, {settings.market.timeframe} bars, {os.cpu_count()} cores, "
        f"cluster {resources.get('CPU')} CPU / {resources.get('GPU', 0)} GPU"
    )
    print(f"embedded Ray start                         : {ray_start:6.1f} s (once per process)")
    print(f"peer: model_stage in a plain loop (no Ray) : {plain:6.1f} s")
    print(f"Ray sequential (cap 1)                     : {seq:6.1f} s")
    print(f"Ray hybrid (cap {walls['hybrid'][1]})                         : {hyb:6.1f} s")
    print(f"speed-up hybrid vs sequential: {seq / hyb:.2f}x")
    print(f"Ray overhead per task (sequential - plain) / coins: {(seq - plain) / len(symbols) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
