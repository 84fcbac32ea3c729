"""The local-folder Storage backend: round trip, listing, key safety, configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from huracan_core.config import StorageSettings
from huracan_core.storage import LocalFolderStorage, Storage, StorageError, build_storage


def test_put_get_exists_list_round_trip(tmp_path: Path) -> None:
    remote = LocalFolderStorage(tmp_path / "remote")
    assert isinstance(remote, Storage)
    src = tmp_path / "a.bin"
    src.write_bytes(b"candles")
    remote.put("data/candles/1h/BTC-USDT.parquet", src)
    remote.put("data/candles/1d/BTC-USDT.parquet", src)
    assert remote.exists("data/candles/1h/BTC-USDT.parquet")
    assert not remote.exists("data/candles/1h/ETH-USDT.parquet")
    assert remote.list("data/candles/1h") == ["data/candles/1h/BTC-USDT.parquet"]
    assert len(remote.list()) == 2
    dest = tmp_path / "restore" / "x.parquet"
    assert remote.get("data/candles/1h/BTC-USDT.parquet", dest) and dest.read_bytes() == b"candles"
    assert remote.get("data/candles/1h/ETH-USDT.parquet", tmp_path / "none") is False
    assert not list((tmp_path / "remote").rglob(".*.tmp"))  # no temp files left behind


@pytest.mark.parametrize("key", ["/etc/passwd", "../outside", "data/../../x", "", "a//b", "a\\b"])
def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(StorageError):
        LocalFolderStorage(tmp_path).exists(key)


def test_build_storage_from_settings(tmp_path: Path) -> None:
    assert build_storage(StorageSettings()) is None
    built = build_storage(StorageSettings(remote_dir=tmp_path))
    assert isinstance(built, LocalFolderStorage) and built.root == tmp_path
    assert build_storage(StorageSettings(backend="s3", s3_bucket="bucket")).name == "s3"
    with pytest.raises(ValueError, match="s3_bucket"):
        StorageSettings(backend="s3")
    with pytest.raises(ValueError, match="dropbox_refresh_token"):
        StorageSettings(backend="dropbox")
