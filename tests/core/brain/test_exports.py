"""The seed's exports to the letter, each compared with the Brain Library it was read from.

Two synthetic nights (DAY and the day after) are published into one brain with the account in GBP (the
seed's), so the money columns are `net_profit_gbp` / `fees_gbp` converted at the synthetic GBP-USDT rate,
and `all_trades_complete` must hold both nights."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, insert, select

from huracan_core.atomic import read_json, sha256_file
from huracan_core.brain import models as m
from huracan_core.brain.db import make_engine
from huracan_core.brain.exports import INDEX, seed_file_names, trade_columns
from huracan_core.config import Settings
from huracan_core.stages import publish_stage
from tests.core.brain.conftest import DAY, Night, run_night

LATER = DAY + timedelta(days=1)
SEED_TRADE_HEAD = (
    "trade_id",
    "symbol",
    "entry_timestamp",
    "exit_timestamp",
    "entry_price",
    "exit_price",
    "direction",
    "position_size",
    "hold_duration_minutes",
    "gross_profit_bps",
    "net_profit_bps",
    "net_profit_gbp",
    "fees_gbp",
    "fees_bps",
    "slippage_bps",
    "market_regime",
    "is_winner",
    "model_version",
)


@dataclass
class Published:
    home: Path
    url: str
    settings: Settings
    symbols: list[str]

    def folder(self, day=LATER) -> Path:  # type: ignore[no-untyped-def]
        return self.home / "exports" / day.isoformat()

    def csv(self, name: str, day=LATER) -> pl.DataFrame:  # type: ignore[no-untyped-def]
        return pl.read_csv(self.folder(day) / f"{name}_{day.isoformat()}.csv", infer_schema_length=None)

    def json(self, name: str, day=LATER):  # type: ignore[no-untyped-def]
        return read_json(self.folder(day) / f"{name}_{day.isoformat()}.json")

    def query(self, stmt):  # type: ignore[no-untyped-def]
        engine = make_engine(self.url)
        try:
            with engine.connect() as conn:
                return conn.execute(stmt).all()
        finally:
            engine.dispose()

    def count(self, table, *where) -> int:  # type: ignore[no-untyped-def]
        return int(self.query(select(func.count()).select_from(table).where(*where))[0][0])


@pytest.fixture(scope="module")
def published(night: Night, tmp_path_factory: pytest.TempPathFactory) -> Published:
    root = tmp_path_factory.mktemp("exports") / "home"
    shutil.copytree(night.root, root)
    for path in [*root.glob("runs/**/*.json"), *root.glob("champions/**/*.json")]:
        path.write_text(path.read_text().replace(str(night.root), str(root)))
    url = f"sqlite:///{root.parent / 'brain.sqlite'}"
    settings = Night(root, night.symbols).settings(url)
    settings.market.account_currency = "GBP"
    publish_stage(settings, DAY)
    symbols = run_night(settings, LATER)
    engine = make_engine(url)
    with engine.begin() as conn:  # one decision of the bot about a bar of the later day
        conn.execute(
            insert(m.BotDecision.__table__),
            [
                {
                    "decided_at": datetime(2026, 4, 22, 0, 0, 5),
                    "as_of": datetime(2026, 4, 22),
                    "bar_time": datetime(2026, 4, 21, 23),
                    "symbol": symbols[0],
                    "model_id": "m1",
                    "direction": "long",
                    "signal": "long",
                    "action": "open",
                    "confidence": 0.7,
                    "score": 1.5,
                    "score_threshold": 1.0,
                    "expected_edge_bps": 30.0,
                    "round_trip_bps": 20.0,
                    "safety_margin_bps": 0.0,
                    "edge_margin_bps": 10.0,
                    "notional": 100.0,
                    "risk": 0.01,
                    "bound_by": "risk",
                    "equity": 1000.0,
                    "kill_switch": False,
                    "reasons": ["edge clears the round trip"],
                    "detail": {},
                }
            ],
        )
    engine.dispose()
    publish_stage(settings, LATER)
    return Published(root, url, settings, symbols)


def _models(p: Published, day=LATER) -> list[str]:  # type: ignore[no-untyped-def]
    return [s for (s,) in p.query(select(m.Model.symbol).where(m.Model.date == day))]


def test_the_export_folder_holds_every_seed_file_name_with_its_date(published: Published) -> None:
    for day in (DAY, LATER):
        folder = published.folder(day)
        names = {p.name for p in folder.iterdir()}
        wanted = seed_file_names(day, _models(published, day))
        assert len(_models(published, day)) == 5 and len(wanted) == 17 + 5
        assert set(wanted) <= names, sorted(set(wanted) - names)
        assert {"win_loss_analysis_" + day.isoformat() + ".json", f"decisions_{day}.csv"} <= names
        assert all(day.isoformat() in n for n in wanted)  # a file copied out keeps its night
        assert not {n for n in names if n.startswith("trade_history") and n != f"trade_history_{day}.csv"}
        index = read_json(folder / INDEX)
        assert {f["file"] for f in index["files"]} == names - {INDEX} and index["date"] == day.isoformat()
        for f in index["files"]:
            assert f["sha256"] == sha256_file(folder / f["file"])
            assert f["bytes"] == (folder / f["file"]).stat().st_size
            if f["file"].endswith(".csv"):
                assert f["rows"] == pl.read_csv(folder / f["file"], infer_schema_length=0).height, f


def test_trade_history_has_the_seeds_columns_first_and_the_brains_values(published: Published) -> None:
    frame = published.csv("trade_history")
    assert tuple(frame.columns) == trade_columns("GBP")
    assert tuple(frame.columns[: len(SEED_TRADE_HEAD)]) == SEED_TRADE_HEAD
    assert frame.height == published.count(m.TradeMemory, m.TradeMemory.date == LATER) > 50
    rows = {
        r.trade_id: r
        for r in published.query(select(m.TradeMemory.__table__).where(m.TradeMemory.date == LATER))
    }
    assert set(frame["trade_id"]) == set(rows)
    for r in frame.sort("trade_id").gather_every(max(1, frame.height // 7)).iter_rows(named=True):
        db = rows[r["trade_id"]]
        assert r["entry_timestamp"] == db.entry_time.isoformat() and r["direction"] == db.side
        assert r["position_size"] == pytest.approx(db.size) and r["gross_profit_bps"] == pytest.approx(
            db.gross_bps
        )
        assert r["market_regime"] == db.regime and db.currency == r["currency"] == "GBP"
        assert r["net_profit_gbp"] == pytest.approx(db.net_pnl)
        assert r["fees_gbp"] == pytest.approx(db.size * db.fees_bps / 1e4)
        assert r["hold_duration_minutes"] == pytest.approx(
            (db.exit_time - db.entry_time).total_seconds() / 60
        )
    assert set(frame["source"]) == {m.MODEL_SOURCE, m.PORTFOLIO_SOURCE}  # the portfolio's, converted too
    assert published.csv("observability_trades").height == frame.height


def test_all_trades_complete_is_the_whole_history_of_the_brain(published: Published) -> None:
    later = published.csv("all_trades_complete")
    assert later.height == published.count(m.TradeMemory, m.TradeMemory.date <= LATER)
    assert later.height > published.count(m.TradeMemory, m.TradeMemory.date == LATER)
    assert set(later["date"]) == {DAY.isoformat(), LATER.isoformat()}
    assert tuple(later.columns[: len(SEED_TRADE_HEAD)]) == SEED_TRADE_HEAD
    features = [c for c in later.columns if c.startswith("feature_")]
    assert (
        features and later.filter(pl.col("source") == m.MODEL_SOURCE)[features[0]].null_count() < later.height
    )
    (net,) = published.query(select(func.sum(m.TradeMemory.net_pnl)))[0]
    assert later["net_profit_gbp"].sum() == pytest.approx(net, rel=1e-9)
    # the earlier night's export tells only of what was known then
    assert published.csv("all_trades_complete", DAY).height == published.count(
        m.TradeMemory, m.TradeMemory.date == DAY
    )


def test_model_performance_and_backtest_results_carry_total_return(published: Published) -> None:
    perf = published.csv("model_performance")
    assert perf.height == published.count(m.ModelPerformance, m.ModelPerformance.date == LATER)
    assert perf.columns[:5] == ["model_id", "symbol", "date", "scope", "total_return"]
    oos = perf.filter(pl.col("scope") == "oos")
    paths = dict(published.query(select(m.Model.model_id, m.Model.path).where(m.Model.date == LATER)))
    for r in oos.iter_rows(named=True):
        metrics = read_json(Path(paths[r["model_id"]]) / "metrics.json")
        assert r["total_return"] == pytest.approx(metrics["net_pnl_pct"] / 100, rel=1e-12)
    backtest = published.csv("backtest_results")
    assert backtest.height == oos.height == len(published.json("backtest_results")) == 5
    assert backtest.sort("model_id")["total_return"].to_list() == pytest.approx(
        oos.sort("model_id")["total_return"].to_list()
    )


def test_win_loss_analysis_is_json_with_the_brains_rows(published: Published) -> None:
    data = published.json("win_loss_analysis")
    assert len(data["wins"]) == published.count(m.WinAnalysis, m.WinAnalysis.date == LATER) > 0
    assert len(data["losses"]) == published.count(m.LossAnalysis, m.LossAnalysis.date == LATER) > 0
    model = (m.TradeMemory.date == LATER, m.TradeMemory.source == m.MODEL_SOURCE)
    assert data["summary"]["trades"] == published.count(m.TradeMemory, *model)
    assert data["summary"]["wins"] == published.count(m.TradeMemory, *model, m.TradeMemory.is_winner)
    assert data["summary"]["losses"] == len(data["losses"])  # every losing model trade has its cause


def test_regime_analysis_is_aggregated_by_regime(published: Published) -> None:
    frame = published.csv("regime_analysis")
    assert frame.columns[:9] == [
        "market_regime",
        "total_trades",
        "wins",
        "losses",
        "win_rate",
        "avg_profit_bps",
        "total_profit_bps",
        "avg_profit_gbp",
        "total_profit_gbp",
    ]
    regimes = {r for (r,) in published.query(select(m.Regime.regime).where(m.Regime.date == LATER))}
    assert sorted(frame["market_regime"]) == sorted(regimes) and frame.height >= 2
    for r in frame.iter_rows(named=True):  # against the night's model trades entered in that regime
        ((n, won, bps, money),) = published.query(
            select(
                func.count(),
                func.count().filter(m.TradeMemory.is_winner),
                func.sum(m.TradeMemory.net_bps),
                func.sum(m.TradeMemory.net_pnl),
            ).where(
                m.TradeMemory.date == LATER,
                m.TradeMemory.source == m.MODEL_SOURCE,
                m.TradeMemory.regime == r["market_regime"],
            )
        )
        assert (r["total_trades"], r["wins"], r["losses"]) == (n, won or 0, n - (won or 0))
        assert r["total_profit_bps"] == pytest.approx(bps or 0.0, abs=1e-6)
        assert r["total_profit_gbp"] == pytest.approx(money or 0.0, abs=1e-9)
        if n:
            assert r["avg_profit_bps"] == pytest.approx(bps / n)


def test_patterns_post_exit_and_evolution_match_their_tables(published: Published) -> None:
    where = m.PatternLibrary.date == LATER
    assert published.csv("pattern_performance").height == published.count(m.PatternLibrary, where) > 0
    library = pl.read_csv(published.folder() / f"pattern_library_{LATER}.csv", infer_schema_length=0)
    assert library.height == published.count(m.PatternLibrary, where, m.PatternLibrary.survived)
    post = published.csv("post_exit_tracking")
    assert post.height == published.count(m.PostExitTracking, m.PostExitTracking.date == LATER) > 0
    verdicts = dict(
        published.query(
            select(m.PostExitTracking.verdict, func.count())
            .where(m.PostExitTracking.date == LATER)
            .group_by(m.PostExitTracking.verdict)
        )
    )
    assert dict(post.group_by("verdict").len().iter_rows()) == verdicts
    evolution = published.csv("model_evolution")
    assert evolution.height == published.count(m.ModelEvolution, m.ModelEvolution.date == LATER) == 5
    earlier = dict(published.query(select(m.Model.symbol, m.Model.model_id).where(m.Model.date == DAY)))
    for r in evolution.iter_rows(named=True):
        assert r["previous_model_id"] == earlier[r["symbol"]]
    assert published.csv("observability_model_deltas").height == 5
    assert published.csv("observability_models").height == published.count(m.Model, m.Model.date == LATER)


def test_learning_snapshot_artifacts_metrics_and_decisions(published: Published) -> None:
    learning = published.json("learning_snapshot")
    assert learning == read_json(
        published.home / "logs" / "learning" / f"{LATER:%Y%m%d}Z" / "learning_snapshot.json"
    )
    for symbol, path in published.query(select(m.Model.symbol, m.Model.path).where(m.Model.date == LATER)):
        art = read_json(published.folder() / f"artifact_{symbol}_metadata_{LATER}.json")
        assert art["files"]["model.bin"] == sha256_file(Path(path) / "model.bin")
        assert art["model"]["path"] == path
    metrics = published.json("comprehensive_metrics")
    model = (m.TradeMemory.date == LATER, m.TradeMemory.source == m.MODEL_SOURCE)
    assert metrics["currency"] == "GBP" and metrics["trades"] == published.count(m.TradeMemory, *model)
    decisions = published.csv("decisions")
    assert decisions.height == 1 and decisions["action"].to_list() == ["open"]
    assert published.csv("decisions", DAY).height == 0
