"""Migration 0004 (`decisions`) on SQLite and PostgreSQL: up from 0003, down again, nothing else touched."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from huracan_core.brain.db import downgrade, make_engine, schema_status, upgrade
from huracan_core.brain.models import BotDecision

BEFORE = "0003_features_without_rowid"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'brain.sqlite'}"
        return
    from tests.support.postgres import PG, fresh_database

    with fresh_database("huracan_decisions") as db:
        yield f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{db}"


def test_migration_0004_creates_and_drops_the_decisions_table(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine, BEFORE)
        tables_before = set(inspect(engine).get_table_names())
        assert "decisions" not in tables_before
        assert upgrade(engine, "0004_decisions").current == "0004_decisions"
        names = set(inspect(engine).get_table_names())
        assert names - tables_before == {"decisions"}
        indexes = {ix["name"] for ix in inspect(engine).get_indexes("decisions")}
        assert {"ix_decisions_decided_at", "ix_decisions_symbol_bar_time"} <= indexes
        row = {
            "decided_at": datetime(2026, 4, 21, 0, 0, 3),
            "as_of": datetime(2026, 4, 21),
            "bar_time": datetime(2026, 4, 20, 23),
            "symbol": "BTC-USDT",
            "model_id": "BTC-USDT_20260421_020000Z",
            "direction": "long",
            "signal": "long",
            "action": "open",
            "confidence": 61.5,
            "score": 0.42,
            "score_threshold": 0.2,
            "expected_edge_bps": 14.0,
            "round_trip_bps": 9.0,
            "safety_margin_bps": 3.0,
            "edge_margin_bps": 2.0,
            "notional": 0.25,
            "risk": 0.01,
            "bound_by": "coin cap",
            "equity": 1.0,
            "kill_switch": False,
            "reasons": ["consensus S +0.420: |S| > k 0.75 x std 0.267 = 0.200"],
            "detail": {"direction": "long", "size": {"notional": 0.25}},
        }
        with engine.begin() as conn:
            conn.execute(BotDecision.__table__.insert(), row)
        with engine.connect() as conn:
            back = conn.execute(select(BotDecision.__table__)).mappings().one()
        assert back["reasons"] == row["reasons"] and back["detail"] == row["detail"]
        assert back["bar_time"] == row["bar_time"] and back["kill_switch"] is False
        assert downgrade(engine, BEFORE).current == BEFORE
        assert set(inspect(engine).get_table_names()) == tables_before
        assert schema_status(engine).state == "behind"
    finally:
        engine.dispose()
