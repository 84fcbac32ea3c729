"""The `Storage` protocol: put/get/exists/list of files by a relative key such as
`data/candles/1h/BTC-USDT.parquet`.

Why keys and not paths: a key means the same thing on a local folder, a Dropbox app folder and an S3
bucket, and validating it in one place keeps `..` or absolute paths from escaping the remote root.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable


class StorageError(Exception):
    """A remote storage operation failed, or a key is not a safe relative path."""


def check_key(key: str) -> str:
    """Return `key` if it is a relative POSIX path without `.`/`..` parts; raise `StorageError` otherwise."""
    path = PurePosixPath(key)
    if not key or key.startswith("/") or "\\" in key or any(part in ("", ".", "..") for part in key.split("/")):
        raise StorageError(f"storage key {key!r} must be a relative path like 'data/candles/1h/BTC-USDT.parquet'")
    return str(path)


@runtime_checkable
class Storage(Protocol):
    """A place that keeps whole files by key. Every write it makes lands atomically (all or nothing)."""

    name: str

    def put(self, key: str, source: Path) -> None:
        """Upload the local file `source` to `key`, replacing any previous version."""
        ...

    def get(self, key: str, dest: Path) -> bool:
        """Download `key` to the local path `dest` (atomically); False when the key does not exist."""
        ...

    def exists(self, key: str) -> bool:
        ...

    def list(self, prefix: str = "") -> list[str]:
        """Keys under `prefix` (a folder-like prefix), sorted."""
        ...
