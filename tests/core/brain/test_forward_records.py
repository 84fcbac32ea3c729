"""Migration 0005: the `forward_records` table (huracan_core/forward.py) on SQLite and PostgreSQL, exactly
as the ORM declares it, created and dropped without touching the tables before it; rows of a night are
replaced as a whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, inspect, select

from huracan_core.brain import models as m
from huracan_core.brain.db import downgrade, make_engine, upgrade
from huracan_core.brain.record import replace_forward_rows
from tests.core.brain.conftest import postgres_database

BEFORE = "0004_decisions"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'brain.sqlite'}"
        return
    with postgres_database() as pg:
        yield pg


def row(symbol: str, trades: int, day: date = date(2025, 5, 2)) -> dict:
    return {
        "date": day,
        "symbol": symbol,
        "model_id": f"{symbol}_20250501_020000Z",
        "handed_out_on": date(2025, 5, 1),
        "scored_through": datetime(2025, 5, 3),
        "days_live": 1,
        "bars": 22,
        "trades": trades,
        "net_bps": -12.5,
        "gross_bps": 3.0,
        "max_drawdown_pct": 0.4,
        "hit_rate": None,
        "demoted": False,
        "reason": None,
    }


def test_migration_0005_creates_the_orm_table_and_drops_it_again(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine, BEFORE)
    before = set(inspect(engine).get_table_names())
    assert "forward_records" not in before
    upgrade(engine)
    assert set(inspect(engine).get_table_names()) == before | {"forward_records"}
    only = MetaData()
    m.ForwardRecordRow.__table__.to_metadata(only)

    def ours(name: str | None, kind: str, parent: dict) -> bool:  # compare forward_records alone
        return kind != "table" or name == "forward_records"

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": ours, "compare_type": True})
        assert compare_metadata(context, only) == []
    keys = inspect(engine).get_pk_constraint("forward_records")["constrained_columns"]
    assert keys == ["date", "symbol", "model_id"]
    downgrade(engine, BEFORE)
    assert set(inspect(engine).get_table_names()) == before
    engine.dispose()


def test_a_nights_rows_are_replaced_as_a_whole(url: str) -> None:
    engine = make_engine(url)
    upgrade(engine)
    table = m.ForwardRecordRow.__table__
    other_night = row("BBB-USDT", 1, date(2025, 5, 1))
    with engine.begin() as conn:
        replace_forward_rows(conn, date(2025, 5, 1), [other_night])
        replace_forward_rows(conn, date(2025, 5, 2), [row("AAA-USDT", 3), row("BBB-USDT", 4)])
    with engine.begin() as conn:
        assert replace_forward_rows(conn, date(2025, 5, 2), [row("AAA-USDT", 5)]) == 1
        assert replace_forward_rows(conn, date(2025, 5, 2), None) == 0  # no record that night: kept
    with engine.connect() as conn:
        stored = [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.date))]
    assert stored == [other_night, row("AAA-USDT", 5)]
    engine.dispose()
