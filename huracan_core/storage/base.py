"""The `Storage` protocol: put/get/exists/list/stat/delete of files by a relative key such as
`data/candles/1h/BTC-USDT.parquet`.

Why keys and not paths: a key means the same thing on a local folder, a Dropbox app folder and an S3
bucket, and validating it in one place keeps `..` or absolute paths from escaping the remote root.

Why every backend names its own hash (`hash_file`): each remote verifies uploads with the checksum it
already computes (Dropbox's block content_hash, S3's SHA-256 checksum, plain sha256 for a folder), so
"is the remote copy the same as this file" is one metadata call, never a download.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable


class StorageError(Exception):
    """A remote storage operation failed, or a key is not a safe relative path."""


class TransientStorageError(StorageError):
    """A failure worth retrying (429, 5xx, dropped connection); `retry_after` is the server's ask in s."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def check_key(key: str) -> str:
    """Return `key` if it is a relative POSIX path without `.`/`..` parts; raise `StorageError` otherwise."""
    path = PurePosixPath(key)
    if (
        not key
        or key.startswith("/")
        or "\\" in key
        or any(part in ("", ".", "..") for part in key.split("/"))
    ):
        raise StorageError(
            f"storage key {key!r} must be a relative path like 'data/candles/1h/BTC-USDT.parquet'"
        )
    return str(path)


@dataclass(frozen=True)
class RemoteFile:
    """What a remote knows about one stored file: size, its hash (the backend's kind) and revision."""

    key: str
    size: int
    hash: str
    rev: str


@runtime_checkable
class Storage(Protocol):
    """A place that keeps whole files by key. Every write it makes lands atomically (all or nothing)."""

    name: str

    def put(self, key: str, source: Path) -> RemoteFile:
        """Upload the local file `source` to `key`, replacing any previous version; verify the remote
        hash equals `hash_file(source)` and return what was stored (raise `StorageError` otherwise)."""
        ...

    def get(self, key: str, dest: Path) -> bool:
        """Download `key` to the local path `dest` (atomically); False when the key does not exist."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> list[str]:
        """Keys under `prefix` (a folder-like prefix), sorted."""
        ...

    def stat(self, key: str) -> RemoteFile | None:
        """Size, hash and revision of `key`, or None when absent."""
        ...

    def delete(self, key: str) -> bool:
        """Remove `key`; False when it did not exist."""
        ...

    def make_folder(self, prefix: str) -> None:
        """Create the folder `prefix` (a no-op where folders are implicit)."""
        ...

    def hash_file(self, path: Path) -> str:
        """The hash this backend reports in `stat` for a file with `path`'s content."""
        ...
