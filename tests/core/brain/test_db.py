"""Schema management: Alembic upgrade/downgrade, upgrade on start-up when behind, refusal when ahead."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, text

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
from huracan_core.brain.models import ALL_TABLES_ORM, Feature

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


def _features_sql(engine) -> str:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'features'")).scalar_one()


def test_migration_0003_rebuilds_sqlite_features_without_rowid_and_back_keeping_every_row(
    brain_url: str,
) -> None:
    """A brain stored before 0003 keeps every feature row through the rebuild, both ways; on SQLite the
    table becomes its key's B-tree (one B-tree per insert), on PostgreSQL nothing changes."""
    engine = make_engine(brain_url)
    upgrade(engine, "0002_kill_switch_events")
    rows = [
        {
            "symbol": s,
            "timestamp": datetime(2025, 11, d),
            "name": n,
            "value": v,
            "first_date": date(2025, 11, 10),
        }
        for s in ("BTC-USDT", "ETH-USDT")
        for d in range(1, 11)
        for n, v in (("rsi_14", d * 1.5), ("ret_1", None), ("atr_14", -d / 7))
    ]
    with engine.begin() as conn:
        conn.execute(insert(Feature.__table__), rows)

    def stored() -> list[tuple]:
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(text("SELECT * FROM features ORDER BY symbol, timestamp, name"))
            ]

    before = stored()
    assert len(before) == 60
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        assert "WITHOUT ROWID" not in _features_sql(engine)
    assert upgrade(engine).current == head_revision()
    assert stored() == before
    if sqlite:
        assert _features_sql(engine).rstrip().endswith("WITHOUT ROWID")
    downgrade(engine, "0002_kill_switch_events")
    assert stored() == before
    if sqlite:
        assert "WITHOUT ROWID" not in _features_sql(engine)
    engine.dispose()


def test_a_new_sqlite_brain_gets_16k_pages(tmp_path: Path) -> None:
    engine = open_brain(f"sqlite:///{tmp_path / 'brain.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA page_size")).scalar_one() == 16384
    engine.dispose()
