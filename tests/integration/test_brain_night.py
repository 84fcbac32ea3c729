"""A night of 5 synthetic coins through the stages into the Brain Library, on SQLite and on the real
PostgreSQL: every table filled, the same date again changes no row count, the exports agree with the
database, and a kill -9 during the brain write leaves the night whole or absent."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from huracan_core.atomic import read_json, sha256_file
from huracan_core.brain import models as m
from huracan_core.brain.db import make_engine, open_brain
from huracan_core.brain.exports import INDEX, SEED_EXPORTS, seed_file_names
from huracan_core.brain.record import record_night, row_counts
from huracan_core.stages import publish_stage
from tests.core.brain.conftest import DAY, Night, night_settings, postgres_database, run_night

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    root = tmp_path_factory.mktemp("brain_night")
    return Night(root, run_night(night_settings(root), DAY))


@pytest.fixture(params=["sqlite", "postgresql"])
def brain_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'brain.sqlite'}"
        return
    with postgres_database() as url:
        yield url


def _totals(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        out = {
            t.__tablename__: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in m.ALL_TABLES_ORM
        }
    engine.dispose()
    return out


def test_night_fills_every_table_and_the_same_date_again_changes_nothing(
    night: Night, brain_url: str
) -> None:
    settings = night.settings(brain_url)
    first = publish_stage(settings, DAY)
    counts = first["brain"]["rows"]
    assert all(n > 0 for n in counts.values()), counts
    totals = _totals(brain_url)
    assert totals == counts  # one night: everything in the database is that night's
    # trade_memory holds exactly each model's metrics.json trades (source oos_backtest), plus the portfolio's
    engine = make_engine(brain_url)
    with engine.connect() as conn:
        q = (
            select(m.TradeMemory.model_id, func.count())
            .where(m.TradeMemory.source == m.MODEL_SOURCE)
            .group_by(m.TradeMemory.model_id)
        )
        per_model = {model_id: n for model_id, n in conn.execute(q)}
        q = select(m.TradeMemory.source, func.count()).group_by(m.TradeMemory.source)
        per_source = {source: n for source, n in conn.execute(q)}
        models = {r.model_id: r.path for r in conn.execute(select(m.Model))}
        champions = conn.execute(select(func.count()).where(m.Model.is_champion)).scalar_one()
    engine.dispose()
    assert len(models) == 5 and champions >= 1
    for model_id, path in models.items():
        assert per_model.get(model_id, 0) == read_json(Path(path) / "metrics.json")["trades"], model_id
    assert set(per_source) == {m.MODEL_SOURCE, m.PORTFOLIO_SOURCE}, per_source
    recorded = first["trading"]["portfolio"]["recorded_trades"]
    assert per_source[m.PORTFOLIO_SOURCE] == first["brain"]["portfolio_trades"] == recorded > 0

    second = publish_stage(settings, DAY)
    assert second["brain"]["rows"] == counts
    assert _totals(brain_url) == totals


def test_exports_are_the_databases_rows(night: Night, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'brain.sqlite'}"
    out = publish_stage(night.settings(url), DAY)
    folder = night.home.exports_dir(DAY)
    names = {p.name for p in folder.iterdir()}
    assert set(seed_file_names(DAY, night.symbols)) <= names
    assert INDEX in names and len(SEED_EXPORTS) == 17 + 1  # 17 seed names, + the second backtest format
    index = read_json(folder / INDEX)
    assert {f["file"] for f in index["files"]} == names - {INDEX}
    for f in index["files"]:
        assert (
            f["sha256"] == sha256_file(folder / f["file"])
            and f["bytes"] == (folder / f["file"]).stat().st_size
        )
    rows = {f["file"]: f["rows"] for f in index["files"]}
    counts = out["brain"]["rows"]
    d = DAY.isoformat()
    csv = {
        n.removesuffix(f"_{d}.csv"): pl.read_csv(folder / n, infer_schema_length=0)
        for n in names
        if n.endswith(f"_{d}.csv")
    }
    for name, frame in csv.items():
        assert rows[f"{name}_{d}.csv"] == frame.height, name
    assert csv["trade_history"].height == csv["all_trades_complete"].height == counts["trade_memory"]
    assert csv["observability_trades"].height == counts["trade_memory"]
    assert csv["pattern_performance"].height == counts["pattern_library"]
    assert csv["post_exit_tracking"].height == counts["post_exit_tracking"]
    assert set(csv["regime_analysis"]["market_regime"]) == set(
        r for (r,) in _query(url, select(m.Regime.regime).where(m.Regime.date == DAY))
    )
    assert (
        csv["model_evolution"].height == csv["observability_model_deltas"].height == counts["model_evolution"]
    )
    assert csv["model_performance"].height == counts["model_performance"]
    assert csv["observability_models"].height == counts["models"]
    assert (
        csv["backtest_results"].height
        == counts["models"]
        == len(read_json(folder / f"backtest_results_{d}.json"))
    )
    win_loss = read_json(folder / f"win_loss_analysis_{d}.json")
    assert len(win_loss["wins"]) + len(win_loss["losses"]) == counts["win_analysis"] + counts["loss_analysis"]
    engine = make_engine(url)
    with engine.connect() as conn:
        net = conn.execute(select(func.sum(m.TradeMemory.net_bps))).scalar_one()
        model_trades, model_net = conn.execute(
            select(func.count(), func.sum(m.TradeMemory.net_bps)).where(
                m.TradeMemory.source == m.MODEL_SOURCE
            )
        ).one()
        survived = conn.execute(select(func.count()).where(m.PatternLibrary.survived)).scalar_one()
    engine.dispose()
    assert csv["pattern_library"].height == survived
    assert csv["trade_history"]["net_profit_bps"].cast(pl.Float64).sum() == pytest.approx(net, rel=1e-9)
    assert "net_profit_usdt" in csv["trade_history"].columns  # the default account: the quote
    metrics = read_json(folder / f"comprehensive_metrics_{d}.json")
    assert metrics["trades"] == model_trades and metrics["net_pnl_bps"] == pytest.approx(model_net, rel=1e-9)
    assert sum(s["trades"] for s in metrics["by_source"].values()) == counts["trade_memory"]
    assert metrics["by_source"]["portfolio"]["trades"] == out["brain"]["portfolio_trades"] > 0
    assert (
        set(csv["trade_history"]["source"])
        == set(csv["observability_trades"]["source"])
        == {
            m.MODEL_SOURCE,
            m.PORTFOLIO_SOURCE,
        }
    )
    learning = read_json(folder / f"learning_snapshot_{d}.json")
    assert learning == read_json(night.home.learning_dir() / f"{DAY:%Y%m%d}Z" / "learning_snapshot.json")
    assert sum(c["trades"] for c in learning["coins"].values()) == model_trades
    for s in night.symbols:
        art = read_json(folder / f"artifact_{s}_metadata_{d}.json")
        assert art["files"]["model.bin"] == sha256_file(Path(art["model"]["path"]) / "model.bin")


def _query(url: str, stmt):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(stmt).all()
    finally:
        engine.dispose()


def test_model_evolution_compares_with_the_previous_night(night: Night, tmp_path: Path) -> None:
    root = tmp_path / "home"
    shutil.copytree(night.root, root)
    url = f"sqlite:///{tmp_path / 'brain.sqlite'}"
    later = DAY + timedelta(days=1)
    settings = Night(root, night.symbols).settings(url)
    record_night(settings, DAY)
    run_night(settings, later)
    record_night(settings, later)
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(m.ModelEvolution).where(m.ModelEvolution.date == later)).all()
        first = {r.symbol: r for r in conn.execute(select(m.Model).where(m.Model.date == DAY))}
    engine.dispose()
    assert rows
    for r in rows:
        if r.symbol in first:
            assert r.previous_model_id == first[r.symbol].model_id and r.previous_date == DAY
            assert r.previous_sharpe is not None and r.model_id != r.previous_model_id


CHILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from sqlalchemy import event
    from huracan_core.brain.db import open_brain
    from huracan_core.brain.record import record_night
    from tests.core.brain.conftest import DAY, night_settings

    root, url, marker = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
    settings = night_settings(root, url)
    engine = open_brain(url)

    @event.listens_for(engine, "after_cursor_execute")
    def pause(conn, cursor, statement, params, context, executemany):
        if statement.startswith("INSERT INTO trade_memory"):
            marker.write_text("in the write")
            time.sleep(120)

    record_night(settings, DAY, engine)
""")


def _kill_during_write(root: Path, url: str, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    marker.unlink(missing_ok=True)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(root), url, str(marker)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 90
    while not marker.exists():
        assert proc.poll() is None, proc.stderr.read().decode()[-3000:] if proc.stderr else ""
        assert time.monotonic() < deadline, "the child never reached the brain write"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_kill_9_during_the_brain_write_leaves_the_night_absent_or_whole(
    night: Night, brain_url: str, tmp_path: Path
) -> None:
    open_brain(brain_url).dispose()
    _kill_during_write(night.root, brain_url, tmp_path)  # first write killed: the night is absent
    assert _totals(brain_url) == dict.fromkeys(_totals(brain_url), 0)
    whole = record_night(night.settings(brain_url), DAY)["rows"]
    assert all(whole.values())
    _kill_during_write(night.root, brain_url, tmp_path)  # a rewrite killed: the earlier night stays whole
    engine = make_engine(brain_url)
    assert row_counts(engine, DAY) == whole
    engine.dispose()
    assert record_night(night.settings(brain_url), DAY)["rows"] == whole
