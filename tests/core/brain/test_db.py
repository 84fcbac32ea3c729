"""Schema management: Alembic upgrade/downgrade, upgrade on start-up when behind, refusal when ahead."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from huracan_core.brain.db import (
    BrainSchemaError,
    downgrade,
    head_revision,
    make_engine,
    normalise_url,
    open_brain,
    schema_status,
    upgrade,
)
from huracan_core.brain.models import ALL_TABLES_ORM

TABLES = {t.__tablename__ for t in ALL_TABLES_ORM}


def test_every_table_of_the_issue_exists() -> None:
    assert {
        "universe_selections",
        "features",
        "models",
        "model_performance",
        "daily_metrics",
        "trade_memory",
        "win_analysis",
        "loss_analysis",
        "pattern_library",
        "post_exit_tracking",
        "regimes",
        "model_evolution",
    } == TABLES


def test_sqlite_open_upgrades_an_empty_file_then_refuses_a_newer_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'brain.sqlite'}"
    engine = open_brain(url)
    status = schema_status(engine)
    assert status.state == "current" and status.current == head_revision()
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.begin() as conn:  # a newer engine migrated this database
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    with pytest.raises(BrainSchemaError, match="ffff_from_the_future.*newer than this engine's head"):
        open_brain(url)
    engine.dispose()


def test_sqlite_behind_is_upgraded_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'brain.sqlite'}"
    engine = open_brain(url)
    downgrade(engine, "base")
    assert schema_status(engine).state == "behind" and not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()
    engine = open_brain(url)
    assert schema_status(engine).state == "current"
    assert set(inspect(engine).get_table_names()) >= TABLES
    engine.dispose()


def test_postgres_upgrade_from_empty_to_head_and_downgrade_back(pg_url: str) -> None:
    engine = make_engine(pg_url)
    assert engine.pool.size() == 2 and engine.pool._max_overflow == 8  # pool 2..10
    before = schema_status(engine)
    assert before.current is None and before.tables == 0 and before.state == "behind"
    after = upgrade(engine)
    assert after.current == head_revision() and after.state == "current"
    assert set(inspect(engine).get_table_names()) >= TABLES
    back = downgrade(engine, "base")
    assert back.current is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert upgrade(engine).state == "current"  # and up again
    engine.dispose()


def test_postgres_urls_mean_psycopg3() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
