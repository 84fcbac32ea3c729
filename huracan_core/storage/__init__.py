"""Remote storage behind one small protocol, so the candle cache, models, logs and exports are
mirrored to a folder, Dropbox or S3 without the callers knowing which."""

from huracan_core.storage.base import RemoteFile, Storage, StorageError, TransientStorageError, check_key
from huracan_core.storage.factory import build_storage
from huracan_core.storage.local import LocalFolderStorage

__all__ = [
    "LocalFolderStorage",
    "RemoteFile",
    "Storage",
    "StorageError",
    "TransientStorageError",
    "build_storage",
    "check_key",
]
