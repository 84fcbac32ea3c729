"""How much of a night is orchestration: `huracan run` (a Dagster run per layer, Ray tasks) against
the same stage functions called in a plain Python loop (the peer: no Dagster, no Ray), same coins,
same settings, fresh engine homes, measured in one run.

    uv run python benchmarks/orchestration.py [--coins 20] [--date 2026-11-20]
    # the 200-coin case on the recorded daily top-250 (lookback 1000 days):
    uv run python benchmarks/orchestration.py --coins 250 --date 2025-11-10 \\
        --replay ../shared/data/binance/1d-top250 --lookback 1000 [--no-peer]

Printed per night: wall; the fit-time floor (the per-coin LightGBM search + fits, summed from each
model's `training_log.json`, divided by the cores: no orchestrator can beat it); the ratio of the wall
to that floor; the orchestration share against the plain loop; and the peak RSS of the whole night
(the `huracan run` process and the Ray head with its workers, summed every 0.5 s).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import psutil


def plain_loop(day: date, coins: int) -> tuple[float, dict[str, float]]:
    from huracan_core import stages
    from huracan_core.config import load_settings

    settings = load_settings()
    parts: dict[str, float] = {}
    t0 = time.perf_counter()

    def timed(name: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        except Exception:  # a coin the night would fail or skip (short history): the peer moves on too
            return None
        finally:
            parts[name] = parts.get(name, 0.0) + time.perf_counter() - start

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
    # the same publication the `exports` asset runs: trading comparison, Brain Library, exports, reports
    timed("exports (brain, exports, reports)", stages.publish_stage, settings, day)
    return time.perf_counter() - t0, parts


def _kind(proc: psutil.Process, root: int) -> str:
    """Which part of the night a process is, for the CPU table."""
    if proc.pid == root:
        return "huracan run (every layer's run, in this process)"
    cmd = " ".join(proc.cmdline())
    name = proc.name()
    if ("default_worker.py" in cmd or name.startswith("ray::")) and "Agent" not in name:
        return "Ray workers (training tasks)"
    return "Ray head and its services"


class PeakRss:
    """Sums the RSS of a process tree plus the engine home's Ray head tree, every `period` seconds, and
    keeps each process's latest CPU time (user + system) to say where the night's CPU went."""

    def __init__(self, root: int, ray_tmp: str, period: float = 0.5) -> None:
        self.root, self.ray_tmp, self.period = root, ray_tmp, period
        self.peak = 0
        self.busy: list[tuple[float, float]] = []  # (epoch seconds, machine CPU busy fraction) per sample
        self.cpu: dict[int, tuple[str, float]] = {}  # pid -> (kind, CPU seconds at its last sample)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _tree(self) -> set[psutil.Process]:
        roots = []
        with contextlib.suppress(psutil.NoSuchProcess):
            roots.append(psutil.Process(self.root))
        for proc in psutil.process_iter(["cmdline"]):
            if any(self.ray_tmp in part for part in (proc.info["cmdline"] or [])):
                roots.append(proc)
        procs: set[psutil.Process] = set()
        for root in roots:
            procs.add(root)
            with contextlib.suppress(psutil.NoSuchProcess):
                procs.update(root.children(recursive=True))
        return procs

    def cpu_by_kind(self) -> dict[str, float]:
        """CPU seconds per kind of process (a process's CPU after its last sample, <0.5 s, is missed)."""
        out: dict[str, float] = {}
        for kind, seconds in self.cpu.values():
            out[kind] = out.get(kind, 0.0) + seconds
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def _sample(self) -> None:
        psutil.cpu_percent()  # primes the machine-wide counter: each later call covers the last period
        while not self._stop.is_set():
            self.busy.append((time.time(), psutil.cpu_percent() / 100))
            total = 0
            for proc in self._tree():
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    total += proc.memory_info().rss
                    times = proc.cpu_times()
                    kind = self.cpu[proc.pid][0] if proc.pid in self.cpu else _kind(proc, self.root)
                    self.cpu[proc.pid] = (kind, times.user + times.system)
            self.peak = max(self.peak, total)
            self._stop.wait(self.period)


def phases(dagster_home: Path, busy: list[tuple[float, float]]) -> list[tuple[str, int, float, float, float]]:
    """(assets, runs, start, span, mean machine CPU busy) per layer of the night, from its run records
    and the sampler: where the wall goes and which stretches leave cores idle."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    from dagster import DagsterInstance

    spans: dict[str, list[tuple[float, float]]] = {}
    with DagsterInstance.get() as instance:
        for record in instance.get_run_records():
            if record.start_time is not None and record.end_time is not None:
                assets = "+".join(
                    sorted(k.to_user_string() for k in record.dagster_run.asset_selection or ())
                )
                spans.setdefault(assets or record.dagster_run.job_name, []).append(
                    (record.start_time, record.end_time)
                )
    if not spans:
        return []
    t0 = min(start for runs in spans.values() for start, _ in runs)
    rows = []
    for job, runs in sorted(spans.items(), key=lambda kv: min(s for s, _ in kv[1])):
        start, end = min(s for s, _ in runs), max(e for _, e in runs)
        inside = [b for t, b in busy if start <= t <= end]
        rows.append(
            (job, len(runs), start - t0, end - start, sum(inside) / len(inside) if inside else float("nan"))
        )
    return rows


def fit_seconds(home: Path) -> tuple[float, int]:
    """Summed `train_seconds` of every model the night wrote, and how many models."""
    logs = list((home / "models").glob("*/*/training_log.json"))
    return sum(json.loads(p.read_text()).get("train_seconds", 0.0) for p in logs), len(logs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--coins", type=int, default=20)
    parser.add_argument("--date", default="2026-11-20")
    parser.add_argument("--replay", help="folder of recorded candles (market.source=replay)")
    parser.add_argument("--lookback", type=int, help="market.lookback_days")
    parser.add_argument(
        "--timeframe",
        default="1d",
        help="market.timeframe (default 1d: the recorded 1d-top250 coins, and the night measured before the "
        "hourly default, so the numbers compare; 1h for the engine's default synthetic night)",
    )
    parser.add_argument("--no-peer", action="store_true", help="skip the plain loop (it is sequential: slow)")
    parser.add_argument("--keep", type=Path, help="keep the nights' engine homes in this (new) folder")
    args = parser.parse_args()
    day = date.fromisoformat(args.date)
    if args.replay:
        os.environ["HURACAN_MARKET__SOURCE"] = "replay"
        os.environ["HURACAN_MARKET__REPLAY_DIR"] = str(Path(args.replay).resolve())
        os.environ["HURACAN_UNIVERSE__TOP_N"] = str(args.coins)
    if args.lookback:
        os.environ["HURACAN_MARKET__LOOKBACK_DAYS"] = str(args.lookback)
    os.environ["HURACAN_MARKET__TIMEFRAME"] = args.timeframe
    if args.timeframe == "1d" and not args.lookback:
        os.environ["HURACAN_MARKET__LOOKBACK_DAYS"] = "150"  # the seed's daily set-up (`daily` profile)
    cores = os.cpu_count() or 1
    if args.keep:
        args.keep.mkdir(parents=True)
    with contextlib.nullcontext(str(args.keep)) if args.keep else tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "cli"
        env = {**os.environ, "HURACAN_HOME": str(home)}
        env.pop("DAGSTER_HOME", None)
        env.pop("RAY_ADDRESS", None)
        command = [
            sys.executable,
            "-m",
            "huracan_dagster",
            "run",
            "--date",
            args.date,
            "--top",
            str(args.coins),
        ]
        os.environ["HURACAN_HOME"] = str(home)
        from huracan_core.config import load_settings
        from huracan_core.execution.ray_head import temp_dir

        ray_tmp = str(temp_dir(load_settings()))
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with PeakRss(proc.pid, ray_tmp) as rss:
            out, err = proc.communicate()
        cli_wall = time.perf_counter() - start
        if proc.returncode not in (0, 1):
            sys.exit(f"huracan run failed ({proc.returncode}):\n{err[-2000:]}")
        fits, models = fit_seconds(home)
        night_phases = phases(home / "dagster", rss.busy)
        night_busy = sum(b for _, b in rss.busy) / len(rss.busy) if rss.busy else float("nan")
        start = time.perf_counter()
        rerun = subprocess.run(command, env=env, capture_output=True, text=True)
        rerun_wall = time.perf_counter() - start
        subprocess.run(
            [sys.executable, "-m", "huracan_dagster", "ray", "stop"],
            env=env,
            capture_output=True,
            timeout=120,
        )
        plain_wall, parts = (0.0, {})
        if not args.no_peer:
            os.environ["HURACAN_HOME"] = str(Path(tmp) / "plain")
            plain_wall, parts = plain_loop(day, args.coins)
    floor = fits / cores
    source = f"replay {args.replay}" if args.replay else "synthetic"
    print(f"{args.coins} coins ({source}), {args.date}, {cores} cores")
    print(f"huracan run (Dagster + process pool + Ray), cold process : {cli_wall:7.1f} s")
    print(f"    models written {models}; fit-time floor (sum of train_seconds / {cores} cores) {floor:.1f} s")
    print(f"    wall / fit-time floor: {cli_wall / floor if floor else float('nan'):.2f}x")
    print(f"    peak RSS (run, Ray head and workers): {rss.peak / 2**30:.2f} GiB")
    cpu = rss.cpu_by_kind()
    print(
        f"    CPU of the night's processes: {sum(cpu.values()):.0f} s (wall x cores = {cli_wall * cores:.0f} s)"
    )
    for kind, seconds in cpu.items():
        print(f"        {kind:52s} {seconds:7.1f} s")
    print(f"    machine CPU busy over the night: {night_busy:.0%}; per job (runs, start, span, CPU busy):")
    for job, runs, start, span, busy in night_phases:
        print(f"        {job:24s} {runs:4d} runs  +{start:6.1f} s  {span:6.1f} s  {busy:4.0%}")
    print(
        f"same date again (every step complete, nothing re-run)     : {rerun_wall:7.1f} s (rc {rerun.returncode})"
    )
    if args.no_peer:
        return
    print(f"peer: the same stage functions in one plain Python loop   : {plain_wall:7.1f} s")
    for name, seconds in parts.items():
        print(f"    {name:38s} {seconds:7.2f} s")
    print(
        f"ratio huracan run / plain loop: {cli_wall / plain_wall:.2f}x; "
        f"orchestration share of the run: {max(0.0, cli_wall - plain_wall) / cli_wall:.0%} "
        f"(plain loop is sequential on one core; huracan run uses {cores} cores)"
    )


if __name__ == "__main__":
    main()
