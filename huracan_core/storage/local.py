"""A local-folder `Storage` backend: a mounted disk, a network share, or a test's tmp folder.

Both directions go through a temp file and a rename in the destination folder, so a reader on either
side never sees a half-copied file, even when the copy is interrupted.
"""

from __future__ import annotations

from pathlib import Path

from huracan_core.atomic import copy_file, sha256_file
from huracan_core.storage.base import RemoteFile, StorageError, check_key


class LocalFolderStorage:
    """`Storage` over a folder; keys map to paths below `root`. Hash: sha256; revision: mtime in ns."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalFolderStorage({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def hash_file(self, path: Path) -> str:
        return sha256_file(path)

    def put(self, key: str, source: Path) -> RemoteFile:
        if not Path(source).is_file():
            raise StorageError(f"cannot upload {source}: not a file")
        expected = self.hash_file(Path(source))
        try:
            copy_file(Path(source), self._path(key))
        except OSError as exc:
            raise StorageError(f"cannot write {key} to {self.root}: {exc}") from exc
        stored = self.stat(key)
        if stored is None or stored.hash != expected:
            raise StorageError(
                f"{key} on {self.root} does not match {source} after the copy (source changed?)"
            )
        return stored

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

    def stat(self, key: str) -> RemoteFile | None:
        path = self._path(key)
        if not path.is_file():
            return None
        info = path.stat()
        return RemoteFile(check_key(key), info.st_size, sha256_file(path), str(info.st_mtime_ns))

    def delete(self, key: str) -> bool:
        path = self._path(key)
        if not path.is_file():
            return False
        path.unlink()
        return True

    def make_folder(self, prefix: str) -> None:
        self._path(prefix).mkdir(parents=True, exist_ok=True)

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
