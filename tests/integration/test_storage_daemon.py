"""Under the daemon: the sync sensor only decides (RunRequest with the due groups, nothing uploaded in the
tick), the job uploads; the run-failure sensor sends a Telegram alert naming the run and its error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_run_status_sensor_context,
    build_sensor_context,
    job,
    op,
)

from huracan_core.dates import last_complete_day
from huracan_dagster.defs.health.sensors import telegram_on_run_failure
from huracan_dagster.defs.storage.sync import remote_sync_job, remote_sync_sensor
from huracan_dagster.resources import HuracanConfig
from tests.support.fake_telegram import FakeTelegram


def test_sensor_requests_due_groups_and_the_job_uploads(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    monkeypatch.setenv("HURACAN_STORAGE__REMOTE_DIR", str(remote))
    day = last_complete_day()
    export = home / "exports" / day.isoformat() / "roster.json"
    export.parent.mkdir(parents=True)
    export.write_text("[]")
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance)
        first = remote_sync_sensor(context)
        assert isinstance(first, RunRequest)
        groups = first.run_config["ops"]["remote_sync"]["config"]["groups"]
        assert sorted(groups) == ["candles", "learning", "models", "outputs"]
        assert not remote.exists(), "the sensor tick uploaded something"
        again = remote_sync_sensor(build_sensor_context(instance=instance, cursor=context.cursor))
        assert isinstance(again, SkipReason) and "no sync cadence due" in str(again.skip_message)

        result = remote_sync_job.execute_in_process(
            run_config=first.run_config, instance=instance, resources={"huracan": HuracanConfig()}
        )
        assert result.success
    night = remote / "huracan" / day.isoformat()
    assert (night / "exports" / day.isoformat() / "roster.json").read_text() == "[]"
    snapshot = json.loads((night / "monitoring" / f"config_{day:%Y%m%d}.json").read_text())
    assert snapshot["date"] == day.isoformat()


def test_no_remote_means_no_run(home: Path) -> None:
    with DagsterInstance.ephemeral() as instance:
        assert isinstance(remote_sync_sensor(build_sensor_context(instance=instance)), SkipReason)


@op
def explode() -> None:
    raise RuntimeError("candles for BTC-USDT unreadable")


@job
def doomed() -> None:
    explode()


def test_run_failure_sends_a_telegram_alert(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeTelegram() as telegram, DagsterInstance.ephemeral() as instance:
        for key, value in telegram.env().items():
            monkeypatch.setenv(key, value)
        result = doomed.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        failure = next(
            e.dagster_event
            for e in instance.all_logs(result.run_id)
            if e.dagster_event and e.dagster_event.event_type == DagsterEventType.RUN_FAILURE
        )
        context = build_run_status_sensor_context(
            sensor_name="telegram_on_run_failure",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=run,
        ).for_run_failure()
        telegram_on_run_failure(context)
        assert len(telegram.texts()) == 1
        text = telegram.texts()[0]
        assert text.startswith("Dagster run FAILED: doomed") and result.run_id[:8] in text
        assert FakeTelegram.TOKEN not in text
