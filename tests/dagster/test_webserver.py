"""Smoke test of the real webserver and daemon: load the workspace, launch a partitioned run through
GraphQL, and watch the daemon dequeue and finish it. Loopback only, bounded waits."""

from __future__ import annotations

import time
from pathlib import Path

from dagster_graphql import DagsterGraphQLClient

from tests.dagster.conftest import Dagster


def test_webserver_and_daemon_run_a_job(dagster_dev: Dagster, home: Path) -> None:
    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_dev.port)
    run_id = dagster_dev.launch_run(
        ["universe"],
        {"ops": {"universe": {"config": {"symbols": None, "top_n": 3}}}},
        {"dagster/partition": "2026-04-20"},
    )
    status = None
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(1)
    assert status == "SUCCESS", (dagster_dev.logs / "daemon.log").read_text()[-3000:]
    assert (home / "runs" / "20260420Z" / "universe.json").is_file()
