"""The production topology on one machine: Dagster's webserver and daemon on the real PostgreSQL (the
repository's `dagster.yaml`, storage from `DAGSTER_PG_*`), training on an external two-node Ray cluster
(`ray start --head` plus a second `ray start --address=<head>`, token authentication) that the engine
reaches through `ray.address`, and a night launched the UI's way (a `universe` backfill through GraphQL)
carried by the daemon to `exports`.

Slow (a real webserver, daemon and Ray cluster): `pytest -m slow tests/deploy/test_production_topology.py`.
Only this test's own Ray nodes are stopped (their process groups), never `ray stop`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from dagster import DagsterInstance

from huracan_core.config import load_settings
from huracan_core.dates import last_complete_day
from huracan_core.execution import ray_head
from huracan_core.ledger import RunLedger
from huracan_core.paths import EngineHome
from tests.dagster.conftest import REPO, SMALL_NIGHT, _free_port, pg_database, running_dagster
from tests.support.postgres import PG

BIN = Path(sys.executable).parent
# a driver joined to the cluster for a moment: the nodes Ray knows, as JSON on the last line
LIST_NODES = (
    "import json, sys, ray\n"
    "ray.init(address=sys.argv[1], log_to_driver=False)\n"
    "print(json.dumps([{'id': n['NodeID'], 'ip': n['NodeManagerAddress'], 'alive': n['Alive'],"
    " 'cpus': n['Resources'].get('CPU', 0)} for n in ray.nodes()]))\n"
)


@dataclass
class RayCluster:
    address: str
    env: dict[str, str]  # what a process needs to join it (the token)
    procs: list[subprocess.Popen]
    logs: list[Path]

    def nodes(self) -> list[dict]:
        out = subprocess.run(
            [sys.executable, "-c", LIST_NODES, self.address],
            env=self.env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    def log_tails(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in self.logs if p.is_file())


def _node_ports() -> list[str]:
    # fixed defaults (52365, 8076, ...) would collide between the two nodes and with other Rays here
    return [
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--dashboard-agent-grpc-port={_free_port()}",
        f"--metrics-export-port={_free_port()}",
        f"--runtime-env-agent-port={_free_port()}",
    ]


def _wait_for_line(log: Path, proc: subprocess.Popen, text: str, limit_s: float) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if log.is_file() and text in log.read_text():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    pytest.fail(f"`ray start` did not say {text!r} within {limit_s:.0f} s:\n{log.read_text()[-4000:]}")


@pytest.fixture
def ray_cluster() -> Iterator[RayCluster]:
    """A head and a second node, 1 CPU each, on 127.0.0.1, each `ray start --block` in its own process
    group and temp dir (short: Unix socket paths are limited); token authentication like production."""
    root = Path(tempfile.mkdtemp(prefix="hrt-"))
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
        "RAY_USAGE_STATS_ENABLED": "0",
        ray_head.UV_HOOK_ENV: "0",
    }
    env.pop("RAY_ADDRESS", None)
    port = _free_port()
    address = f"127.0.0.1:{port}"
    common = ["--block", "--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    commands = {
        "head": [
            "--head",
            f"--port={port}",
            f"--ray-client-server-port={_free_port()}",
            "--include-dashboard=false",
        ],
        "worker": [f"--address={address}"],
    }
    cluster = RayCluster(address, env, [], [])
    try:
        for name, args in commands.items():
            log = root / f"{name}.log"
            cluster.logs.append(log)
            with log.open("w") as out:
                proc = subprocess.Popen(
                    [str(BIN / "ray"), "start", *args, *common, *_node_ports(), f"--temp-dir={root / name}"],
                    cwd=root,
                    env=env,
                    start_new_session=True,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            cluster.procs.append(proc)
            _wait_for_line(log, proc, "Ray runtime started", 120)
        deadline = time.monotonic() + 60
        while sum(n["alive"] for n in cluster.nodes()) < 2:
            if time.monotonic() > deadline:
                pytest.fail(f"the second node did not join the head within 60 s:\n{cluster.log_tails()}")
            time.sleep(1)
        yield cluster
    finally:
        for proc in reversed(cluster.procs):  # the worker node first, then the head
            ray_head._kill_group(proc.pid, grace_s=10.0)
            proc.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


def _runs_in_postgres(db: str) -> list[tuple[str, str, str | None]]:
    """(job, status, partition) of every run recorded in the test database's `runs` table."""
    import psycopg

    with psycopg.connect(dbname=db, connect_timeout=5, **PG) as conn:
        return conn.execute(
            "SELECT r.pipeline_name, r.status, t.value FROM runs r "
            "LEFT JOIN run_tags t ON t.run_id = r.run_id AND t.key = 'dagster/partition'"
        ).fetchall()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(2400)
