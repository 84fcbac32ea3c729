"""The UI's way of running nights: a real webserver and daemon, backfills launched through GraphQL exactly as
the UI's backfill dialog does (`launchPartitionBackfill`), and no other action. Each backfill must be
carried by the daemon (the chain sensor) all the way to `exports` for every date it names.

Slow (each run is a process under the daemon): run with `pytest -m slow tests/dagster/test_ui_backfill.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

from huracan_core.dates import last_complete_day
from tests.dagster.conftest import REPO, Dagster

DAILY = ("universe", "market_context", "shared_encoder", "roster", "exports")
PER_COIN = ("candles", "features", "model")


def _materialised(dagster_home: Path, day: str) -> dict[str, int]:
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        return {
            asset: sum(
                1 for k in instance.get_materialized_partitions(AssetKey(asset)) if k.split("|")[0] == day
            )
            for asset in DAILY + PER_COIN
        }


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_universe_backfill_of_two_old_dates_reaches_exports(dagster_dev: Dagster, home: Path) -> None:
    newest = last_complete_day()
    days = [(newest - timedelta(days=365 + i)).isoformat() for i in (1, 0)]
    dagster_dev.backfill(
        {"partitionNames": days, "assetSelection": [{"path": ["universe"]}], "fromFailure": False}
    )
    seconds = dagster_dev.wait_for_exports(days, limit_s=900)
    for day in days:
        counts = _materialised(dagster_dev.dagster_home, day)
        assert all(counts[a] == 1 for a in DAILY), counts
        assert all(counts[a] == 3 for a in PER_COIN), counts
        assert (home / "exports" / day / "roster.json").is_file()
    print(f"universe backfill of 2 dates, 3 coins each, to exports under the daemon: {seconds:.1f} s")


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_whole_graph_backfill_of_one_date_reaches_exports(dagster_dev: Dagster, home: Path) -> None:
    """The UI's "Materialize all" for one date: daily assets take that date, per-coin assets every coin
    known (the dynamic partitions) on that date; coins outside the day's universe are no-ops."""
    with DagsterInstance.from_config(str(dagster_dev.dagster_home)) as instance:
        instance.add_dynamic_partitions(
            "symbols", ["ZZZ-USDT"]
        )  # a coin seen once, not in this day's universe
    day = (last_complete_day() - timedelta(days=400)).isoformat()
    by_assets = [
        {"assetKey": {"path": [a]}, "partitions": {"range": {"start": day, "end": day}}} for a in DAILY
    ]
    by_assets += [
        {
            "assetKey": {"path": [a]},
            "partitions": {"range": {"start": f"{day}|ZZZ-USDT", "end": f"{day}|ZZZ-USDT"}},
        }
        for a in PER_COIN
    ]
    dagster_dev.backfill({"partitionsByAssets": by_assets})
    dagster_dev.wait_for_exports([day], limit_s=900)
    counts = _materialised(dagster_dev.dagster_home, day)
    assert all(counts[a] == 1 for a in DAILY), counts
    # the day's 3 coins (the backfill was launched before they were known: the sensor ran them while
    # the backfill ran its own targets) and the outsider as a no-op at every step the backfill reached
    assert counts["candles"] == 4 and counts["features"] in (3, 4) and counts["model"] in (3, 4), counts
    with DagsterInstance.from_config(str(dagster_dev.dagster_home)) as instance:
        record = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey("candles"), asset_partitions=[f"{day}|ZZZ-USDT"]), limit=1
        ).records[0]
    assert "not in the universe" in record.asset_materialization.metadata["note"].value
    import json

    roster = json.loads((home / "exports" / day / "roster.json").read_text())
    assert len(roster["coins"]) == 3 and "ZZZ-USDT" not in {c["symbol"] for c in roster["coins"]}
    assert date.fromisoformat(roster["date"]) == date.fromisoformat(day)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_daemon_night_within_one_and_a_half_huracan_runs(
    dagster_dev: Dagster, home: Path, tmp_path: Path
) -> None:
    """The same 3-coin night, once from the terminal (`huracan run`, fresh engine home and instance) and
    once under the daemon: the nightly schedule's run request for that date, submitted to the queue as
    the scheduler submits it, the daemon launching it. (A UI backfill of `universe` goes through
    Dagster's backfill daemon, which looks for new backfills every 30 s; the tests above cover it.)"""
    day = (last_complete_day() - timedelta(days=30)).isoformat()
    env = {
        **os.environ,
        "HURACAN_HOME": str(tmp_path / "cli_home"),
        "DAGSTER_HOME": str(tmp_path / "cli_dh"),
        "HURACAN_TRAINING__N_TRIALS": "3",
        "HURACAN_TRAINING__NUM_BOOST_ROUND": "60",
    }
    huracan = Path(sys.executable).parent / "huracan"
    started = time.monotonic()
    cli = subprocess.run(
        [str(huracan), "run", "--date", day, "--top", "3"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    cli_s = time.monotonic() - started
    subprocess.run(
        [str(huracan), "ray", "stop"], env=env, cwd=REPO, capture_output=True, timeout=60, check=False
    )
    assert cli.returncode in (0, 1), cli.stdout[-2000:] + cli.stderr[-2000:]

    from dagster import build_schedule_context

    from huracan_dagster.defs.universe.schedules import nightly_universe

    tick = datetime.combine(date.fromisoformat(day) + timedelta(days=1), dtime(2, 0), tzinfo=UTC)
    request = nightly_universe(build_schedule_context(scheduled_execution_time=tick))
    assert request.partition_key == day
    started = time.monotonic()
    dagster_dev.launch_run(
        "night_job", request.run_config, {**request.tags, "dagster/partition": request.partition_key}
    )
    dagster_dev.wait_for_exports([day], limit_s=900)
    daemon_s = time.monotonic() - started
    print(
        f"3-coin night {day}: huracan run {cli_s:.1f} s, under the daemon {daemon_s:.1f} s "
        f"({daemon_s / cli_s:.2f}x)"
    )
    assert daemon_s <= 1.5 * cli_s, f"daemon {daemon_s:.1f} s > 1.5 x huracan run {cli_s:.1f} s"
