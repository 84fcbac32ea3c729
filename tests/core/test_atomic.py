"""Atomic writes and sha256 manifests: a tampered or missing file is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from huracan_core.atomic import (
    IntegrityError,
    verify_manifest,
    write_json,
    write_manifest,
    write_parquet,
    write_text,
)


def test_manifest_detects_tampering(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", {"x": 1})
    write_text(tmp_path / "b.txt", "hello")
    write_manifest(tmp_path, ["a.json", "b.txt"])
    assert set(verify_manifest(tmp_path)) == {"a.json", "b.txt"}
    (tmp_path / "b.txt").write_text("hellO")
    with pytest.raises(IntegrityError, match="b.txt"):
        verify_manifest(tmp_path)
    (tmp_path / "b.txt").unlink()
    with pytest.raises(IntegrityError, match="missing"):
        verify_manifest(tmp_path)


def test_incomplete_folder_has_no_manifest(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", {})
    with pytest.raises(IntegrityError, match="incomplete"):
        verify_manifest(tmp_path)


def test_failed_write_leaves_old_file(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    write_json(target, {"v": 1})
    with pytest.raises(AttributeError):
        write_parquet(target, None)  # type: ignore[arg-type]  # fails inside the temp-file write
    assert target.read_text().strip().startswith("{") and '"v": 1' in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]  # no temp file left behind


def test_file_lock_waits_with_a_bound_and_names_the_file(tmp_path: Path) -> None:
    """Every wait has a bound: a lock another holder never releases ends in an error naming the lock file."""
    import fcntl
    import time

    from huracan_core.atomic import LockTimeoutError, file_lock

    path = tmp_path / "status.lock"
    with file_lock(path, 1.0):
        pass  # free: taken at once
    with open(path, "w") as other:
        fcntl.flock(other, fcntl.LOCK_EX)  # a stuck holder (an open file description of its own)
        started = time.monotonic()
        with (
            pytest.raises(LockTimeoutError, match="status.lock stayed locked for 0.3 s"),
            file_lock(path, 0.3),
        ):
            pass
        assert time.monotonic() - started < 2.0
