"""Shared fixtures. Recorded market data lives in ../shared/data and is never copied into the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("HURACAN_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The recorded Binance data folder; tests that need it skip with a clear reason when it is absent."""
    if not (SHARED_DATA / "binance").is_dir():
        pytest.skip(f"recorded market data not found at {SHARED_DATA} (set HURACAN_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh engine home with env isolation: no HURACAN_* from the caller leaks into a test."""
    for key in list(os.environ):
        if key.startswith("HURACAN_"):
            monkeypatch.delenv(key)
    root = tmp_path / "home"
    monkeypatch.setenv("HURACAN_HOME", str(root))
    monkeypatch.setenv("HURACAN_CONFIG", str(REPO / "config" / "settings.yaml"))
    return root
