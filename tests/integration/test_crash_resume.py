"""kill -9 of `huracan run` mid-training, then a rerun: completed coins skipped, the interrupted coin
retrained, and no partial model folder taken for a complete one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from huracan_core.atomic import IntegrityError, verify_manifest

REPO = Path(__file__).resolve().parents[2]
DAY = "2026-11-20"


def _ledger(home: Path) -> dict:
    path = home / "runs" / "20261120Z" / "status.json"
    try:
        return json.loads(path.read_text())["coins"]
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _run(env: dict, **kw) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [sys.executable, "-m", "huracan_dagster", "run", "--date", DAY, "--top", "3"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


@pytest.mark.slow  # about a minute or more on 2 cores: `pytest -m slow`
def test_kill_9_mid_training_then_resume(home: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HURACAN_TRAINING__WORKERS": "1",
        "HURACAN_TRAINING__N_TRIALS": "25",
        "HURACAN_TRAINING__NUM_BOOST_ROUND": "400",
        "DAGSTER_HOME": str(tmp_path / "dagster"),
    }
    env.pop("RAY_ADDRESS", None)
    proc = _run(env, start_new_session=True)
    deadline = time.monotonic() + 300
    victim = None
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            coins = _ledger(home)
            done = [s for s, e in coins.items() if e["status"] in ("success", "skipped")]
            running = [s for s, e in coins.items() if e["status"] == "running" and e["stage"] == "model"]
            if done and running:
                victim = running[0]
                break
            time.sleep(0.1)
        assert victim is not None, "never saw one coin finished while another trained: " + (
            proc.stdout.read() if proc.poll() is not None else "timeout"
        )
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    before = _ledger(home)
    completed = {s: e["output_path"] for s, e in before.items() if e["status"] == "success"}
    # the shared Ray head outlives the killed driver; Ray ends the orphaned task, which may record the coin
    # failed on its way out; either way it is not complete
    assert before[victim]["status"] in ("running", "failed"), before[victim]
    # whatever the killed coin left behind is not a model: no verifying sha256.txt
    for folder in (p for p in (home / "models" / victim).glob("*") if p.is_dir()):  # not metadata.json
        with pytest.raises(IntegrityError):
            verify_manifest(folder)

    rerun = _run(env)
    out, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, out[-3000:]
    after = _ledger(home)
    assert after[victim]["status"] in ("success", "skipped")
    for symbol, path in completed.items():
        assert after[symbol]["output_path"] == path, f"{symbol} was retrained"
        assert len([p for p in (home / "models" / symbol).glob("*") if p.is_dir()]) == 1
    if after[victim]["status"] == "success":
        verify_manifest(Path(after[victim]["output_path"]))
    roster = json.loads((home / "champions" / "roster.json").read_text())
    assert sorted(c["symbol"] for c in roster["coins"]) == sorted(after)
