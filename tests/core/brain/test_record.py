"""record_night: a rerun replaces the night's keys (also dropping a coin no longer in the universe), features
are only added for new bars, and a model whose trades disagree with its metrics.json is refused by name."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from huracan_core.atomic import read_json, write_json
from huracan_core.brain import models as m
from huracan_core.brain.db import make_engine, open_brain
from huracan_core.brain.record import BrainRecordError, record_night
from huracan_core.ledger import RunLedger
from tests.core.brain.conftest import DAY, Night


@pytest.fixture
def copy(night: Night, tmp_path: Path) -> Night:
    """The night in a folder of its own (ledger and roster paths rewritten), so tests may alter it."""
    root = tmp_path / "home"
    shutil.copytree(night.root, root)
    for path in [*root.glob("runs/**/*.json"), *root.glob("champions/**/*.json")]:
        path.write_text(path.read_text().replace(str(night.root), str(root)))
    return Night(root, night.symbols)


def _count(url: str, table, **where) -> int:  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    with engine.connect() as conn:
        q = select(func.count()).select_from(table)
        for key, value in where.items():
            q = q.where(getattr(table, key) == value)
        n = conn.execute(q).scalar_one()
    engine.dispose()
    return int(n)


def test_a_coin_dropped_from_the_universe_leaves_the_night_on_rerun(copy: Night, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'b.sqlite'}"
    record_night(copy.settings(url), DAY)
    gone = copy.symbols[-1]
    assert _count(url, m.DailyMetric, symbol=gone) == 1 and _count(url, m.Model, symbol=gone) == 1
    path = copy.home.universe(DAY)
    universe = read_json(path)
    for row in universe["rows"]:
        if row["symbol"] == gone:
            row["selected"] = False
    write_json(path, universe)
    rows = record_night(copy.settings(url), DAY)["rows"]
    for table in m.COIN_TABLES:
        assert _count(url, table, symbol=gone, date=DAY) == 0, table.__tablename__
    assert rows["daily_metrics"] == len(copy.symbols) - 1
    features = _count(url, m.Feature)
    assert _count(url, m.Feature, symbol=gone) > 0  # features are point in time: bars stay once stored
    record_night(copy.settings(url), DAY)
    assert _count(url, m.Feature) == features  # nothing new to add


def test_trades_disagreeing_with_metrics_are_refused_by_name(copy: Night, tmp_path: Path) -> None:
    entry = RunLedger(copy.home, DAY).entries()[copy.symbols[0]]
    assert str(copy.root) in entry.output_path  # never alter the shared night
    metrics_path = Path(entry.output_path) / "metrics.json"
    metrics = read_json(metrics_path)
    write_json(metrics_path, {**metrics, "trades": metrics["trades"] + 1})
    url = f"sqlite:///{tmp_path / 'b.sqlite'}"
    open_brain(url).dispose()
    with pytest.raises(
        BrainRecordError, match=rf"{copy.symbols[0]} {DAY}: .* simulated trades but .*metrics.json"
    ):
        record_night(copy.settings(url), DAY)
    assert _count(url, m.TradeMemory) == 0  # nothing of the night was written


def test_feature_rows_read_back_as_stored_on_both_databases(copy: Night, brain_url: str) -> None:
    """The bulk load (COPY on PostgreSQL, raw executemany on SQLite) stores exactly the finite feature values
    of each bar, with timestamps and dates that read back through SQLAlchemy as the same values."""
    import math

    import polars as pl

    from huracan_core.features import default_recipe

    settings = copy.settings(brain_url)
    record_night(settings, DAY)
    symbol = copy.symbols[0]
    frame = pl.read_parquet(next(copy.root.glob(f"data/features/*/{symbol}.parquet")))
    columns = [c for c in default_recipe(settings.market.timeframe).model_columns if c in frame.columns]
    engine = make_engine(brain_url)
    with engine.connect() as conn:
        stored = conn.execute(
            select(m.Feature.timestamp, m.Feature.name, m.Feature.value, m.Feature.first_date).where(
                m.Feature.symbol == symbol
            )
        ).all()
    engine.dispose()
    expected = {
        (ts.replace(tzinfo=None), name): float(value)
        for row in frame.select("timestamp", *columns).iter_rows(named=True)
        for ts in [row["timestamp"]]
        for name, value in row.items()
        if name != "timestamp" and value is not None and math.isfinite(value)
    }
    assert len(stored) == len(expected) > 0
    assert {r.first_date for r in stored} == {DAY}
    for ts, name, value, _ in stored:
        assert value == pytest.approx(expected[(ts, name)], rel=1e-12, abs=1e-300), (ts, name)
