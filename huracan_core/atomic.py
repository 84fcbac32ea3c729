"""Atomic writes and sha256 manifests: nothing half-written is ever mistaken for a finished artifact.

Every write goes to a temp file in the same folder, is fsynced, then renamed over the target, so a
crash (even kill -9) leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

MANIFEST = "sha256.txt"


class IntegrityError(Exception):
    """A stored artifact does not match its recorded sha256 (tampered, truncated or missing)."""


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        with open(tmp_path, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    return _atomic(path, lambda p: p.write_bytes(data))


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode())


def copy_file(source: Path, dest: Path) -> Path:
    """Copy through a temp file beside `dest`: a reader never sees a half-copied file."""
    return _atomic(dest, lambda p: shutil.copyfile(source, p))


def write_json(path: Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


def write_parquet(path: Path, frame: pl.DataFrame) -> Path:
    return _atomic(path, lambda p: frame.write_parquet(p, compression="zstd", statistics=True))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(folder: Path, names: Iterable[str]) -> Path:
    """`sha256.txt` in sha256sum format over the named files of `folder`, written last."""
    lines = [f"{sha256_file(folder / name)}  {name}" for name in sorted(names)]
    return write_text(folder / MANIFEST, "\n".join(lines) + "\n")


def read_manifest(folder: Path) -> dict[str, str]:
    path = folder / MANIFEST
    if not path.is_file():
        raise IntegrityError(f"{folder} has no {MANIFEST}: the artifact is incomplete")
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            out[name.strip()] = digest
    return out


def verify_manifest(folder: Path) -> dict[str, str]:
    """Check every file listed in `sha256.txt`; raise `IntegrityError` naming the first file at fault."""
    manifest = read_manifest(folder)
    for name, digest in manifest.items():
        path = folder / name
        if not path.is_file():
            raise IntegrityError(f"{path} is listed in {MANIFEST} but missing")
        actual = sha256_file(path)
        if actual != digest:
            raise IntegrityError(f"{path} sha256 {actual[:12]}… does not match {MANIFEST} ({digest[:12]}…)")
    return manifest


LOCK_TIMEOUT_S = 120.0  # writers hold these locks for milliseconds; two minutes means a stuck process


class LockTimeoutError(TimeoutError):
    """A file lock stayed taken past its bound; the message names the lock file."""


@contextmanager
def file_lock(
    path: Path, timeout_s: float = LOCK_TIMEOUT_S, holder: str = "another process"
) -> Iterator[None]:
    """Exclusive `flock` on `path`, waited for at most `timeout_s`: every wait in the engine has a bound, and
    a stuck holder ends in an error naming the file instead of a night that never finishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    with open(path, "w") as fh:
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeoutError(
                        f"{path} stayed locked for {timeout_s:g} s: {holder} is stuck"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
