"""The portfolio simulator's trades (the consensus under the risk rules, all coins on one equity) in the
Brain Library's trade_memory, written in the night's one transaction: next to each model's own OOS trades
(whose counts still equal metrics.json), replaced on a rerun, never duplicated, and all or nothing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from huracan_core.atomic import read_json
from huracan_core.brain import models as m
from huracan_core.brain.db import make_engine, open_brain
from huracan_core.brain.record import BrainRecordError, record_night, row_counts
from huracan_core.trading.comparison import night_comparison
from tests.core.brain.conftest import DAY, Night


def _trades(url: str) -> dict[str, dict[str, float]]:
    """trade_id -> (source, model_id, net_pnl) of the night."""
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(m.TradeMemory).where(m.TradeMemory.date == DAY)).all()
    engine.dispose()
    return {r.trade_id: {"source": r.source, "model_id": r.model_id, "net_pnl": r.net_pnl} for r in rows}


def test_portfolio_trades_are_recorded_replaced_and_never_duplicated(night: Night, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'brain.sqlite'}"
    settings = night.settings(url)
    comparison = night_comparison(settings, DAY)
    records = comparison.portfolio_trades
    assert records and {r.source for r in records} == {"portfolio"}
    assert comparison.table["portfolio"]["recorded_trades"] == len(records)
    assert comparison.table["portfolio"]["consensus"]["trades"] == len(records)
    engine = open_brain(url)
    out = record_night(settings, DAY, engine, records)
    assert out["portfolio_trades"] == len(records)
    stored = _trades(url)
    portfolio = {k: v for k, v in stored.items() if v["source"] == "portfolio"}
    assert set(portfolio) == {r.trade_id for r in records}
    assert sum(v["net_pnl"] for v in portfolio.values()) == pytest.approx(sum(r.net_pnl for r in records))
    # each model's own trades are still exactly its metrics.json trades
    with engine.connect() as conn:
        models = {r.model_id: r.path for r in conn.execute(select(m.Model))}
    for model_id, path in models.items():
        own = sum(1 for v in stored.values() if v["model_id"] == model_id and v["source"] == "oos_backtest")
        assert own == read_json(Path(path) / "metrics.json")["trades"], model_id
    # a coin's portfolio trades carry tonight's model of that coin
    assert {v["model_id"] for v in portfolio.values()} <= set(models) | {
        f"consensus:{s}" for s in night.symbols
    }

    counts = row_counts(engine, DAY)
    record_night(settings, DAY, engine, records)  # the same night again: nothing doubles
    assert row_counts(engine, DAY) == counts and _trades(url) == stored

    half = records[: len(records) // 2]
    record_night(settings, DAY, engine, half)  # a rerun with other portfolio trades replaces the earlier
    again = _trades(url)
    assert {k for k, v in again.items() if v["source"] == "portfolio"} == {r.trade_id for r in half}
    assert {k: v for k, v in again.items() if v["source"] != "portfolio"} == {
        k: v for k, v in stored.items() if v["source"] != "portfolio"
    }
    engine.dispose()


def test_the_portfolio_write_is_part_of_the_nights_one_transaction(night: Night, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'brain.sqlite'}"
    settings = night.settings(url)
    records = night_comparison(settings, DAY).portfolio_trades
    engine = open_brain(url)
    record_night(settings, DAY, engine, records)
    before, counts = _trades(url), row_counts(engine, DAY)
    with pytest.raises(IntegrityError):  # a duplicate trade id fails inside the write, after the deletes
        record_night(settings, DAY, engine, [*records, records[0]])
    assert _trades(url) == before and row_counts(engine, DAY) == counts  # the earlier night stands whole
    wrong = dataclasses.replace(records[0], source="oos_backtest")
    with pytest.raises(BrainRecordError, match=records[0].trade_id):
        record_night(settings, DAY, engine, [wrong])
    assert _trades(url) == before
    engine.dispose()


def test_publish_stage_records_the_comparisons_portfolio_trades(night: Night, tmp_path: Path) -> None:
    from huracan_core.stages import publish_stage

    url = f"sqlite:///{tmp_path / 'brain.sqlite'}"
    out = publish_stage(night.settings(url), DAY)
    n = out["trading"]["portfolio"]["recorded_trades"]
    assert n > 0 and out["brain"]["portfolio_trades"] == n
    engine = make_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(
            select(func.count()).where(m.TradeMemory.date == DAY, m.TradeMemory.source == "portfolio")
        ).scalar_one()
    engine.dispose()
    assert stored == n
    metrics = read_json(night.home.exports_dir(DAY) / f"comprehensive_metrics_{DAY.isoformat()}.json")
    assert metrics["by_source"]["portfolio"]["trades"] == n
    assert metrics["trades"] == metrics["by_source"]["oos_backtest"]["trades"]
