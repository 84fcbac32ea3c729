"""`build_storage`: the remote the settings ask for (local folder, Dropbox or S3), or None."""

from __future__ import annotations

from huracan_core.config import StorageSettings
from huracan_core.storage.base import Storage
from huracan_core.storage.local import LocalFolderStorage


def build_storage(settings: StorageSettings) -> Storage | None:
    """The remote storage the settings ask for, or None when no remote is configured.

    The SDKs are imported only for their backend (the Dropbox SDK reads its hosts at import time).
    """
    if settings.backend == "dropbox":
        from huracan_core.storage.dropbox import DropboxStorage

        return DropboxStorage(settings)
    if settings.backend == "s3":
        from huracan_core.storage.s3 import S3Storage

        return S3Storage(settings)
    return LocalFolderStorage(settings.remote_dir) if settings.remote_dir is not None else None
