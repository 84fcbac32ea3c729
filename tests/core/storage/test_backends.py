"""The three backends behave the same behind `Storage`, verify every upload by hash, and survive
429/5xx/dropped connections (retried, Retry-After honoured, every wait bounded)."""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

import pytest

from huracan_core.storage import Storage, StorageError, build_storage
from tests.core.storage.conftest import dropbox_settings, local_settings, s3_settings


@pytest.fixture(params=["local", "dropbox", "s3"])
def backend(request, tmp_path: Path) -> Storage:  # type: ignore[no-untyped-def]
    if request.param == "local":
        settings = local_settings(tmp_path / "remote")
    elif request.param == "dropbox":
        request.getfixturevalue("fake_dropbox")
        settings = dropbox_settings()
    else:
        settings = s3_settings(request.getfixturevalue("s3_proxy"), f"b-{uuid.uuid4().hex[:12]}")
    storage = build_storage(settings)
    assert storage is not None and storage.name == request.param
    return storage


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_round_trip_stat_list_delete(backend: Storage, tmp_path: Path) -> None:
    assert isinstance(backend, Storage)
    src = _file(tmp_path, "a.bin", b"candles" * 1000)
    stored = backend.put("data/candles/1h/BTC-USDT.parquet", src)
    assert stored.hash == backend.hash_file(src) and stored.size == src.stat().st_size
    assert backend.stat("data/candles/1h/BTC-USDT.parquet") == stored
    assert backend.stat("data/candles/1h/ETH-USDT.parquet") is None
    backend.put("huracan/2026-11-20/logs/x.json", _file(tmp_path, "b.json", b"{}"))
    backend.make_folder("huracan/2026-11-21")
    backend.make_folder("huracan/2026-11-21")  # twice: already there is fine
    assert backend.list("data/candles") == ["data/candles/1h/BTC-USDT.parquet"]
    assert backend.list() == ["data/candles/1h/BTC-USDT.parquet", "huracan/2026-11-20/logs/x.json"]
    dest = tmp_path / "restore" / "x.parquet"
    assert backend.get("data/candles/1h/BTC-USDT.parquet", dest) and dest.read_bytes() == src.read_bytes()
    assert backend.get("data/candles/1h/ETH-USDT.parquet", tmp_path / "none") is False
    assert backend.delete("huracan/2026-11-20/logs/x.json") and not backend.exists(
        "huracan/2026-11-20/logs/x.json"
    )
    assert backend.delete("huracan/2026-11-20/logs/x.json") is False
    second = backend.put("data/candles/1h/BTC-USDT.parquet", _file(tmp_path, "c.bin", b"changed"))
    assert second.rev != stored.rev and second.hash != stored.hash


