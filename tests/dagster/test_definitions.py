"""The code location loads, validates and exposes the stages, jobs, schedule and sensors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster import AssetKey

REPO = Path(__file__).resolve().parents[2]


def test_dagster_definitions_validate(home: Path, tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run(
        [str(dagster), "definitions", "validate", "-m", "huracan_dagster.definitions"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation successful" in proc.stdout + proc.stderr


def test_graph_shape(home: Path) -> None:
    from huracan_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {
        "universe",
        "coin",
        "candles",
        "market_context",
        "features",
        "shared_encoder",
        "model",
        "roster",
        "exports",
    }
    assert {k.to_user_string() for k in graph.get(AssetKey("roster")).parent_keys} == {"model"}
    assert {k.to_user_string() for k in graph.get(AssetKey("model")).parent_keys} == {
        "features",
        "shared_encoder",
    }
    checks = {c.name for c in graph.asset_check_keys if c.asset_key == AssetKey("model")}
    assert {"gate_sharpe", "gate_trades", "gate_deflated_sharpe", "gate_net_pnl_bps"} <= checks
    assert defs.resolve_schedule_def("nightly_universe").cron_schedule == "0 2 * * *"
    assert {s.name for s in defs.sensors} == {
        "night_automation",
        "remote_sync_sensor",
        "telegram_on_run_failure",
        "freshness_checks_sensor",
    }


def test_only_launch_imports_private_dagster_modules() -> None:
    """Private Dagster APIs change without notice: one module (huracan run's in-process launch) uses them."""
    import re

    users = {
        str(p.relative_to(REPO))
        for p in (REPO / "huracan_dagster").rglob("*.py")
        if re.search(r"^\s*(from|import) dagster\._", p.read_text(), re.M)
    }
    assert users == {"huracan_dagster/night/launch.py"}, users


def test_per_coin_assets_run_a_dates_coins_in_one_run() -> None:
    from huracan_dagster.definitions import defs

    graph = defs.resolve_asset_graph()
    for name in ("candles", "features", "model"):
        node = graph.get(AssetKey(name))
        assert node.backfill_policy is not None and node.backfill_policy.max_partitions_per_run is None, name
        assert node.automation_condition is not None, name
    for name in ("market_context", "shared_encoder", "roster", "exports"):
        assert graph.get(AssetKey(name)).automation_condition is not None, name
