"""Dagster test helpers: an isolated engine home and a test instance per test."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter, instance_for_test

from tests.support.postgres import PG, fresh_database

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
LAUNCH_RUN = """
mutation($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
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

    def launch_run(self, assets: list[str], run_config: dict, tags: dict[str, str]) -> str:
        """Submit a run of `assets` to the instance's queue, as the UI's Materialize button and the
        scheduler do (the implicit asset job with an asset selection)."""
        params = {
            "selector": {
                "repositoryLocationName": "huracan",
                "repositoryName": "__repository__",
                "jobName": "__ASSET_JOB",
                "assetSelection": [{"path": [a]} for a in assets],
            },
            "runConfigData": run_config,
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        }
        result = self.graphql(LAUNCH_RUN, {"params": params})["launchRun"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return result["run"]["runId"]

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

    def wait_for_runs_to_end(self, limit_s: float) -> None:
        """Until no run is queued or in progress (a night's own run ends shortly after its `exports`)."""
        busy = [
            DagsterRunStatus.QUEUED,
            DagsterRunStatus.NOT_STARTED,
            DagsterRunStatus.STARTING,
            DagsterRunStatus.STARTED,
            DagsterRunStatus.CANCELING,
        ]
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            with DagsterInstance.from_config(str(self.dagster_home)) as instance:
                left = instance.get_runs(RunsFilter(statuses=busy))
            if not left:
                return
            time.sleep(1)
        pytest.fail(f"runs still in progress after {limit_s:.0f} s: {[(r.job_name, r.status) for r in left]}")


# a small night: 3 coins, few trials, short boosting (what the UI tests run under the daemon)
SMALL_NIGHT = {
    "HURACAN_UNIVERSE__TOP_N": "3",
    "HURACAN_TRAINING__N_TRIALS": "3",
    "HURACAN_TRAINING__NUM_BOOST_ROUND": "60",
}


@contextmanager
def pg_database() -> Iterator[dict[str, str]]:
    """A fresh database for one test, dropped at the end; yields the DAGSTER_PG_* env vars the
    repository's `dagster.yaml` reads."""
    with fresh_database("huracan_dagster") as db:
        yield {
            "DAGSTER_PG_HOST": PG["host"],
            "DAGSTER_PG_PORT": str(PG["port"]),
            "DAGSTER_PG_USER": PG["user"],
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": db,
        }


@contextmanager
def running_dagster(
    dagster_home: Path, env: dict[str, str], logs: Path, *, daemon: bool = True
) -> Iterator[Dagster]:
    """`dagster-webserver` + `dagster-daemon` (what `dagster dev` runs) from the repository root with
    `-w workspace.yaml`, on the instance of `dagster_home` and with `env`. Each runs in its own process
    group, killed at the end: their code servers and run processes go with them."""
    bin_dir = Path(sys.executable).parent
    port = _free_port()
    # create the instance's SQLite tables once, before the webserver, the daemon and their code servers
    # start together: each would otherwise create them at the same moment (a second alembic head)
    DagsterInstance.from_config(str(dagster_home)).dispose()
    web_log, daemon_log = (logs / "web.log").open("w"), (logs / "daemon.log").open("w")
    procs = [
        subprocess.Popen(
            [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
            cwd=REPO,
            env=env,
            stdout=web_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        ),
    ]
    if daemon:
        procs.append(
            subprocess.Popen(
                [str(bin_dir / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                cwd=REPO,
                env=env,
                stdout=daemon_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
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
        yield Dagster(port, dagster_home, logs)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for proc in procs:  # what they left in their process groups: code servers, runs still going
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        web_log.close()
        daemon_log.close()


@pytest.fixture
def dagster_dev(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Dagster]:
    """`dagster-webserver` + `dagster-daemon` on the instance `huracan run` would create (what `dagster dev` runs)."""
    from huracan_dagster.night.client import LOCAL_INSTANCE_YAML

    dagster_home = tmp_path / "dh"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), **SMALL_NIGHT}
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    try:
        with running_dagster(dagster_home, env, tmp_path) as dagster:
            yield dagster
    finally:
        subprocess.run(
            [str(Path(sys.executable).parent / "huracan"), "ray", "stop"],
            env=env,
            cwd=REPO,
            timeout=60,
            capture_output=True,
            check=False,
        )
