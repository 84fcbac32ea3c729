"""Whole nights (`huracan run` in a subprocess, synthetic market, 3 coins) against remote storage fakes.

Cadences are scaled from minutes down to seconds for these tests (HURACAN_STORAGE__SYNC_*_MINUTES=0.05,
i.e. 3 s; 0.0333, i.e. 2 s, in the kill -9 test); everything else is the production code path: the real
Dropbox SDK over HTTPS to the loopback fake, boto3 to moto's S3 server behind a fault proxy, python-telegram-bot
to the loopback Bot API.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_dropbox import FakeDropbox
from tests.support.fake_telegram import FakeTelegram
from tests.support.profile import TEST_PROFILE

REPO = Path(__file__).resolve().parents[2]
DAY = "2026-11-20"
MIRRORED = (
    "logs",
    "monitoring",
    "reports",
    "exports",
    "runs",
    "summary",
    "models",
    "champions",
    "meta",
    "data/candles",
)
pytestmark = pytest.mark.slow  # each night takes 40-150 s on a 2-core machine


def _env(home: Path, dagster: Path, cadence_min: str = "0.05", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HURACAN_", "DROPBOX_"))}
    env.pop("RAY_ADDRESS", None)
    env.update(
        {
            "HURACAN_HOME": str(home),
            "DAGSTER_HOME": str(dagster),
            "HURACAN_CONFIG": str(REPO / "config" / "settings.yaml"),
            "HURACAN_PROFILE": TEST_PROFILE,
            "HURACAN_TRAINING__WORKERS": "1",
        }
    )
    for group in ("LEARNING", "OUTPUTS", "MODELS", "CANDLES_FULL", "CANDLES_QUICK"):
        env[f"HURACAN_STORAGE__SYNC_{group}_MINUTES"] = cadence_min
    env.update(extra)
    return env


def _start(env: dict[str, str], **kw) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    return subprocess.Popen(
        [sys.executable, "-m", "huracan_dagster", "run", "--date", DAY, "--top", "3"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def _night(env: dict[str, str]) -> str:
    proc = _start(env)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-4000:]
    return out


def _local_files(home: Path) -> dict[str, str]:
    """home-relative path -> sha256 of every file a night mirrors (a fresh home: all of it is tonight's)."""
    out = {}
    for root in MIRRORED:
        for path in (home / root).rglob("*"):
            if path.is_file() and not path.name.startswith(".") and path.suffix not in (".lock", ".tmp"):
                out[path.relative_to(home).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _key(rel: str) -> str:
    return rel if rel.startswith("data/candles/") else f"huracan/{DAY}/{rel}"


def _assert_all_remote(local: dict[str, str], remote: dict[str, str]) -> None:
    missing = [rel for rel in local if _key(rel) not in remote]
    different = [rel for rel, sha in local.items() if _key(rel) in remote and remote[_key(rel)] != sha]
    assert not missing and not different, f"missing remotely: {missing[:10]}; different: {different[:10]}"
    assert any(rel.startswith("models/") for rel in local) and any(
        rel.startswith("data/candles/") for rel in local
    )


# ------------------------------------------------------------------ Dropbox + Telegram
@pytest.fixture
def dropbox(tmp_path: Path) -> Iterator[FakeDropbox]:
    with FakeDropbox(tmp_path / "ca") as server:
        yield server  # type: ignore[misc]


def _dropbox_remote(server: FakeDropbox) -> dict[str, str]:
    return {f.path_display.lstrip("/"): hashlib.sha256(f.data).hexdigest() for f in server.files.values()}


def test_dropbox_night_mirrors_everything_once_and_telegram_survives_429(
    dropbox: FakeDropbox, tmp_path: Path
) -> None:
    home, dagster = tmp_path / "home", tmp_path / "dagster"
    with FakeTelegram() as telegram:
        env = _env(home, dagster, **dropbox.env(), **dropbox.storage_env(), **telegram.env())
        _night(env)
        local = _local_files(home)
        remote = _dropbox_remote(dropbox)
        _assert_all_remote(local, remote)
        assert f"/huracan/{DAY}" in dropbox.folders
        snapshot = dropbox.read(f"/huracan/{DAY}/monitoring/config_20261120.json")
        assert snapshot is not None and FakeDropbox.REFRESH_TOKEN.encode() not in snapshot
        assert FakeTelegram.TOKEN.encode() not in snapshot

        texts = telegram.texts()
        assert texts[0].startswith(f"Huracan {DAY} started") and texts[-1].startswith(
            f"Huracan {DAY}: 3 models, "
        )
        training = [t for t in texts if t.startswith("Training ")]
        assert [t.split()[-1] for t in training] == ["(1/3)", "(2/3)", "(3/3)"], texts
        for line in training:
            symbol = line.split()[1]
            trained = [i for i, t in enumerate(texts) if t.startswith(f"Model trained: {symbol} Sharpe ")]
            assert len(trained) == 1 and texts.index(line) < trained[0], texts
        assert all(FakeTelegram.TOKEN not in t for t in texts)

        # the same date again, Telegram answering 429 with a wait far past the bound: exit 0, reported
        uploads_before = len(dropbox.uploads)
        telegram.faults.always = "429:100"
        out = _night(env)
        assert "message(s) not delivered" in out and "retry after 100" in out, out[-3000:]
        second = dropbox.uploads[uploads_before:]
        unchanged = [
            p for p in second if remote.get(p.lstrip("/")) == _dropbox_remote(dropbox).get(p.lstrip("/"))
        ]
        assert not unchanged, f"uploaded again without a change: {unchanged}"
        assert not [p for p in second if "/models/" in p or p.startswith("/data/candles/")], second
        _assert_all_remote(_local_files(home), _dropbox_remote(dropbox))
        undelivered = json.loads((home / "monitoring" / "notify_20261120.json").read_text())["undelivered"]
        assert undelivered and all("retry after 100" in u["reason"] for u in undelivered)


# ------------------------------------------------------------------ S3 (moto) + restore
@pytest.fixture
def s3() -> Iterator:  # type: ignore[type-arg]
    from moto.server import ThreadedMotoServer

    from tests.support.fault_proxy import FaultProxy

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    proxy = FaultProxy(*server.get_host_and_port()).start()
    yield proxy
    proxy.stop()
    server.stop()


def _s3_client(proxy):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=f"http://{proxy.host}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _s3_remote(client, bucket: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            if not obj["Key"].endswith("/"):
                body = client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                out[obj["Key"]] = hashlib.sha256(body).hexdigest()
    return out


def _object_puts(proxy, bucket: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {
        route.split(f"/{bucket}/", 1)[1]: n
        for route, n in proxy.requests.items()
        if route.startswith(f"PUT /{bucket}/")
    }


def _candle_events(home: Path) -> list[dict]:
    events = []
    for line in (home / "logs" / "huracan.jsonl").read_text().splitlines():
        if '"candles synced"' in line:
            events.append(json.loads(line))
    return events


def test_s3_night_mirrors_once_and_a_new_machine_restores_candles(s3, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bucket = f"huracan-{uuid.uuid4().hex[:8]}"
    client = _s3_client(s3)
    client.create_bucket(Bucket=bucket)
    storage = {
        "HURACAN_STORAGE__BACKEND": "s3",
        "HURACAN_STORAGE__S3_BUCKET": bucket,
        "HURACAN_STORAGE__S3_ENDPOINT_URL": f"http://{s3.host}",
        "HURACAN_STORAGE__S3_ACCESS_KEY_ID": "test",
        "HURACAN_STORAGE__S3_SECRET_ACCESS_KEY": "test",
    }
    home = tmp_path / "home"
    env = _env(home, tmp_path / "dagster", **storage)
    _night(env)
    first = _s3_remote(client, bucket)
    _assert_all_remote(_local_files(home), first)

    puts_before = _object_puts(s3, bucket)
    _night(env)  # the same date again
    after = _s3_remote(client, bucket)
    again = {
        k: n - puts_before.get(k, 0) for k, n in _object_puts(s3, bucket).items() if n > puts_before.get(k, 0)
    }
    unchanged = [k for k in again if first.get(k) == after.get(k)]
    assert not unchanged, f"uploaded again without a change: {unchanged}"
    _assert_all_remote(_local_files(home), after)

    # a new machine: empty home and Dagster instance, same remote -> candles restored, none fetched
    other = tmp_path / "other"
    _night(_env(other, tmp_path / "dagster-other", **storage))
    events = _candle_events(other)
    assert all(e["requests"] == 0 and e["bars_added"] == 0 for e in events), events
    store_events = [e for e in events if "restored" in e]  # the candle store's own report, one per coin
    assert len(store_events) == 3, events
    for event in store_events:
        assert event["restored"] is True and event["bars_added"] == 0 and event["skipped_fresh"] is True, (
            event
        )
        assert event["requests"] == 0
    for path in (other / "data" / "candles").rglob("*.parquet"):
        key = path.relative_to(other).as_posix()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == first[key]


# ------------------------------------------------------------------ kill -9 mid-night
def _ledger(home: Path) -> dict:
    try:
        return json.loads((home / "runs" / "20261120Z" / "status.json").read_text())["coins"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return {}


def test_kill_9_loses_nothing_older_than_one_cadence(dropbox: FakeDropbox, tmp_path: Path) -> None:
    cadence_s, slack_s = 2.0, 4.0  # cadences scaled from 5/30 minutes to 2 s; slack: one tick plus a pass
    home = tmp_path / "home"
    env = _env(
        home,
        tmp_path / "dagster",
        cadence_min=f"{cadence_s / 60:.5f}",
        **dropbox.env(),
        **dropbox.storage_env(),
        HURACAN_TRAINING__N_TRIALS="25",
        HURACAN_TRAINING__NUM_BOOST_ROUND="400",
    )
    proc = _start(env, start_new_session=True)
    deadline = time.monotonic() + 400
    done_at = None
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            coins = _ledger(home)
            if done_at is None and any(e["status"] == "success" for e in coins.values()):
                done_at = time.monotonic()
            if done_at is not None and time.monotonic() - done_at >= cadence_s + slack_s + 2:
                break
            time.sleep(0.2)
        assert done_at is not None and proc.poll() is None, "the night ended before a kill point: " + (
            proc.stdout.read() if proc.poll() is not None else "timeout"
        )
        os.killpg(proc.pid, signal.SIGKILL)
        killed_at = time.time()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    remote = _dropbox_remote(dropbox)
    checked, lost = [], []
    for rel, sha in _local_files(home).items():
        if (home / rel).stat().st_mtime <= killed_at - cadence_s - slack_s:
            checked.append(rel)
            if remote.get(_key(rel)) != sha:
                lost.append(rel)
    assert not lost, f"written more than {cadence_s + slack_s:g} s before the kill but not remote: {lost}"
    assert any(rel.startswith("models/") and rel.endswith("model.bin") for rel in checked), checked


# ------------------------------------------------------------------ Dropbox gone mid-night
def test_dropbox_gone_from_the_model_stage_on_costs_seconds_and_a_rerun_catches_up(
    dropbox: FakeDropbox, tmp_path: Path
) -> None:
    """Before the breaker this night never ended: every model file's stat, in every pass, the two final
    passes and the verify step each paid its full retries (14 minutes and counting)."""
    home = tmp_path / "home"
    env = _env(home, tmp_path / "dagster", **dropbox.env(), **dropbox.storage_env())
    port = dropbox.port
    proc = _start(env)
    deadline = time.monotonic() + 400
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if any(e.get("stage") == "model" for e in _ledger(home).values()):
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the night ended before its model stage: " + proc.stdout.read()
        dropbox.down()  # open connections dropped,
        dropbox.stop()  # new ones refused: the server is gone
        stopped_at = time.monotonic()
        out, _ = proc.communicate(timeout=600)
        after_stop_s = time.monotonic() - stopped_at
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-4000:]
    down = [line for line in out.splitlines() if "down since" in line]
    assert down and "file(s) not uploaded" in down[0], out[-3000:]
    report = json.loads((home / "monitoring" / "sync_20261120.json").read_text())
    state = report["remote_state"]
    # the night's time on the dead remote: one call's retries (5, ~12 s) and two single attempts; every
    # later file of every pass and of the verify step was reported without a call
    assert state["down"] is True and state["failed_calls"] <= 4, state
    assert state["seconds_in_failed_calls"] < 45, state
    print(f"remote gone: the night ended {after_stop_s:.1f} s later; {state}")  # shown with -s
    not_uploaded = [k for k in report["failed"] if "/models/" in k]
    assert not_uploaded, report["failed"]
    manifest = json.loads(next((home / "storage").glob("manifest_dropbox-*.json")).read_text())
    assert not set(not_uploaded) & set(manifest["entries"]) and set(not_uploaded) <= set(manifest["pending"])

    # the remote is back: the next night's sync (a new process), or the daemon's, uploads what this night
    # owed under this night's keys, first thing, whatever else it has to upload for its own date
    tonight = _local_files(home)
    dropbox.start(port)
    dropbox.up()
    next_night = subprocess.run(
        [sys.executable, "-c", NEXT_NIGHT_SYNC],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert next_night.returncode == 0, next_night.stdout + next_night.stderr
    _assert_all_remote(tonight, _dropbox_remote(dropbox))
    manifest = json.loads(next((home / "storage").glob("manifest_dropbox-*.json")).read_text())
    assert manifest["pending"] == {}


NEXT_NIGHT_SYNC = """
from datetime import date
from huracan_core.config import load_settings
from huracan_core.storage import build_storage
from huracan_core.storage.sync import NightSync

settings = load_settings()
sync = NightSync(settings, date(2026, 11, 21), build_storage(settings.storage))
sync.start_night()
sync.sync_all()
assert not sync.failures, sync.failures
"""