def test_dropbox_large_file_goes_through_an_upload_session(fake_dropbox, tmp_path: Path) -> None:
    data = hashlib.sha256(b"seed").digest() * (19 * 1024 * 1024 // 32)  # 19 MiB: start + append + finish
    src = _file(tmp_path, "model.bin", data)
    storage = build_storage(dropbox_settings())
    stored = storage.put("huracan/2026-11-20/models/BTC-USDT/model.bin", src)
    routes = fake_dropbox.requests
    assert routes["/2/files/upload_session/start"] == 1 and routes["/2/files/upload_session/append_v2"] == 1
    assert routes["/2/files/upload_session/finish"] == 1 and routes["/2/files/upload"] == 0
    assert fake_dropbox.read("/huracan/2026-11-20/models/BTC-USDT/model.bin") == data
    assert stored.hash == storage.hash_file(src)
    # the content_hash follows Dropbox's rule, not a plain sha256 of the file
    assert stored.hash != hashlib.sha256(data).hexdigest()


def test_dropbox_refresh_token_auth_and_bad_credentials(fake_dropbox, tmp_path: Path) -> None:
    src = _file(tmp_path, "a", b"x")
    build_storage(dropbox_settings()).put("k/a", src)
    assert fake_dropbox.requests["/oauth2/token"] == 1
    with pytest.raises(StorageError, match="refused|rejected") as info:
        build_storage(dropbox_settings(dropbox_refresh_token="wrong-token")).put("k/a", src)
    assert "wrong-token" not in str(info.value)


@pytest.mark.parametrize("fault", ["429:1", "503", "drop"])
def test_dropbox_transient_faults_are_retried(fake_dropbox, tmp_path: Path, fault: str) -> None:
    storage = build_storage(dropbox_settings())
    storage.list()  # token fetched
    fake_dropbox.faults.add(fault, "/2/files/upload", times=2)
    started = time.monotonic()
    stored = storage.put("k/a.bin", _file(tmp_path, "a", b"payload"))
    assert [k for _, k in fake_dropbox.faults.injected] == [fault, fault]
    assert fake_dropbox.read("/k/a.bin") == b"payload" and stored.size == 7
    if fault.startswith("429"):
        assert time.monotonic() - started >= 2.0, "Retry-After: 1 was not honoured twice"


def test_retry_after_beyond_the_bound_gives_up_at_once(fake_dropbox, tmp_path: Path) -> None:
    storage = build_storage(dropbox_settings(max_retry_wait_s=2.0))
    storage.list()
    fake_dropbox.faults.add("429:3600", "/2/files/upload")
    started = time.monotonic()
    with pytest.raises(StorageError, match="3600"):
        storage.put("k/a.bin", _file(tmp_path, "a", b"payload"))
    assert time.monotonic() - started < 2.0


def test_dropbox_gives_up_after_max_retries(fake_dropbox, tmp_path: Path) -> None:
    storage = build_storage(dropbox_settings(max_retries=2))
    storage.list()
    fake_dropbox.faults.add("500", "/2/files/upload", times=5)
    with pytest.raises(StorageError, match="upload k/a.bin to Dropbox failed after retries"):
        storage.put("k/a.bin", _file(tmp_path, "a", b"payload"))
    assert len(fake_dropbox.faults.injected) == 3


@pytest.mark.parametrize("fault", ["429:1", "503", "drop"])
def test_s3_transient_faults_are_retried(s3_proxy, tmp_path: Path, fault: str) -> None:
    storage = build_storage(s3_settings(s3_proxy, f"b-{uuid.uuid4().hex[:12]}"))
    s3_proxy.faults.add(fault, "/", times=2)
    stored = storage.put("huracan/2026-11-20/a.bin", _file(tmp_path, "a", b"payload"))
    assert [k for _, k in s3_proxy.faults.injected[-2:]] == [fault, fault]
    assert stored.hash == hashlib.sha256(b"payload").hexdigest()


def test_s3_multipart_upload_with_checksums(s3_proxy, tmp_path: Path) -> None:
    data = hashlib.sha256(b"m").digest() * (17 * 1024 * 1024 // 32)
    storage = build_storage(s3_settings(s3_proxy, f"b-{uuid.uuid4().hex[:12]}"))
    stored = storage.put("models/x.bin", _file(tmp_path, "m", data))
    assert stored.size == len(data) and stored.hash == hashlib.sha256(data).hexdigest()
    assert sum(n for r, n in s3_proxy.requests.items() if r.startswith("PUT")) >= 3  # parts
    dest = tmp_path / "back.bin"
    assert storage.get("models/x.bin", dest) and dest.read_bytes() == data


def test_dropbox_refuses_an_upload_stored_with_other_bytes(fake_dropbox, tmp_path: Path) -> None:
    storage = build_storage(dropbox_settings())
    storage.list()
    fake_dropbox.faults.add("corrupt", "/2/files/upload")
    with pytest.raises(StorageError, match="content_hash"):
        storage.put("k/a.bin", _file(tmp_path, "a", b"payload"))
    assert fake_dropbox.read("/k/a.bin") != b"payload"  # the server did store the corrupted bytes


def test_s3_checksum_refuses_bytes_corrupted_in_transit(s3_proxy, tmp_path: Path) -> None:
    storage = build_storage(s3_settings(s3_proxy, f"b-{uuid.uuid4().hex[:12]}", max_retries=0))
    s3_proxy.faults.add("corrupt", "/")
    with pytest.raises(StorageError, match="not the MD5 of the bytes sent"):
        storage.put("k/a.bin", _file(tmp_path, "a", b"payload"))
    # moto keeps what it received; the backend removed it so no corrupt copy passes for a good one
    assert storage.stat("k/a.bin") is None
