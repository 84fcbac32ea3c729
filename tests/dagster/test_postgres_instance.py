"""The production dagster.yaml on the real PostgreSQL at 127.0.0.1:5432, through dagster-postgres."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from tests.dagster.conftest import REPO, pg_database


@pytest.fixture
def pg_instance(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DagsterInstance]:
    with pg_database() as pg_env:
        for key, value in pg_env.items():
            monkeypatch.setenv(key, value)
        dagster_home = tmp_path / "dagster_home"
        dagster_home.mkdir()
        shutil.copy(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
        monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
        instance = DagsterInstance.get()
        try:
            yield instance
        finally:
            instance.dispose()


def test_production_instance_on_postgres_records_materialisations(pg_instance: DagsterInstance) -> None:
    from datetime import date

    from dagster_postgres import PostgresRunStorage

    from huracan_dagster.night.launch import execute
    from huracan_dagster.night.state import generation

    assert isinstance(pg_instance.run_storage, PostgresRunStorage)
    assert pg_instance.run_monitoring_enabled
    outcome = execute(
        pg_instance,
        ("universe",),
        tags={"dagster/partition": "2026-04-20"},
        run_config={"ops": {"universe": {"config": {"symbols": None, "top_n": 4}}}},
    )
    assert outcome.success, outcome.error
    assert pg_instance.get_materialized_partitions(AssetKey("universe")) == {"2026-04-20"}
    gen = generation(pg_instance, date(2026, 4, 20))
    assert gen is not None and len(gen.symbols) == 4
