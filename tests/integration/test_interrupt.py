"""SIGTERM of `huracan run` mid-training: exits 143 within seconds, the coins of the model run are failed
("interrupted") on their partitions and in status.json, the run is failed, and its Ray task stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from huracan_core.config import load_settings
from huracan_core.execution import ray_head

REPO = Path(__file__).resolve().parents[2]
DAY = "2026-11-20"


def _ledger(home: Path) -> dict:
    try:
        return json.loads((home / "runs" / "20261120Z" / "status.json").read_text())["coins"]
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _ray_tasks_running(pgid: int) -> list[int]:
    """Ray workers of the head's process group that are executing a training task."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[2]) == pgid and cmd.startswith(b"ray::_run_task"):
            found.append(int(entry.name))
    return found


@pytest.fixture
def stop_head(home: Path) -> Iterator[None]:
    try:
        yield
    finally:
        ray_head.stop_local_head(load_settings())


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2], ids=["one-at-a-time", "two-on-ray"])
def test_sigterm_mid_training(
    home: Path, tmp_path: Path, stop_head: None, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    dagster_home = tmp_path / "dagster"
    env = {
        **os.environ,
        "HURACAN_TRAINING__WORKERS": str(workers),
        "HURACAN_TRAINING__N_TRIALS": "40",
        "HURACAN_TRAINING__NUM_BOOST_ROUND": "600",
        "DAGSTER_HOME": str(dagster_home),
    }
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "huracan_dagster", "run", "--date", DAY, "--top", "3"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    victim = None
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and proc.poll() is None:
            running = [
                s for s, e in _ledger(home).items() if e["status"] == "running" and e["stage"] == "model"
            ]
            if running:
                victim = running[0]
                break
            time.sleep(0.1)
        assert victim is not None, "no coin ever trained: " + (
            proc.stdout.read() if proc.poll() is not None else "timeout"
        )
        time.sleep(1.0)  # well inside the training (seconds with these settings)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)  # the process only, as a service manager or `kill` would
        out, _ = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    assert proc.returncode == 143, out[-3000:]
    assert took < 15, f"exit took {took:.1f} s"
    entry = _ledger(home)[victim]
    assert entry["status"] == "failed" and entry["error_type"] == "Interrupted", entry
    assert "interrupted" in entry["error"] and "SIGTERM" in entry["error"]

    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    from huracan_dagster.night.state import IN_FLIGHT

    TAG_DATE = "huracan/date"

    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    instance = DagsterInstance.get()
    try:
        assert not instance.get_run_records(
            RunsFilter(tags={TAG_DATE: date.fromisoformat(DAY).isoformat()}, statuses=list(IN_FLIGHT))
        ), "a run was left in flight"
        runs = instance.get_run_records(RunsFilter(tags={TAG_DATE: DAY}))
        model_runs = [
            r for r in runs if {k.to_user_string() for k in r.dagster_run.asset_selection} == {"model"}
        ]
        assert model_runs and model_runs[0].dagster_run.status == DagsterRunStatus.FAILURE
    finally:
        instance.dispose()

    # the coin's Ray task was stopped with the process, though the shared head lives on
    head = ray_head.read_head(load_settings())
    assert head is not None and ray_head.head_alive(head)
    stop_by = time.monotonic() + 10
    while _ray_tasks_running(head.pgid) and time.monotonic() < stop_by:
        time.sleep(0.2)
    assert not _ray_tasks_running(head.pgid), "the interrupted coin kept training on Ray"