def test_ui_night_on_postgres_dagster_and_a_two_node_ray_cluster(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ray_cluster: RayCluster
) -> None:
    started = time.monotonic()
    cluster_nodes = {n["id"]: n for n in ray_cluster.nodes()}
    assert len(cluster_nodes) == 2 and all(n["alive"] for n in cluster_nodes.values()), cluster_nodes
    day = (last_complete_day() - timedelta(days=370)).isoformat()
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    with pg_database() as pg_env:
        for key, value in {**pg_env, "DAGSTER_HOME": str(dagster_home)}.items():
            monkeypatch.setenv(key, value)  # this process reads the instance too (wait_for_exports)
        env = {
            **ray_cluster.env,
            **pg_env,
            **SMALL_NIGHT,
            "DAGSTER_HOME": str(dagster_home),
            "HURACAN_RAY__ADDRESS": ray_cluster.address,
        }
        # Dagster 1.13.27 on PostgreSQL: the first claims of a pool with a default limit race to insert its
        # row, and the loser's run fails (UniqueViolation, then InFailedSqlTransaction: the IntegrityError is
        # caught inside the aborted transaction). A fresh database meets it with the night's 3 concurrent
        # model runs, so the `train` pool's row is created here first, as the first claim would create it.
        with DagsterInstance.from_config(str(dagster_home)) as instance:
            instance.event_log_storage.initialize_concurrency_limit_to_default("train")
        with running_dagster(dagster_home, env, tmp_path) as dagster:
            dagster.backfill(
                {"partitionNames": [day], "assetSelection": [{"path": ["universe"]}], "fromFailure": False}
            )
            night_s = dagster.wait_for_exports([day], limit_s=1500)
            dagster.wait_for_runs_to_end(limit_s=120)  # the night's own run ends just after its exports
        runs = _runs_in_postgres(pg_env["DAGSTER_PG_DB"])

    # (a) every run of the night is recorded in PostgreSQL, and none failed
    by_job = Counter((job, status) for job, status, _ in runs)
    assert not [r for r in runs if r[1] != "SUCCESS"], by_job
    assert by_job[("__ASSET_JOB", "SUCCESS")] == 1, by_job  # the UI backfill's `universe` run
    coins = sorted(RunLedger(EngineHome(home), date.fromisoformat(day)).entries())
    assert len(coins) == 3, coins
    model_partitions = {p for job, _, p in runs if job == "model_job"}
    assert model_partitions == {f"{day}|{c}" for c in coins}, model_partitions
    if (REPO / "huracan_dagster" / "defs" / "pipeline" / "night.py").is_file():
        assert by_job[("night_job", "SUCCESS")] >= 1, by_job  # the sensor's one run per night
    assert (home / "exports" / day / "roster.json").is_file()

    # (b) every coin trained in a Ray task on one of the cluster's two nodes (the task's own start stamp)
    stamps = {
        p.name.split(".")[0]: json.loads(p.read_text())
        for p in (EngineHome(home).run_dir(date.fromisoformat(day)) / ".started").iterdir()
    }
    assert sorted(stamps) == coins, stamps
    trained_on = {coin: s["node_id"] for coin, s in stamps.items()}
    assert set(trained_on.values()) <= set(cluster_nodes), (trained_on, cluster_nodes)
    # (`--node-ip-address=127.0.0.1` is resolved by Ray to the machine's reachable address)
    assert all(s["node_ip"] == cluster_nodes[s["node_id"]]["ip"] for s in stamps.values()), stamps

    # ... and the engine started no Ray of its own: no head record, no head temp dir, still two nodes
    settings = load_settings(home=home)
    assert not ray_head.head_file(settings).exists()
    assert not ray_head.temp_dir(settings).exists()
    after = ray_cluster.nodes()
    assert {n["id"] for n in after} == set(cluster_nodes) and all(n["alive"] for n in after), after
    print(
        f"\nnight of {len(coins)} coins under the daemon on PostgreSQL + 2-node Ray: {night_s:.1f} s "
        f"(test {time.monotonic() - started:.1f} s); runs in PostgreSQL: {dict(sorted(by_job.items()))}; "
        f"coins per node: {dict(Counter(trained_on.values()))}"
    )
