"""Remote storage behind one small protocol, so the candle cache (and later models and exports) can be
mirrored to a folder, Dropbox or S3 without the callers knowing which."""

from huracan_core.storage.base import Storage, StorageError, check_key
from huracan_core.storage.local import LocalFolderStorage, build_storage

__all__ = ["LocalFolderStorage", "Storage", "StorageError", "build_storage", "check_key"]
