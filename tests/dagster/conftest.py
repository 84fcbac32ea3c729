"""Dagster test helpers: an isolated engine home and a test instance per test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from dagster import AssetKey, DagsterInstance, instance_for_test

REPO = Path(__file__).resolve().parents[2]
LAUNCH_BACKFILL = """
mutation($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""


@pytest.fixture
def instance(home: Path) -> Iterator[DagsterInstance]:
    with instance_for_test() as inst:
        yield inst


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Dagster:
    port: int
    dagster_home: Path
    logs: Path

    def graphql(self, query: str, variables: dict) -> dict:
        response = requests.post(
            f"http://127.0.0.1:{self.port}/graphql", json={"query": query, "variables": variables}, timeout=30
        )
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def backfill(self, params: dict) -> str:
        result = self.graphql(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert result["__typename"] == "LaunchBackfillSuccess", result
        return result["backfillId"]

    def wait_for_exports(self, days: list[str], limit_s: float) -> float:
        """Seconds until `exports` is materialised for every day; fails with the daemon's log otherwise."""
        started = time.monotonic()
        while time.monotonic() - started < limit_s:
            with DagsterInstance.from_config(str(self.dagster_home)) as instance:
                done = instance.get_materialized_partitions(AssetKey("exports"))
            if set(days) <= done:
                return time.monotonic() - started
            time.sleep(2)
        pytest.fail(
            f"exports not materialised for {days} within {limit_s:.0f} s; daemon log tail:\n"
            + (self.logs / "daemon.log").read_text()[-4000:]
        )


@pytest.fixture
def dagster_dev(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dagster]:
    """`dagster-webserver` + `dagster-daemon` on the instance `huracan run` would create (what `dagster dev` runs)."""
    from huracan_dagster.runner import LOCAL_INSTANCE_YAML

    dagster_home = tmp_path / "dh"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "HURACAN_UNIVERSE__TOP_N": "3",
        "HURACAN_TRAINING__N_TRIALS": "3",
        "HURACAN_TRAINING__NUM_BOOST_ROUND": "60",
    }
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    bin_dir = Path(sys.executable).parent
    port = _free_port()
    web_log, daemon_log = (tmp_path / "web.log").open("w"), (tmp_path / "daemon.log").open("w")
    procs = [
        subprocess.Popen(
            [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            cwd=REPO,
            env=env,
            stdout=web_log,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"],
            cwd=REPO,
            env=env,
            stdout=daemon_log,
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(1)
        else:
            pytest.fail("webserver did not answer /server_info within 180 s")
        yield Dagster(port, dagster_home, tmp_path)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        web_log.close()
        daemon_log.close()
        subprocess.run(
            [str(bin_dir / "huracan"), "ray", "stop"],
            env=env,
            cwd=REPO,
            timeout=60,
            capture_output=True,
            check=False,
        )
