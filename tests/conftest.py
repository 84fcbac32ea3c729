"""Shared fixtures. Recorded market data lives in ../shared/data and is never copied into the repo."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.profile import TEST_PROFILE

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HURACAN_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The recorded Binance data folder; tests that need it skip with a clear reason when it is absent."""
    if not (SHARED_DATA / "binance").is_dir():
        pytest.skip(f"recorded market data not found at {SHARED_DATA} (set HURACAN_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh engine home with env isolation: no HURACAN_* from the caller leaks into a test.

    A test that trained started the home's shared Ray head (~600 MB): it is stopped at teardown (and this
    process disconnected from it) rather than left to its 30-minute idle watchdog."""
    for key in list(os.environ):
        if key.startswith("HURACAN_"):
            monkeypatch.delenv(key)
    root = tmp_path / "home"
    monkeypatch.setenv("HURACAN_HOME", str(root))
    monkeypatch.setenv("HURACAN_CONFIG", str(REPO / "config" / "settings.yaml"))
    # the suite's nights run on the `daily` profile (the seed's 1d / 150 days: ~140 rows a coin, seconds to
    # train); the hourly default is exercised by tests that drop it (tests/integration/test_quickstart.py)
    monkeypatch.setenv("HURACAN_PROFILE", TEST_PROFILE)
    monkeypatch.setenv("HURACAN_RAY__HEAD_IDLE_MINUTES", "1")  # a head a subprocess left stops soon
    yield root
    if (root / "ray").is_dir():
        _stop_ray_head(root)


def _stop_ray_head(root: Path) -> None:
    import ray

    from huracan_core.config import load_settings
    from huracan_core.execution import ray_head

    settings = load_settings(home=root)
    info = ray_head.read_head(settings)
    if info is not None and ray.is_initialized():
        ray.shutdown()  # this process joined that head: a later test must connect afresh
    ray_head.stop_local_head(settings)
