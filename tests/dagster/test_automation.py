"""The night carried by Dagster's declarative automation: the schedule's universe run, then each layer of
the date in one run (one per unbroken block of coins), failed coins never blocking the day, a day-level
step once every coin of its layer is terminal, and a re-execution that redoes the failed coin only."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    build_schedule_context,
)

from huracan_core.ledger import RunLedger
from huracan_core.paths import EngineHome
from huracan_dagster.night.launch import execute
from huracan_dagster.night.state import generation, keys_of_run, layer_state
from huracan_dagster.partitions import block_tags, coin_key, ranges
from tests.dagster.driver import Driver

DAY = date(2025, 11, 3)  # an old day: automation carries any date, not only the latest


@pytest.fixture
def small(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HURACAN_UNIVERSE__TOP_N", "3")
    monkeypatch.setenv("HURACAN_TRAINING__N_TRIALS", "2")
    monkeypatch.setenv("HURACAN_TRAINING__NUM_BOOST_ROUND", "40")
    monkeypatch.setenv("HURACAN_TRAINING__RETRIES", "0")


def _universe(instance: DagsterInstance, day: date = DAY) -> None:
    outcome = execute(instance, ("universe",), tags={"dagster/partition": day.isoformat()})
    assert outcome.success, outcome.error


def test_schedule_tick_requests_yesterdays_universe(instance: DagsterInstance) -> None:
    from huracan_dagster.defs.universe.schedules import nightly_universe

    ctx = build_schedule_context(
        instance=instance, scheduled_execution_time=datetime(2026, 4, 21, 2, 0, tzinfo=UTC)
    )
    request = nightly_universe(ctx)
    assert request.partition_key == "2026-04-20"
    assert request.run_key == "nightly:2026-04-20"
    assert request.tags["huracan/trigger"] == "schedule"
    from huracan_dagster.definitions import defs

    job = defs.resolve_job_def(defs.resolve_schedule_def("nightly_universe").job_name)
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {"universe"}


def test_ranges_split_a_days_coins_into_unbroken_blocks() -> None:
    a, b, c, d, e = order = [f"{x}-USDT" for x in "ABCDE"]
    assert ranges(DAY, [a, b, d], order) == [[a, b], [d]]
    assert ranges(DAY, [e, a, b, c, d], order) == [order]
    tags = block_tags(DAY, [b, c, d])
    assert keys_of_run(tags, order) == {str(coin_key(DAY, s)) for s in (b, c, d)}


def test_automation_carries_an_old_day_from_its_universe_to_exports_one_run_per_layer(
    instance: DagsterInstance, home: Path, small: None
) -> None:
    instance.add_dynamic_partitions("symbols", ["ZZZ-USDT"])  # a coin seen once, not in this day's universe
    automation = Driver(instance)
    _universe(instance)
    launched = automation.drive()
    layers = [run.assets for run in launched]
    assert layers == [
        ("candles",),
        ("market_context",),
        ("features",),
        ("shared_encoder",),
        ("model",),
        ("roster", "exports"),
    ], layers
    assert all(run.outcome.success for run in launched), [r.outcome.error for r in launched]
    gen = generation(instance, DAY)
    assert gen is not None and len(gen.symbols) == 3
    keys = [str(coin_key(DAY, s)) for s in gen.symbols]
    for asset in ("coin", "candles", "features"):
        assert set(layer_state(instance, asset, keys, gen).done) == set(keys), asset
    # the outsider is in no run and has no partition materialised anywhere
    outsider = str(coin_key(DAY, "ZZZ-USDT"))
    for asset in ("coin", "candles", "features", "model"):
        assert outsider not in instance.get_materialized_partitions(AssetKey(asset)), asset
    roster = json.loads((home / "exports" / DAY.isoformat() / "roster.json").read_text())
    assert sorted(c["symbol"] for c in roster["coins"]) == sorted(gen.symbols)
    # the state file is a view of Dagster's records
    entries = RunLedger(EngineHome(home), DAY).entries()
    assert set(entries) == set(gen.symbols)
    assert all(e.status in ("success", "skipped") for e in entries.values()), entries
    # once: nothing more is requested
    assert automation.drive() == []


def test_a_failed_coin_never_blocks_the_day(
    instance: DagsterInstance, home: Path, small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huracan_core import stages

    automation = Driver(instance)
    _universe(instance)
    victim = sorted(generation(instance, DAY).symbols)[0]
    real = stages.features_stage

    def broken(settings, day, symbol):  # noqa: ANN001, ANN202
        if symbol == victim:
            raise stages.StageError(f"{symbol}: injected failure")
        return real(settings, day, symbol)

    monkeypatch.setattr(stages, "features_stage", broken)
    launched = automation.drive()
    by_layer = {run.assets: run for run in launched}
    assert not by_layer[("features",)].outcome.success
    assert "injected failure" in by_layer[("features",)].outcome.error
    assert victim not in " ".join(by_layer[("model",)].keys)  # not asked to train a coin without features
    assert by_layer[("roster", "exports")].outcome.success
    assert [run.assets for run in launched].count(("roster", "exports")) == 1
    entry = RunLedger(EngineHome(home), DAY).get(victim)
    assert entry.status == "failed" and entry.stage == "features" and "injected failure" in entry.error
    roster = json.loads((home / "exports" / DAY.isoformat() / "roster.json").read_text())
    mine = next(c for c in roster["coins"] if c["symbol"] == victim)
    assert not mine["trade_ok"] and "injected failure" in mine["reason"]


def test_a_night_where_no_coin_trains_still_gets_its_roster(
    instance: DagsterInstance, home: Path, small: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HURACAN_TRAINING__MIN_TRAIN_BARS", "5000")  # every coin: too little data
    automation = Driver(instance)
    _universe(instance)
    launched = automation.drive()
    assert launched[-1].assets == ("roster", "exports") and launched[-1].outcome.success
    assert not instance.get_materialized_partitions(AssetKey("model"))  # nothing looks trained
    entries = RunLedger(EngineHome(home), DAY).entries()
    assert {e.status for e in entries.values()} == {"skipped"}
    assert all("too little data" in (e.reason or "") for e in entries.values())


def test_reexecuting_a_failed_model_run_trains_the_failed_coin_only(
    instance: DagsterInstance, home: Path, small: None
) -> None:
    automation = Driver(instance)
    _universe(instance)
    # the day up to the encoder, then spoil one coin's features so its training fails
    for _ in range(8):
        wanted = automation.tick()
        if any(assets == ("model",) for assets, _, _ in wanted):
            break
        for assets, tags, _ in wanted:
            assert execute(instance, assets, tags=tags).success
    gen = generation(instance, DAY)
    victim = sorted(gen.symbols)[0]
    path = EngineHome(home).features(DAY, victim)
    good = path.read_bytes()
    path.write_bytes(b"not a parquet file")
    (_, tags, _) = next(w for w in wanted if w[0] == ("model",))
    model_run = execute(instance, ("model",), tags=tags)
    model_run = type("Run", (), {"outcome": model_run})
    assert not model_run.outcome.success and victim in model_run.outcome.error
    trained = {p.parent for p in (home / "models").rglob("model.bin")}
    path.write_bytes(good)

    # Re-execute runs the failed run's step again over the same range (the UI's button, through GraphQL,
    # is tested against a real webserver in test_ui_backfill.py); the step redoes the failed coin only
    parent = instance.get_run_by_id(model_run.outcome.run_id)
    tags = {k: v for k, v in parent.tags.items() if k.startswith("dagster/asset_partition_range")}
    again = execute(instance, ("model",), tags=tags)
    assert again.success, again.error
    materialised = {
        record.partition_key
        for record in instance.fetch_materializations(AssetKey("model"), limit=100).records
        if record.run_id == again.run_id
    }
    assert materialised == {str(coin_key(DAY, victim))}
    new = {p.parent for p in (home / "models").rglob("model.bin")} - trained
    assert len(new) == 1 and victim in str(next(iter(new)))
