"""Dagster test helpers: an isolated engine home and a test instance per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, instance_for_test


@pytest.fixture
def instance(home: Path) -> Iterator[DagsterInstance]:
    with instance_for_test() as inst:
        yield inst
