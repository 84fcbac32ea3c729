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
        "chain_sensor",
        "remote_sync_sensor",
        "telegram_on_run_failure",
        "freshness_checks_sensor",
    }


def test_step_jobs_carry_the_models_gates_but_not_the_freshness_checks() -> None:
    """Every per-coin run used to evaluate the candles freshness check as a second step (6 of a candles
    run's 17 events); the freshness sensor evaluates those. The model's gates stay in its runs."""
    from huracan_dagster.definitions import defs

    def checks(job: str) -> set[str]:
        graph = defs.resolve_job_def(job).asset_layer.asset_graph
        return {f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys}

    assert not any("freshness" in c for c in checks("candles_job") | checks("roster_job"))
    assert {"model:gate_sharpe", "model:gate_trades"} <= checks("model_job")
