"""`huracan run`'s client: one date with 3 synthetic coins (a run per layer), then a rerun that does nothing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from huracan_core.atomic import verify_manifest
from huracan_core.config import load_settings
from huracan_core.training.trainer import load_model

DAY = date(2026, 11, 20)
ARTIFACTS = {
    "model.bin",
    "config.json",
    "metrics.json",
    "costs.json",
    "features.json",
    "metadata.json",
    "sha256.txt",
    "features.parquet",
    "split_indices.json",
    "training_log.json",
}


@pytest.fixture
def fast_training(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HURACAN_TRAINING__N_TRIALS", "3")
    monkeypatch.setenv("HURACAN_TRAINING__NUM_BOOST_ROUND", "60")
    monkeypatch.setenv("HURACAN_TRAINING__WORKERS", "1")  # one coin at a time: in-process runs, no pool


def test_full_graph_for_three_coins(instance: DagsterInstance, home: Path, fast_training: None) -> None:
    from huracan_dagster.night.client import run_night

    settings = load_settings()
    report = run_night(settings, DAY, top_n=3)
    assert len(report.coins) == 3
    assert [r.assets for r in report.runs] == [
        ("universe",),
        ("candles",),
        ("market_context",),
        ("features",),
        ("shared_encoder",),
        ("model",),
        ("roster", "exports"),
    ]
    assert all(e.status in ("success", "skipped") for e in report.coins.values()), report.coins
    for asset in ("universe", "market_context", "shared_encoder", "roster", "exports"):
        assert instance.get_materialized_partitions(AssetKey(asset)) == {DAY.isoformat()}, asset
    for asset in ("candles", "features", "model"):
        assert len(instance.get_materialized_partitions(AssetKey(asset))) == 3, asset

    # a coin that trains and misses a gate is a green run; its failed checks belong to its own partition
    from dagster import DagsterEventType

    assert all(r.outcome.success for r in report.runs), [r.outcome.error for r in report.runs]
    evaluations = [
        e.dagster_event.event_specific_data
        for r in instance.get_run_records()
        for e in instance.all_logs(r.dagster_run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        if e.dagster_event.event_specific_data.check_name.startswith("gate_")
    ]
    assert {ev.partition for ev in evaluations} == {f"{DAY.isoformat()}|{s}" for s in report.coins}
    assert any(not ev.passed for ev in evaluations)  # 150 daily bars: too few OOS trades for the gates

    roster = json.loads((home / "champions" / "roster.json").read_text())
    entries = roster["coins"]
    assert sorted(e["symbol"] for e in entries) == sorted(report.coins)
    for entry in report.coins.values():
        if entry.status != "success":
            continue
        folder = Path(entry.output_path)
        assert {p.name for p in folder.iterdir()} >= ARTIFACTS
        verify_manifest(folder)
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["trades"] == entry.metrics["trades"]
        load_model(folder)  # verifies hashes and the recipe
    summary = json.loads((home / "summary" / "20261120Z" / "engine_summary.json").read_text())
    assert summary["total"] == 3 and summary["succeeded"] + summary["skipped"] == 3
    assert (home / "exports" / DAY.isoformat() / "roster.json").is_file()

    # JSON log lines carry the run id, and the date and symbol where known; no secret field leaks
    lines = [json.loads(x) for x in (home / "logs" / "huracan.jsonl").read_text().splitlines() if x.strip()]
    coin_lines = [x for x in lines if x.get("symbol")]
    assert coin_lines and all(x.get("run_id") and x.get("date") == DAY.isoformat() for x in coin_lines)
    assert {x["symbol"] for x in coin_lines} == set(report.coins)

    # the same date again: nothing re-run, no candle requested, no model retrained
    models_before = {p for p in (home / "models").rglob("model.bin")}
    runs_before = len(instance.get_run_records())
    again = run_night(settings, DAY, top_n=3)
    assert again.nothing_done
    assert len(instance.get_run_records()) == runs_before
    assert {p for p in (home / "models").rglob("model.bin")} == models_before
