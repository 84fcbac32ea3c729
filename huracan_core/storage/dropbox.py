"""Dropbox `Storage` backend on the official SDK (`dropbox` 12.x).

- Auth: a long-lived refresh token with the app key/secret (the SDK trades it for short-lived access
  tokens at `/oauth2/token` as they expire), or a plain access token for short experiments.
- Uploads: one `files/upload` call up to 8 MiB, an upload session (start / append_v2 / finish) above;
  each call carries the Dropbox content_hash of its bytes (the server refuses a corrupted transfer) and
  the committed file's content_hash must equal the local file's: SHA-256 over the concatenated SHA-256
  digests of each 4 MiB block (`dropbox.dropbox_content_hasher`).
- Retries: the SDK's own loops are switched off (it retries a 429 forever by default); `with_retries`
  retries 429/5xx/dropped connections with backoff, honouring Retry-After, every wait bounded; the
  remote's circuit breaker (storage/breaker.py) refuses calls at once once Dropbox is considered down.
- Hosts come from `DROPBOX_API_HOST` / `DROPBOX_API_CONTENT_HOST` (read by the SDK at import), which
  is how the tests point it at a loopback HTTPS server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import requests

from huracan_core import atomic
from huracan_core.config import StorageSettings
from huracan_core.storage.base import RemoteFile, StorageError, TransientStorageError, check_key
from huracan_core.storage.breaker import breaker_for
from huracan_core.storage.retry import with_retries

T = TypeVar("T")
SINGLE_UPLOAD_MAX = 8 * 1024 * 1024  # above this, an upload session
SESSION_CHUNK = 8 * 1024 * 1024  # bytes per session call (a multiple of the 4 MiB hash block)
HASH_BLOCK = 4 * 1024 * 1024


def content_hash_bytes(data: bytes) -> str:
    """Dropbox content_hash of `data`: sha256 of the concatenated sha256 digests of each 4 MiB block."""
    overall = hashlib.sha256()
    for start in range(0, len(data), HASH_BLOCK):
        overall.update(hashlib.sha256(data[start : start + HASH_BLOCK]).digest())
    return overall.hexdigest()


def content_hash_file(path: Path) -> str:
    overall = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(HASH_BLOCK), b""):
            overall.update(hashlib.sha256(block).digest())
    return overall.hexdigest()


def _not_found(exc: Exception) -> bool:
    return "not_found" in repr(getattr(exc, "error", exc))


class DropboxStorage:
    """`Storage` in a Dropbox app folder; key `a/b.txt` is the Dropbox path `/a/b.txt`."""

    name = "dropbox"

    def __init__(self, settings: StorageSettings) -> None:
        import dropbox  # imported here: the SDK reads its host variables at import time

        def secret(value: Any) -> str | None:
            return value.get_secret_value() if value is not None else None

        self._settings = settings
        self._dropbox = dropbox
        self.breaker = breaker_for(settings)  # shared by every Storage of this remote in the process
        self._client = dropbox.Dropbox(
            oauth2_access_token=secret(settings.dropbox_token),
            oauth2_refresh_token=secret(settings.dropbox_refresh_token),
            app_key=secret(settings.dropbox_app_key),
            app_secret=secret(settings.dropbox_app_secret),
            max_retries_on_error=0,
            max_retries_on_rate_limit=0,
            timeout=settings.request_timeout_s,
        )

    def __repr__(self) -> str:
        return "DropboxStorage()"

    # ------------------------------------------------------------------ plumbing
    @staticmethod
    def _path(key: str) -> str:
        return "/" + check_key(key)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """One SDK call with transient failures mapped for `with_retries`; permanent ones named."""
        from dropbox import exceptions as dx

        def once() -> T:
            try:
                return fn()
            except dx.RateLimitError as exc:
                raise TransientStorageError(f"{what}: Dropbox rate limit (429)", exc.backoff) from exc
            except dx.InternalServerError as exc:
                raise TransientStorageError(f"{what}: Dropbox server error {exc.status_code}") from exc
            except dx.AuthError as exc:
                raise StorageError(f"{what}: Dropbox refused the credentials ({exc.error})") from exc
            except dx.BadInputError as exc:
                raise StorageError(f"{what}: Dropbox rejected the request: {str(exc.message)[:200]}") from exc
            except dx.HttpError as exc:
                if exc.status_code >= 500 or exc.status_code == 429:
                    raise TransientStorageError(f"{what}: Dropbox HTTP {exc.status_code}") from exc
                raise StorageError(f"{what}: Dropbox HTTP {exc.status_code}: {str(exc.body)[:200]}") from exc
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                raise TransientStorageError(
                    f"{what}: connection to Dropbox failed ({type(exc).__name__})"
                ) from exc

        return with_retries(
            what,
            once,
            max_retries=self._settings.max_retries,
            max_wait_s=self._settings.max_retry_wait_s,
            breaker=self.breaker,
        )

    # ------------------------------------------------------------------ Storage
    def hash_file(self, path: Path) -> str:
        return content_hash_file(path)

    def put(self, key: str, source: Path) -> RemoteFile:
        source = Path(source)
        if not source.is_file():
            raise StorageError(f"cannot upload {source}: not a file")
        data = source.read_bytes()
        expected = content_hash_bytes(data)
        path = self._path(key)
        files = self._dropbox.files
        mode = files.WriteMode.overwrite
        what = f"upload {key} to Dropbox"
        try:
            if len(data) <= SINGLE_UPLOAD_MAX:
                meta = self._call(
                    what,
                    lambda: self._client.files_upload(
                        data, path, mode=mode, mute=True, content_hash=expected
                    ),
                )
            else:
                meta = self._upload_session(what, data, path, mode)
        except self._dropbox.exceptions.ApiError as exc:
            if "content_hash_mismatch" in repr(exc.error):
                raise StorageError(
                    f"{what}: Dropbox saw a different content_hash (corrupted transfer)"
                ) from exc
            raise StorageError(f"{what}: {exc.error}") from exc
        if meta.content_hash != expected:
            raise StorageError(
                f"{what}: Dropbox stored content_hash {meta.content_hash} but {source} hashes to {expected}"
            )
        return RemoteFile(check_key(key), meta.size, meta.content_hash, meta.rev)

    def _upload_session(self, what: str, data: bytes, path: str, mode: Any) -> Any:
        files = self._dropbox.files
        first = data[:SESSION_CHUNK]
        start = self._call(
            what,
            lambda: self._client.files_upload_session_start(first, content_hash=content_hash_bytes(first)),
        )
        offset = len(first)
        while len(data) - offset > SESSION_CHUNK:
            chunk = data[offset : offset + SESSION_CHUNK]
            cursor = files.UploadSessionCursor(session_id=start.session_id, offset=offset)
            self._call(
                what,
                lambda chunk=chunk, cursor=cursor: self._client.files_upload_session_append_v2(
                    chunk, cursor, content_hash=content_hash_bytes(chunk)
                ),
            )
            offset += len(chunk)
        last = data[offset:]
        cursor = files.UploadSessionCursor(session_id=start.session_id, offset=offset)
        commit = files.CommitInfo(path=path, mode=mode, mute=True)
        return self._call(
            what,
            lambda: self._client.files_upload_session_finish(
                last, cursor, commit, content_hash=content_hash_bytes(last)
            ),
        )

    def get(self, key: str, dest: Path) -> bool:
        what = f"download {key} from Dropbox"

        def fetch() -> tuple[Any, bytes]:
            meta, response = self._client.files_download(self._path(key))
            try:
                return meta, response.content
            finally:
                response.close()

        try:
            meta, body = self._call(what, fetch)
        except self._dropbox.exceptions.ApiError as exc:
            if _not_found(exc):
                return False
            raise StorageError(f"{what}: {exc.error}") from exc
        if content_hash_bytes(body) != meta.content_hash:
            raise StorageError(f"{what}: the bytes received do not match Dropbox's content_hash")
        atomic.write_bytes(Path(dest), body)
        return True

    def stat(self, key: str) -> RemoteFile | None:
        try:
            meta = self._call(
                f"stat {key} on Dropbox", lambda: self._client.files_get_metadata(self._path(key))
            )
        except self._dropbox.exceptions.ApiError as exc:
            if _not_found(exc):
                return None
            raise StorageError(f"stat {key} on Dropbox: {exc.error}") from exc
        if not isinstance(meta, self._dropbox.files.FileMetadata):
            return None
        return RemoteFile(check_key(key), meta.size, meta.content_hash, meta.rev)

    def exists(self, key: str) -> bool:
        return self.stat(key) is not None

    def delete(self, key: str) -> bool:
        try:
            self._call(f"delete {key} on Dropbox", lambda: self._client.files_delete_v2(self._path(key)))
        except self._dropbox.exceptions.ApiError as exc:
            if _not_found(exc):
                return False
            raise StorageError(f"delete {key} on Dropbox: {exc.error}") from exc
        return True

    def make_folder(self, prefix: str) -> None:
        try:
            self._call(
                f"create folder {prefix} on Dropbox",
                lambda: self._client.files_create_folder_v2(self._path(prefix)),
            )
        except self._dropbox.exceptions.ApiError as exc:
            if "conflict" not in repr(exc.error):  # already there: fine
                raise StorageError(f"create folder {prefix} on Dropbox: {exc.error}") from exc

    def list(self, prefix: str = "") -> list[str]:
        what = f"list {prefix or '/'} on Dropbox"
        path = self._path(prefix) if prefix else ""
        try:
            page = self._call(what, lambda: self._client.files_list_folder(path, recursive=True))
        except self._dropbox.exceptions.ApiError as exc:
            if _not_found(exc):
                return []
            raise StorageError(f"{what}: {exc.error}") from exc
        keys: list[str] = []
        for _ in range(100_000):  # bounded: a page holds up to 2000 entries
            keys += [
                e.path_display.lstrip("/")
                for e in page.entries
                if isinstance(e, self._dropbox.files.FileMetadata)
            ]
            if not page.has_more:
                break
            cursor = page.cursor
            page = self._call(what, lambda: self._client.files_list_folder_continue(cursor))  # noqa: B023
        return sorted(keys)
