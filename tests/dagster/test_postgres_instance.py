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
    from dagster_postgres import PostgresRunStorage

    from huracan_dagster.defs.pipeline.plan import TAG_DATE, TAG_STEP, StepRequest, latest_generation
    from huracan_dagster.runner import execute

    assert isinstance(pg_instance.run_storage, PostgresRunStorage)
    assert pg_instance.run_monitoring_enabled
    step = StepRequest(
        "universe",
        "universe_job",
        "2026-04-20",
        None,
        "",
        {TAG_DATE: "2026-04-20", TAG_STEP: "universe:2026-04-20"},
    )
    outcome = execute(pg_instance, step, {"ops": {"universe": {"config": {"symbols": None, "top_n": 4}}}})
    assert outcome.success, outcome.error
    assert pg_instance.get_materialized_partitions(AssetKey("universe")) == {"2026-04-20"}
    gen = latest_generation(pg_instance, __import__("datetime").date(2026, 4, 20))
    assert gen is not None and len(gen.symbols) == 4
