"""The recorded two-night world of the forward-record tests (world.py), built once per session: tests
that change anything work on `clone(world, tmp_path)`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.forward.world import World, build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> World:
    return build_world(tmp_path_factory.mktemp("forward_world"), shared_data)
