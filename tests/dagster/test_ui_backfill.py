"""The UI's ways of running nights, against a real webserver (and daemon), through GraphQL exactly as the
UI's buttons send it: a backfill of `universe` dates, a whole-graph backfill of one date, the nightly
schedule's run request, and Re-execute of a run in which one coin failed.

Slow (each run is a process; the daemon's backfill loop ticks every 30 s): `pytest -m slow tests/dagster/test_ui_backfill.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

from huracan_core.dates import last_complete_day
from tests.dagster.conftest import REPO, SMALL_NIGHT, Dagster, running_dagster
from tests.support.fake_telegram import FakeTelegram

DAILY = ("universe", "market_context", "shared_encoder", "roster", "exports")
PER_COIN = ("coin", "candles", "features", "model")
BACKFILL_STATUS = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  __typename ... on PartitionBackfill { id status } ... on PythonError { message } } }
"""
REEXECUTE = """
mutation($reexecutionParams: ReexecutionParams) {
  launchPipelineReexecution(reexecutionParams: $reexecutionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message stack }
    ... on Error { message }
  }
}
"""


def _materialised(dagster_home: Path, day: str) -> dict[str, int]:
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        return {
            asset: sum(
                1 for k in instance.get_materialized_partitions(AssetKey(asset)) if k.split("|")[0] == day
            )
            for asset in DAILY + PER_COIN
        }


