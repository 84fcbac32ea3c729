"""A local-folder `Storage` backend: a mounted disk, a network share, or a test's tmp folder.

Both directions go through a temp file and a rename in the destination folder, so a reader on either
side never sees a half-copied file, even when the copy is interrupted.
"""

from __future__ import annotations

from pathlib import Path

from huracan_core.atomic import copy_file
from huracan_core.config import StorageSettings
from huracan_core.storage.base import Storage, StorageError, check_key


class LocalFolderStorage:
    """`Storage` over a folder; keys map to paths below `root`."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalFolderStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, source: Path) -> None:
        if not Path(source).is_file():
            raise StorageError(f"cannot upload {source}: not a file")
        try:
            copy_file(Path(source), self._path(key))
        except OSError as exc:
            raise StorageError(f"cannot write {key} to {self.root}: {exc}") from exc

    def get(self, key: str, dest: Path) -> bool:
        path = self._path(key)
        if not path.is_file():
            return False
        try:
            copy_file(path, Path(dest))
        except OSError as exc:
            raise StorageError(f"cannot read {key} from {self.root}: {exc}") from exc
        return True

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if base.is_file():
            return [check_key(prefix)]
        if not base.is_dir():
            return []
        keys = []
        for path in base.rglob("*"):
            if path.is_file() and not path.name.startswith("."):
                keys.append(path.relative_to(self.root).as_posix())
        return sorted(keys)


def build_storage(settings: StorageSettings) -> Storage | None:
    """The remote storage the settings ask for, or None when no remote is configured.

    Only the local-folder backend exists so far; asking for another one is an explicit error rather
    than a silent fall back to no remote, so a misconfigured production run fails loudly.
    """
    if settings.backend == "local":
        return LocalFolderStorage(settings.remote_dir) if settings.remote_dir is not None else None
    raise StorageError(
        f"storage.backend {settings.backend!r} is not implemented yet; use 'local' with storage.remote_dir"
    )
