"""The night's sync: layout, the manifest (nothing unchanged uploaded twice), scope, cadences, verify,
restore, and remote failures that are reported and retried, never raised."""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import date
from pathlib import Path

import pytest

from huracan_core.config import Settings
from huracan_core.storage import LocalFolderStorage, Storage, build_storage
from huracan_core.storage.sync import NightSync, SyncWorker
from tests.core.storage.conftest import dropbox_settings, s3_settings

DAY = date(2026, 11, 20)


def _write(home: Path, rel: str, data: bytes, *, age_s: float = 0.0) -> Path:
    path = home / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if age_s:
        old = time.time() - age_s
        os.utime(path, (old, old))
    return path


def _settings(tmp_path: Path, storage_settings=None, **storage) -> Settings:  # type: ignore[no-untyped-def]
    base = (
        storage_settings.model_dump() if storage_settings is not None else {"remote_dir": tmp_path / "remote"}
    )
    return Settings(
        home=tmp_path / "home",
        storage={**base, **storage},
        telegram={"token": "999:telegram-secret-value", "chat_id": "1"},
        database={"url": "postgresql://u:db-password-secret@h/db"},
    )


@pytest.fixture(params=["local", "dropbox", "s3"])
def night(request, tmp_path: Path) -> NightSync:  # type: ignore[no-untyped-def]
    if request.param == "local":
        settings = _settings(tmp_path)
    elif request.param == "dropbox":
        request.getfixturevalue("fake_dropbox")
        settings = _settings(tmp_path, dropbox_settings())
    else:
        settings = _settings(
            tmp_path, s3_settings(request.getfixturevalue("s3_proxy"), f"b-{uuid.uuid4().hex[:12]}")
        )
    storage = build_storage(settings.storage)
    assert storage is not None
    return NightSync(settings, DAY, storage)


def _night_files(home: Path) -> None:
    _write(home, "data/candles/1d/BTC-USDT.parquet", b"btc bars", age_s=86400 * 3)  # shared, always in scope
    _write(
        home, "models/BTC-USDT/20261119_020000Z/model.bin", b"yesterday's model", age_s=86400
    )  # not tonight
    _write(home, "models/BTC-USDT/20261121_020000Z/model.bin", b"tonight's model")
    _write(home, "logs/learning/20261120Z/BTC-USDT.json", b"{}")
    _write(home, "exports/2026-11-20/roster.json", b"[]")
    _write(home, "runs/20261120Z/status.json", b"{}")
    _write(home, "runs/20261120Z/status.lock", b"")  # lock files are not mirrored
    _write(
        home, "data/features/20261120Z/BTC-USDT.parquet", b"features"
    )  # rebuilt from candles: not mirrored


def test_layout_scope_and_no_second_upload(night: NightSync) -> None:
    home = night.home.root
    _night_files(home)
    problems = night.start_night()
    assert problems == []
    results = night.sync_all()
    uploaded = sorted(k for r in results for k in r.uploaded)
    assert uploaded == [
        "data/candles/1d/BTC-USDT.parquet",
        "huracan/2026-11-20/exports/2026-11-20/roster.json",
        "huracan/2026-11-20/logs/learning/20261120Z/BTC-USDT.json",
        "huracan/2026-11-20/models/BTC-USDT/20261121_020000Z/model.bin",
        "huracan/2026-11-20/runs/20261120Z/status.json",
    ]
    assert night.storage.exists("huracan/2026-11-20/monitoring/config_20261120.json")
    assert night.verify().ok
    # a second pass and a new object over the same manifest upload nothing
    assert [k for r in night.sync_all() for k in r.uploaded] == []
    again = NightSync(night.settings, DAY, night.storage)
    assert [k for r in again.sync_all() for k in r.uploaded] == []
    # touched but unchanged: no upload; changed: only that file
    os.utime(home / "exports/2026-11-20/roster.json")
    _write(home, "runs/20261120Z/status.json", b'{"coins": {}}')
    assert [k for r in again.sync_all() for k in r.uploaded] == [
        "huracan/2026-11-20/runs/20261120Z/status.json"
    ]


