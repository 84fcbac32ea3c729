"""Training on a real local Ray with declared GPUs: caps, real timeouts, retries."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import ray

from huracan_core.config import load_settings
from huracan_core.execution import ray_head
from huracan_core.execution.ray_training import TrainingPlan, plan_training, train_coins

DAY = date(2026, 4, 20)


@pytest.fixture(scope="module")
def ray_gpus() -> Iterator[None]:
    # under `uv run` Ray would start the workers with `uv run` in an uploaded copy of the repo (they
    # die at start): keep them on this interpreter, as ensure_ray does
    ray_head.disable_uv_hook()
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _sleepy(settings, day, symbol, device, threads):  # type: ignore[no-untyped-def]
    start = time.time()
    time.sleep(1.0)
    return {"symbol": symbol, "device": device, "start": start, "end": time.time()}


def _peak(intervals: list[tuple[float, float]]) -> int:
    events = sorted(
        [(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1])
    )
    level = peak = 0
    for _, d in events:
        level += d
        peak = max(peak, level)
    return peak


def test_plan_defaults_by_mode_and_resources(home: Path) -> None:
    s = load_settings()
    assert plan_training(s, {"CPU": 16.0}).cap == 2
    gpu = plan_training(s, {"CPU": 64.0, "GPU": 16.0})
    assert gpu.cap == 12 and gpu.num_gpus == 1 and gpu.device == "gpu"
    assert plan_training(s, {"CPU": 64.0, "GPU": 2.0}).cap == 2  # never more in flight than GPUs
    s.training.mode = "sequential"
    assert plan_training(s, {"CPU": 16.0, "GPU": 4.0}).cap == 1
    s.training.mode = "parallel"
    assert plan_training(s, {"CPU": 16.0}).cap == 16
    s.training.mode = "hybrid"
    s.training.workers = 5
    assert plan_training(s, {"CPU": 16.0}).cap == 5


def test_gpu_tasks_never_exceed_two_at_a_time(ray_gpus: None, home: Path) -> None:
    s = load_settings()
    plan = plan_training(s)
    assert plan.num_gpus == 1 and plan.cap == 2
    out = train_coins(s, DAY, [f"C{i}-USDT" for i in range(5)], plan=replace(plan, cap=12), task=_sleepy)
    assert all(o.status == "success" and o.result["device"] == "gpu" for o in out.values())
    intervals = [(o.result["start"], o.result["end"]) for o in out.values()]
    assert _peak(intervals) == 2  # Ray's GPU accounting holds even when our cap is higher


def test_cpu_only_cap_holds(ray_gpus: None, home: Path) -> None:
    s = load_settings()
    s.training.workers = 1
    plan = plan_training(s, {"CPU": 2.0})
    assert plan.num_gpus == 0 and plan.cap == 1
    out = train_coins(s, DAY, ["A-USDT", "B-USDT", "C-USDT"], plan=plan, task=_sleepy)
    intervals = [(o.result["start"], o.result["end"]) for o in out.values()]
    assert _peak(intervals) == 1 and all(o.result["device"] == "cpu" for o in out.values())


def _forever(settings, day, symbol, device, threads):  # type: ignore[no-untyped-def]
    beat = Path(settings.home) / f"{symbol}.beat"
    beat.parent.mkdir(parents=True, exist_ok=True)
    while True:
        beat.write_text(str(time.time()))
        time.sleep(0.1)


def test_timeout_really_stops_the_task(ray_gpus: None, home: Path) -> None:
    s = load_settings()
    plan = TrainingPlan(mode="hybrid", cap=2, num_cpus=1, num_gpus=0, device="cpu", timeout_s=2.0, retries=0)
    start = time.monotonic()
    out = train_coins(s, DAY, ["SLOW-USDT"], plan=plan, task=_forever)
    elapsed = time.monotonic() - start
    o = out["SLOW-USDT"]
    assert o.status == "failed" and o.error_type == "TrainingTimeout"
    assert elapsed < plan.timeout_s + 5
    beat = home / "SLOW-USDT.beat"
    last = beat.stat().st_mtime
    time.sleep(1.5)
    assert beat.stat().st_mtime == last, "the worker kept running after its timeout"


def _flaky(settings, day, symbol, device, threads):  # type: ignore[no-untyped-def]
    marker = Path(settings.home) / f"{symbol}.tried"
    if not marker.exists():
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("1")
        raise ConnectionError("transient failure")
    return {"symbol": symbol}


def test_fails_once_then_succeeds_is_retried_once(ray_gpus: None, home: Path) -> None:
    s = load_settings()
    plan = TrainingPlan(
        mode="hybrid", cap=2, num_cpus=1, num_gpus=0, device="cpu", timeout_s=60, retries=2, backoff_s=0.2
    )
    seen = []
    out = train_coins(s, DAY, ["FLAKY-USDT"], plan=plan, task=_flaky, on_done=seen.append)
    o = out["FLAKY-USDT"]
    assert o.status == "success" and o.attempts == 2
    assert seen == [o]  # reported once, when final: the retry is not an outcome


def test_same_date_gives_identical_models_in_every_mode(
    ray_gpus: None, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huracan_core import stages
    from huracan_core.atomic import sha256_file

    monkeypatch.setenv("HURACAN_TRAINING__N_TRIALS", "3")
    monkeypatch.setenv("HURACAN_TRAINING__NUM_BOOST_ROUND", "60")
    s = load_settings()
    day = date(2026, 11, 20)
    symbols = stages.prepare_day(s, day, top_n=3)
    digests = {}
    for mode in ("sequential", "parallel", "hybrid"):
        s.training.mode = mode
        plan = plan_training(s, {"CPU": 2.0})  # the CPU path: declared GPUs have no driver here
        out = train_coins(s, day, symbols, plan=plan)
        assert all(o.status in ("success", "skipped") for o in out.values()), out
        digests[mode] = {
            sym: sha256_file(Path(o.result.result.model_dir) / "model.bin")
            for sym, o in out.items()
            if o.status == "success"
        }
    assert digests["sequential"] and digests["sequential"] == digests["parallel"] == digests["hybrid"]


def _missing_input(settings, day, symbol, device, threads):  # type: ignore[no-untyped-def]
    from huracan_core.stages import StageError

    raise StageError(f"no features for {symbol}")


def test_a_stop_cancels_the_tasks_in_flight_and_retries_nothing(ray_gpus: None, home: Path) -> None:
    """An interrupted step (cancel in the UI, Ctrl-C) stops its coins' tasks: no retry, no new task."""
    s = load_settings()
    plan = TrainingPlan(mode="hybrid", cap=1, num_cpus=1, num_gpus=0, device="cpu", timeout_s=60, retries=2)
    asked = time.monotonic() + 3.0
    start = time.monotonic()
    out = train_coins(
        s, DAY, ["SLOW-USDT", "NEXT-USDT"], plan=plan, task=_forever, stop=lambda: time.monotonic() > asked
    )
    assert time.monotonic() - start < 10
    assert {o.status for o in out.values()} == {"failed"} and {o.error_type for o in out.values()} == {
        "Interrupted"
    }
    assert sorted(o.attempts for o in out.values()) == [0, 1]  # cap 1: the second was never submitted
    (running,) = [s for s, o in out.items() if o.attempts]
    beat = home / f"{running}.beat"
    time.sleep(1.0)
    last = beat.stat().st_mtime
    time.sleep(1.5)
    assert beat.stat().st_mtime == last, "the worker kept running after the stop"


def test_deterministic_failures_are_not_retried(ray_gpus: None, home: Path) -> None:
    s = load_settings()
    plan = TrainingPlan(
        mode="hybrid", cap=2, num_cpus=1, num_gpus=0, device="cpu", timeout_s=60, retries=2, backoff_s=0.2
    )
    out = train_coins(s, DAY, ["GONE-USDT"], plan=plan, task=_missing_input)
    assert out["GONE-USDT"].status == "failed" and out["GONE-USDT"].error_type == "StageError"
    assert out["GONE-USDT"].attempts == 1