def _runs_of(dagster_home: Path, since: float) -> list:
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        return instance.get_run_records(RunsFilter(created_after=datetime.fromtimestamp(since, UTC)))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_universe_backfill_of_two_old_dates_reaches_exports(dagster_dev: Dagster, home: Path) -> None:
    """Dagster's automation carries both dates from their universe to their exports: one run per layer
    and date. The backfill itself is the universe's and says so; the nights' runs are automation runs."""
    newest = last_complete_day()
    days = [(newest - timedelta(days=365 + i)).isoformat() for i in (1, 0)]
    started = time.time()
    backfill = dagster_dev.backfill(
        {"partitionNames": days, "assetSelection": [{"path": ["universe"]}], "fromFailure": False}
    )
    statuses: list[tuple[float, str]] = []
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        status = dagster_dev.graphql(BACKFILL_STATUS, {"id": backfill})["partitionBackfillOrError"]["status"]
        if not statuses or statuses[-1][1] != status:
            statuses.append((round(time.time() - started, 1), status))
        with DagsterInstance.from_config(str(dagster_dev.dagster_home)) as instance:
            done = instance.get_materialized_partitions(AssetKey("exports"))
        if set(days) <= done:
            break
        time.sleep(2)
    seconds = time.time() - started
    assert set(days) <= done, (
        f"exports not reached in 900 s; daemon log:\n{(dagster_dev.logs / 'daemon.log').read_text()[-4000:]}"
    )
    for day in days:
        counts = _materialised(dagster_dev.dagster_home, day)
        assert all(counts[a] == 1 for a in DAILY), counts
        assert all(counts[a] == 3 for a in PER_COIN), counts
        assert (home / "exports" / day / "roster.json").is_file()
    dagster_dev.wait_for_runs_to_end(120)
    runs = _runs_of(dagster_dev.dagster_home, started)
    assert all(r.dagster_run.status == DagsterRunStatus.SUCCESS for r in runs), [
        (r.dagster_run.run_id, r.dagster_run.status) for r in runs
    ]
    print(
        f"universe backfill of 2 dates, 3 coins each: both exports after {seconds:.1f} s; {len(runs)} runs; "
        f"backfill status over time: {statuses}"
    )
    # every coin of every layer, and every day-level asset, materialised once: one run per layer and date
    # (per unbroken block of the date's coins in the symbols' order: a coin of one date only splits the other)
    with DagsterInstance.from_config(str(dagster_dev.dagster_home)) as instance:
        for asset in DAILY + PER_COIN:
            keys = [
                r.partition_key for r in instance.fetch_materializations(AssetKey(asset), limit=100).records
            ]
            assert len(keys) == len(set(keys)), (asset, keys)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_whole_graph_backfill_of_one_date_reaches_exports(dagster_dev: Dagster, home: Path) -> None:
    """The UI's "Materialize all" for one date with every coin known targeted, an outsider among them:
    the day reaches its exports, and the outsider is neither materialised nor failed anywhere."""
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
    assert all(counts[a] == 3 for a in PER_COIN), counts  # the day's 3 coins; not the outsider
    roster = json.loads((home / "exports" / day / "roster.json").read_text())
    assert len(roster["coins"]) == 3 and "ZZZ-USDT" not in {c["symbol"] for c in roster["coins"]}
    assert date.fromisoformat(roster["date"]) == date.fromisoformat(day)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_the_scheduled_night_under_the_daemon_against_huracan_run(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same 3-coin night, once from the terminal (`huracan run`, fresh engine home and instance) and
    once under the daemon: the nightly schedule's run request submitted as the scheduler submits it, the
    daemon's automation carrying it. The Telegram fake receives the night's milestones from the daemon."""
    from dagster import build_schedule_context

    from huracan_dagster.defs.universe.schedules import nightly_universe
    from huracan_dagster.night.client import LOCAL_INSTANCE_YAML

    day = (last_complete_day() - timedelta(days=30)).isoformat()
    huracan = Path(sys.executable).parent / "huracan"
    env = {
        **os.environ,
        **SMALL_NIGHT,
        "HURACAN_HOME": str(tmp_path / "cli_home"),
        "DAGSTER_HOME": str(tmp_path / "cli_dh"),
    }
    started = time.monotonic()
    cli = subprocess.run(
        [str(huracan), "run", "--date", day], env=env, cwd=REPO, capture_output=True, text=True, timeout=900
    )
    cli_s = time.monotonic() - started
    subprocess.run(
        [str(huracan), "ray", "stop"], env=env, cwd=REPO, capture_output=True, timeout=60, check=False
    )
    assert cli.returncode in (0, 1), cli.stdout[-2000:] + cli.stderr[-2000:]

    tick = datetime.combine(date.fromisoformat(day) + timedelta(days=1), dtime(2, 0), tzinfo=UTC)
    request = nightly_universe(build_schedule_context(scheduled_execution_time=tick))
    dagster_home = tmp_path / "dh"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    with FakeTelegram() as telegram:
        denv = {**os.environ, **SMALL_NIGHT, **telegram.env(), "DAGSTER_HOME": str(dagster_home)}
        monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
        with running_dagster(dagster_home, denv, tmp_path) as dagster:
            started = time.monotonic()
            dagster.launch_run(["universe"], {}, {**request.tags, "dagster/partition": request.partition_key})
            dagster.wait_for_exports([day], limit_s=900)
            daemon_s = time.monotonic() - started
            dagster.wait_for_runs_to_end(120)
            runs = _runs_of(dagster_home, 0)
        texts = telegram.texts()
    print(
        f"3-coin night {day}: huracan run {cli_s:.1f} s, under the daemon {daemon_s:.1f} s "
        f"({daemon_s / cli_s:.2f}x), {len(runs)} runs under the daemon"
    )
    assert len(runs) == 7, [sorted(k.to_user_string() for k in r.dagster_run.asset_selection) for r in runs]
    assert texts[0].startswith(f"Huracan {day} started") and texts[-1].startswith(f"Huracan {day}: 3 models")
    assert sum(t.startswith(("Model trained: ", "Model skipped: ")) for t in texts) == 3


@pytest.fixture
def webserver_only(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """A webserver on an instance whose runs launch at once (no daemon, so no automation either)."""
    dagster_home = tmp_path / "dh"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nrun_coordinator:\n  module: dagster.core.run_coordinator\n"
        "  class: DefaultRunCoordinator\n"
    )
    env = {**os.environ, **SMALL_NIGHT, "DAGSTER_HOME": str(dagster_home), "HURACAN_TRAINING__RETRIES": "0"}
    for key, value in env.items():
        if key.startswith(("HURACAN_", "DAGSTER_")):
            monkeypatch.setenv(key, value)
    with running_dagster(dagster_home, env, tmp_path, daemon=False) as dagster:
        yield dagster


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_reexecute_of_a_run_with_one_failed_coin_trains_that_coin_only(
    webserver_only: Dagster, home: Path
) -> None:
    """Runs made as `huracan run` makes them; one coin's training fails; the UI's Re-execute (from
    failure, through GraphQL as the button sends it) succeeds and trains that coin only."""
    from huracan_core.paths import EngineHome
    from huracan_dagster.night.launch import execute
    from huracan_dagster.night.state import generation, symbol_order
    from huracan_dagster.partitions import block_tags

    day = date(2025, 11, 3)
    with DagsterInstance.get() as instance:
        for assets in (
            ("universe",),
            ("candles",),
            ("market_context",),
            ("features",),
            ("shared_encoder",),
        ):
            if assets[0] in DAILY:
                tags = {"dagster/partition": day.isoformat()}
            else:
                gen = generation(instance, day)
                order = [s for s in symbol_order(instance) if s in gen.symbols]
                tags = block_tags(day, order)
            assert execute(instance, assets, tags=tags).success, assets
        gen = generation(instance, day)
        victim = sorted(gen.symbols)[0]
        features = EngineHome(home).features(day, victim)
        good = features.read_bytes()
        features.write_bytes(b"not parquet")
        failed = execute(
            instance,
            ("model",),
            tags=block_tags(day, [s for s in symbol_order(instance) if s in gen.symbols]),
        )
        assert not failed.success and victim in (failed.error or "")
        features.write_bytes(good)
        before = {p.parent for p in (home / "models").rglob("model.bin")}
    result = webserver_only.graphql(
        REEXECUTE, {"reexecutionParams": {"parentRunId": failed.run_id, "strategy": "FROM_FAILURE"}}
    )["launchPipelineReexecution"]
    assert result["__typename"] == "LaunchRunSuccess", result
    run_id = result["run"]["runId"]
    deadline = time.monotonic() + 600
    with DagsterInstance.get() as instance:
        while time.monotonic() < deadline:
            run = instance.get_run_by_id(run_id)
            if run.is_finished:
                break
            time.sleep(1)
        from huracan_dagster.night.launch import _error_of

        assert run.status == DagsterRunStatus.SUCCESS, _error_of(instance, run)
        assert run.parent_run_id == failed.run_id
        mats = {
            r.partition_key
            for r in instance.fetch_materializations(AssetKey("model"), limit=100).records
            if r.run_id == run_id
        }
    assert mats == {f"{day.isoformat()}|{victim}"}
    new = {p.parent for p in (home / "models").rglob("model.bin")} - before
    assert len(new) == 1 and victim in str(next(iter(new)))
