"""Smoke test of the real webserver and daemon: load the workspace, launch a partitioned run through
GraphQL, and watch the daemon dequeue and finish it. Loopback only, bounded waits."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from dagster_graphql import DagsterGraphQLClient

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_webserver_and_daemon_run_a_job(home: Path, tmp_path: Path) -> None:
    dagster_home = tmp_path / "dh"
    dagster_home.mkdir()
    from huracan_dagster.runner import LOCAL_INSTANCE_YAML

    (dagster_home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)  # the instance `huracan run` creates
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "HURACAN_UNIVERSE__TOP_N": "3"}
    bin_dir = Path(sys.executable).parent
    port = _free_port()
    logs = (tmp_path / "web.log").open("w"), (tmp_path / "daemon.log").open("w")
    web = subprocess.Popen(
        [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        stdout=logs[0],
        stderr=subprocess.STDOUT,
    )
    daemon = subprocess.Popen(
        [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        stdout=logs[1],
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(1)
        else:
            pytest.fail(
                "webserver did not answer /server_info within 120 s: " + (tmp_path / "web.log").read_text()
            )
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        run_id = client.submit_job_execution(
            "universe_job",
            repository_location_name="huracan",
            tags={"dagster/partition": "2026-04-20"},
            run_config={"ops": {"universe": {"config": {"symbols": None, "top_n": 3}}}},
        )
        status = None
        while time.monotonic() < deadline + 60:
            status = client.get_run_status(run_id).value
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(1)
        assert status == "SUCCESS", (tmp_path / "daemon.log").read_text()[-3000:]
        assert (home / "runs" / "20260420Z" / "universe.json").is_file()
    finally:
        for proc in (web, daemon):
            proc.terminate()
        for proc in (web, daemon):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for fh in logs:
            fh.close()