def test_lost_manifest_asks_the_remote_instead_of_uploading(night: NightSync) -> None:
    _night_files(night.home.root)
    night.start_night()
    night.sync_all()
    night.manifest_path.unlink()
    fresh = NightSync(night.settings, DAY, night.storage)
    fresh.start_night()
    assert [k for r in fresh.sync_all() for k in r.uploaded] == []  # every key found on the remote instead


def test_config_snapshot_has_no_secret(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    sync = NightSync(settings, DAY, LocalFolderStorage(tmp_path / "remote"))
    sync.start_night()
    text = (tmp_path / "remote/huracan/2026-11-20/monitoring/config_20261120.json").read_text()
    assert json.loads(text)["settings"]["home"] == str(tmp_path / "home")
    for secret in ("telegram-secret-value", "db-password-secret"):
        assert secret not in text
    assert (tmp_path / "remote/huracan/2026-11-20").is_dir()


def test_remote_down_is_reported_then_retried(fake_dropbox, tmp_path: Path) -> None:
    # the breaker opens on these failures; its cooldown is scaled down so the next pass probes the remote
    settings = _settings(tmp_path, dropbox_settings(max_retries=1, breaker_cooldown_minutes=0.005))
    sync = NightSync(settings, DAY, build_storage(settings.storage))
    _night_files(sync.home.root)
    fake_dropbox.down()
    assert sync.start_night()  # problems reported, nothing raised
    result = sync.sync_group("models")
    assert list(result.failed) == ["huracan/2026-11-20/models/BTC-USDT/20261121_020000Z/model.bin"]
    assert not sync.verify().ok
    fake_dropbox.up()
    time.sleep(0.4)  # past the cooldown: the next call is the probe, and its success closes the breaker
    assert sync.sync_group("models").uploaded == list(result.failed)
    assert sync.failures == {} or all(k.startswith("huracan/2026-11-20/monitoring") for k in sync.failures)


def test_verify_names_a_file_missing_remotely(tmp_path: Path) -> None:
    remote = LocalFolderStorage(tmp_path / "remote")
    sync = NightSync(_settings(tmp_path), DAY, remote)
    _night_files(sync.home.root)
    sync.start_night()
    sync.sync_all()
    remote.delete("huracan/2026-11-20/exports/2026-11-20/roster.json")
    report = sync.verify()
    assert report.missing == ["huracan/2026-11-20/exports/2026-11-20/roster.json"]


def test_worker_uploads_on_its_cadence_and_verifies_at_stop(tmp_path: Path) -> None:
    # cadences scaled from minutes down to 1.2 s
    settings = _settings(
        tmp_path,
        sync_outputs_minutes=0.02,
        sync_models_minutes=0.02,
        sync_learning_minutes=0.02,
        sync_candles_full_minutes=0.02,
        sync_candles_quick_minutes=0.02,
    )
    remote = LocalFolderStorage(tmp_path / "remote")
    sync = NightSync(settings, DAY, remote)
    sync.start_night()
    worker = SyncWorker(sync).start()
    try:
        _write(sync.home.root, "exports/2026-11-20/roster.json", b"[1]")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not remote.exists(
            "huracan/2026-11-20/exports/2026-11-20/roster.json"
        ):
            time.sleep(0.1)
        assert remote.exists("huracan/2026-11-20/exports/2026-11-20/roster.json"), "not uploaded within 10 s"
        _write(sync.home.root, "models/X-USDT/20261121_020000Z/model.bin", b"late")
    finally:
        final, verify = worker.stop()
    assert verify.ok and remote.exists("huracan/2026-11-20/models/X-USDT/20261121_020000Z/model.bin")


def test_storage_protocol(night: NightSync) -> None:
    assert isinstance(night.storage, Storage)


def test_an_unchanged_file_is_not_even_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huracan_core.storage.sync as sync_module

    sync = NightSync(_settings(tmp_path), DAY, LocalFolderStorage(tmp_path / "remote"))
    _night_files(sync.home.root)
    sync.start_night()
    sync.sync_all()
    hashed: list[Path] = []
    real = sync_module.atomic.sha256_file
    monkeypatch.setattr(sync_module.atomic, "sha256_file", lambda p: hashed.append(p) or real(p))
    assert [k for r in sync.sync_all() for k in r.uploaded] == [] and hashed == []  # same size and mtime
