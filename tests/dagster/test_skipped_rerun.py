"""A coin skipped for too little data is not retried by the next `huracan run` of the same date.

Why: on the recorded 210-coin night 47 coins are skipped (too short a history); the same date again
re-ran every one of them, one Dagster run per unbroken block of the symbol order (42 runs), and then the
roster and all exports (112 s for a night with nothing to do). A skip is decided on the coin's features;
only new features (a newer materialisation upstream) or `--force` make it worth deciding again.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance

from huracan_core.config import load_settings

DAY = date(2026, 11, 20)


@pytest.fixture
def every_coin_too_short(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 150 daily bars against 5000 training bars: every coin is skipped, nothing is fitted
    monkeypatch.setenv("HURACAN_TRAINING__MIN_TRAIN_BARS", "5000")


def test_a_skipped_coin_is_not_retried_until_its_features_change(
    instance: DagsterInstance, home: Path, every_coin_too_short: None
) -> None:
    from huracan_dagster.night.client import run_night
    from huracan_dagster.night.launch import execute
    from huracan_dagster.night.layer import plan_coins
    from huracan_dagster.night.state import TAG_FORCE
    from huracan_dagster.partitions import block_tags

    settings = load_settings()
    first = run_night(settings, DAY, top_n=3)
    coins = sorted(first.coins)
    assert [e.status for e in first.coins.values()] == ["skipped"] * 3, first.coins
    assert all("too little data" in (e.reason or "") for e in first.coins.values())

    runs_before = len(instance.get_run_records())
    again = run_night(settings, DAY, top_n=3)
    assert again.nothing_done, again.reran
    assert len(instance.get_run_records()) == runs_before
    assert {e.status for e in again.coins.values()} == {"skipped"}

    plan = plan_coins(instance, settings, "model", DAY, coins)
    assert plan.todo == [] and sorted(plan.skipped) == coins
    # new features for one coin: its skip is decided again, the others' stand
    redo = coins[0]
    outcome = execute(instance, ("features",), tags={**block_tags(DAY, [redo]), TAG_FORCE: "true"})
    assert outcome.success, outcome.error
    plan = plan_coins(instance, settings, "model", DAY, coins)
    assert plan.todo == [redo] and sorted(plan.skipped) == coins[1:]
    assert plan_coins(instance, settings, "model", DAY, coins, force=True).todo == coins
