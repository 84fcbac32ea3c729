"""Ray that always starts or fails fast: the engine home's one shared local head, workers on the
driver's interpreter however the command was launched, and a worker that cannot start failing the
coin within the start timeout with the reason Ray logged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import ray

from huracan_core.config import load_settings
from huracan_core.execution import ray_head
from huracan_core.execution.ray_training import START_ERROR, TrainingPlan, ensure_ray, train_coins

REPO = Path(__file__).resolve().parents[2]
DAY = date(2026, 4, 20)
RAY_ENV = ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN_PATH", ray_head.UV_HOOK_ENV, ray_head.CLUSTER_ENV)

JOIN = """
import json, sys, time
from huracan_core.config import load_settings
from huracan_core.execution.ray_training import CONNECTION, ensure_ray
import ray

ensure_ray(load_settings())

@ray.remote(num_cpus=1, max_retries=0)
def where():
    import os, sys
    return sys.executable, os.getpid()

python, pid = ray.get(where.remote(), timeout=120)
print("RESULT " + json.dumps({**CONNECTION, "worker_python": python}), flush=True)
"""


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in RAY_ENV}
    return {**env, "HURACAN_HOME": str(home)}


def _result(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert lines, out[-3000:]
    return json.loads(lines[-1][len("RESULT ") :])


def _gcs_servers(pgid: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[2]) == pgid and b"gcs_server" in cmd:
            count += 1
    return count


@pytest.fixture
def stop_head(home: Path) -> Iterator[None]:
    try:
        yield
    finally:
        ray_head.stop_local_head(load_settings())


@pytest.mark.slow
def test_processes_share_one_head_and_a_dead_one_is_replaced(home: Path, stop_head: None) -> None:
    env = _clean_env(home)
    # two processes at once: the lock lets exactly one of them start the head, the other joins it
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", JOIN],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    first = [_result(p.communicate(timeout=240)[0]) for p in procs]
    assert sorted(r["started_head"] for r in first) == [False, True], first
    assert first[0]["address"] == first[1]["address"]
    assert all(r["worker_python"] == sys.executable for r in first)
    info = ray_head.read_head(load_settings())
    assert info is not None and info.address == first[0]["address"] and _gcs_servers(info.pgid) == 1

    # a later process joins the running head quickly
    out = subprocess.run(
        [sys.executable, "-c", JOIN], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )
    later = _result(out.stdout + out.stderr)
    assert later["started_head"] is False and later["address"] == info.address
    assert later["connect_s"] < 10, later

    # the head dies: the next process sees a stale record and starts a new head
    os.killpg(info.pgid, 9)
    out = subprocess.run(
        [sys.executable, "-c", JOIN], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )
    replaced = _result(out.stdout + out.stderr)
    new = ray_head.read_head(load_settings())
    assert replaced["started_head"] is True and new is not None and new.pgid != info.pgid
    assert replaced["address"] == new.address

    # `huracan ray stop` takes the whole head down and forgets it
    stop = subprocess.run(
        [sys.executable, "-m", "huracan_dagster", "ray", "stop"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stop.returncode == 0, stop.stdout + stop.stderr
    assert ray_head.read_head(load_settings()) is None and _gcs_servers(new.pgid) == 0
    status = subprocess.run(
        [sys.executable, "-m", "huracan_dagster", "ray", "status"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 1 and "no local Ray head" in status.stdout


@pytest.mark.slow
def test_uv_run_no_sync_driver_keeps_workers_on_its_interpreter(home: Path, stop_head: None) -> None:
    """Under `uv run --no-sync`, Ray's uv hook used to re-launch workers with `uv run` in an uploaded
    copy of the repo (no .venv): they died at start and the task waited forever."""
    env = _clean_env(home)
    env.pop("VIRTUAL_ENV", None)
    out = subprocess.run(
        ["uv", "run", "--no-sync", "python", "-c", JOIN],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    result = _result(out.stdout + out.stderr)
    assert result["worker_python"] == str(REPO / ".venv" / "bin" / "python"), result


def _quick(settings, day, symbol, device, threads):  # type: ignore[no-untyped-def]
    return {"symbol": symbol}


@pytest.fixture
def joined(home: Path, stop_head: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This test process joined to the home's shared head; Ray's env and auth caches restored after."""
    for key in RAY_ENV:
        monkeypatch.delenv(key, raising=False)
    if ray.is_initialized():
        ray.shutdown()
    ensure_ray(load_settings())
    try:
        yield
    finally:
        ray.shutdown()
        for key in RAY_ENV:  # monkeypatch restores them after this fixture: clear Ray's caches then too
            os.environ.pop(key, None)
        from ray._raylet import AuthenticationTokenLoader, Config

        Config.initialize("")
        AuthenticationTokenLoader.instance().reset_cache()


@pytest.mark.slow  # about a minute or more on 2 cores: `pytest -m slow`
def test_worker_that_cannot_start_fails_the_coin_within_the_start_timeout(home: Path, joined: None) -> None:
    s = load_settings()
    missing = str(home / "no-such-venv" / "bin" / "python3")
    plan = TrainingPlan(
        mode="hybrid",
        cap=1,
        num_cpus=1,
        num_gpus=0,
        device="cpu",
        timeout_s=600,
        retries=1,
        backoff_s=0.2,
        start_timeout_s=6.0,
        runtime_env={"py_executable": missing},
    )
    started = time.monotonic()
    out = train_coins(s, DAY, ["DEAD-USDT"], plan=plan, task=_quick)
    elapsed = time.monotonic() - started
    o = out["DEAD-USDT"]
    assert o.status == "failed" and o.error_type == START_ERROR, o
    assert o.attempts == 2, "a worker that could not start is retried like any failure"
    assert 2 * plan.start_timeout_s <= elapsed < 2 * plan.start_timeout_s + 15, elapsed
    assert o.error and o.error.startswith("Ray workers could not start: ")
    assert missing in o.error, o.error  # the reason Ray logged: the worker's interpreter does not exist
    assert "no worker started within 6 s" in o.error
    # the same head still trains a coin whose worker can start
    ok = train_coins(
        s,
        DAY,
        ["LIVE-USDT"],
        plan=TrainingPlan(
            mode="hybrid", cap=1, num_cpus=1, num_gpus=0, device="cpu", timeout_s=60, retries=0
        ),
        task=_quick,
    )
    assert ok["LIVE-USDT"].status == "success"


def _listening(pgid: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp* writes them) of every TCP socket the head's processes
    listen on."""
    inodes: set[str] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            for fd in (entry / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except (OSError, ValueError, IndexError):
            continue
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1].split(":")[0])
    return found


# 127.0.0.1, ::ffff:127.0.0.1 and ::1 as /proc/net/tcp and tcp6 write them
LOOPBACK_HEX = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


def test_the_local_head_listens_on_loopback_only(home: Path, joined: None) -> None:
    info = ray_head.read_head(load_settings())
    assert info is not None and info.address.startswith("127.0.0.1:"), info
    listening = _listening(info.pgid)
    assert listening, "no listening socket found for the head's processes"
    exposed = [a for a in listening if a not in LOOPBACK_HEX]
    assert not exposed, f"the head listens beyond loopback: {exposed} (of {listening})"

    @ray.remote(num_cpus=1, max_retries=0)
    def answer() -> int:
        return 42

    assert ray.get(answer.remote(), timeout=120) == 42  # drivers and workers still join it
