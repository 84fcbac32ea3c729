"""The seed's Brain Library exports of one night, read back from the database (never recomputed), so each file
is exactly what the brain holds for that date. `huracan_core.exports.export_day` calls these and then
writes `performance_summary.json`, the index of every file in the folder (rows, bytes, sha256).
"""

from __future__ import annotations

import io
import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, select

from huracan_core.atomic import read_json, read_manifest, sha256_file, write_bytes, write_json
from huracan_core.brain import models as m
from huracan_core.paths import EngineHome, day_tag

# the seed's file names, in the order the index lists them (the three copies of the hand-off come first)
BRAIN_EXPORTS = (
    "trade_history.csv",
    "all_trades_complete.csv",
    "model_performance.csv",
    "win_loss_analysis.csv",
    "pattern_library.csv",
    "pattern_performance.csv",
    "post_exit_tracking.csv",
    "regime_analysis.csv",
    "model_evolution.csv",
    "observability_trades.csv",
    "observability_models.csv",
    "observability_model_deltas.csv",
    "learning_snapshot.json",
    "backtest_results.csv",
    "backtest_results.json",
    "artifact_{symbol}_metadata.json",
    "comprehensive_metrics.json",
)
INDEX = "performance_summary.json"
TRADE_COLUMNS = (
    "trade_id",
    "date",
    "symbol",
    "model_id",
    "model_version",
    "source",
    "side",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "bars_held",
    "size",
    "quantity",
    "gross_bps",
    "fees_bps",
    "spread_bps",
    "slippage_bps",
    "funding_bps",
    "net_bps",
    "net_pnl",
    "currency",
    "regime",
    "volatility",
    "is_winner",
    "fold",
)


def _value(v: Any) -> Any:
    if isinstance(v, dict | list):
        return json.dumps(v, sort_keys=True)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def table_rows(engine: Engine, table: Any, day: date, *where: Any) -> list[dict[str, Any]]:
    """Rows of `table` for night `day` as plain dicts (ORM column order), in primary-key order."""
    cols = [c.name for c in table.__table__.columns]
    pk = [c for c in table.__table__.primary_key.columns]
    with engine.connect() as conn:
        result = conn.execute(select(table.__table__).where(table.date == day, *where).order_by(*pk))
        return [dict(zip(cols, row, strict=True)) for row in result]


def _frame(rows: list[dict[str, Any]], columns: list[str] | tuple[str, ...] | None = None) -> pl.DataFrame:
    if not rows:
        return pl.DataFrame(schema=dict.fromkeys(columns or [], pl.Utf8))
    keys = list(columns) if columns else list(rows[0])
    return pl.DataFrame([{k: _value(r.get(k)) for k in keys} for r in rows], infer_schema_length=None)


def _csv(path: Path, frame: pl.DataFrame) -> tuple[Path, int]:
    buf = io.BytesIO()
    frame.write_csv(buf)
    return write_bytes(path, buf.getvalue()), frame.height


def write_brain_exports(engine: Engine, home: EngineHome, day: date, out: Path) -> dict[str, int]:
    """Write the night's Brain Library exports into `out`; returns {file name: rows}."""
    rows: dict[str, int] = {}

    def csv(name: str, frame: pl.DataFrame) -> None:
        rows[name] = _csv(out / name, frame)[1]

    def js(name: str, payload: Any, n: int) -> None:
        write_json(out / name, payload)
        rows[name] = n

    trades = table_rows(engine, m.TradeMemory, day)
    csv("trade_history.csv", _frame(trades, TRADE_COLUMNS))
    flat = [
        {**{k: t[k] for k in TRADE_COLUMNS}, **{f"feature_{k}": v for k, v in (t["features"] or {}).items()}}
        for t in trades
    ]
    csv("all_trades_complete.csv", _frame(flat))
    perf = table_rows(engine, m.ModelPerformance, day)
    csv("model_performance.csv", _frame(perf))
    wins = [{"table": "win_analysis", **r} for r in table_rows(engine, m.WinAnalysis, day)]
    losses = [{"table": "loss_analysis", **r} for r in table_rows(engine, m.LossAnalysis, day)]
    csv(
        "win_loss_analysis.csv",
        pl.concat([_frame(wins), _frame(losses)], how="diagonal_relaxed")
        if wins or losses
        else _frame([], ["table"]),
    )
    patterns = table_rows(engine, m.PatternLibrary, day)
    csv(
        "pattern_library.csv",
        _frame([p for p in patterns if p["survived"]], [c.name for c in m.PatternLibrary.__table__.columns]),
    )
    csv("pattern_performance.csv", _frame(patterns, [c.name for c in m.PatternLibrary.__table__.columns]))
    csv("post_exit_tracking.csv", _frame(table_rows(engine, m.PostExitTracking, day)))
    csv("regime_analysis.csv", _frame(table_rows(engine, m.Regime, day)))
    evolution = table_rows(engine, m.ModelEvolution, day)
    csv("model_evolution.csv", _frame(evolution))
    csv(
        "observability_trades.csv",
        _frame(
            trades,
            (
                "trade_id",
                "symbol",
                "model_id",
                "source",
                "side",
                "entry_time",
                "exit_time",
                "net_bps",
                "net_pnl",
                "is_winner",
            ),
        ),
    )
    models = table_rows(engine, m.Model, day)
    csv("observability_models.csv", _frame(models))
    deltas = [
        {
            "symbol": e["symbol"],
            "model_id": e["model_id"],
            "previous_model_id": e["previous_model_id"],
            "delta_sharpe": (e["sharpe"] - e["previous_sharpe"])
            if e["sharpe"] is not None and e["previous_sharpe"] is not None
            else None,
            "delta_net_pnl_bps": (e["net_pnl_bps"] - e["previous_net_pnl_bps"])
            if e["net_pnl_bps"] is not None and e["previous_net_pnl_bps"] is not None
            else None,
            "delta_trades": (e["trades"] - e["previous_trades"])
            if e["previous_trades"] is not None
            else None,
            "params_changed": e["params_changed"],
        }
        for e in evolution
    ]
    csv(
        "observability_model_deltas.csv",
        _frame(
            deltas,
            (
                "symbol",
                "model_id",
                "previous_model_id",
                "delta_sharpe",
                "delta_net_pnl_bps",
                "delta_trades",
                "params_changed",
            ),
        ),
    )
    snapshot = home.learning_dir() / day_tag(day) / "learning_snapshot.json"
    learning = read_json(snapshot) if snapshot.is_file() else {"date": day.isoformat(), "coins": {}}
    js("learning_snapshot.json", learning, len(learning.get("coins", {})))
    oos = [p for p in perf if p["scope"] == "oos"]
    csv(
        "backtest_results.csv",
        _frame(oos, [c.name for c in m.ModelPerformance.__table__.columns if c.name != "metrics"]),
    )
    js(
        "backtest_results.json",
        [{k: _value(v) if not isinstance(v, dict) else v for k, v in p.items()} for p in oos],
        len(oos),
    )
    for model in models:
        folder = Path(model["path"])
        meta = read_json(folder / "metadata.json") if (folder / "metadata.json").is_file() else None
        manifest = read_manifest(folder) if (folder / "sha256.txt").is_file() else {}
        js(
            f"artifact_{model['symbol']}_metadata.json",
            {
                "model": {k: _value(v) if not isinstance(v, dict) else v for k, v in model.items()},
                "metadata": meta,
                "files": manifest,
            },
            1,
        )
    daily = table_rows(engine, m.DailyMetric, day)
    sources = sorted({t["source"] for t in trades})
    js(
        "comprehensive_metrics.json",
        {
            "date": day.isoformat(),
            "coins": len(daily),
            "models": len(models),
            "champions": sum(bool(d["is_champion"]) for d in daily),
            # the headline numbers are the models' own OOS trades; the portfolio simulator's trades (the
            # consensus under the risk rules, one equity) are another account and are counted apart
            **_trade_totals([t for t in trades if t["source"] != m.PORTFOLIO_SOURCE]),
            "by_source": {s: _trade_totals([t for t in trades if t["source"] == s]) for s in sources},
            "patterns_tested": len(patterns),
            "patterns_survived": sum(bool(p["survived"]) for p in patterns),
            "by_symbol": [{k: _value(v) for k, v in d.items()} for d in daily],
        },
        len(daily),
    )
    return rows


def _trade_totals(trades: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(trades)
    wins = sum(bool(t["is_winner"]) for t in trades)
    return {
        "trades": n,
        "winners": wins,
        "win_rate": wins / n if n else None,
        "net_pnl_bps": sum(t["net_bps"] for t in trades),
        "net_pnl": sum(t["net_pnl"] for t in trades),
        "cost_bps": sum(
            t["fees_bps"] + t["spread_bps"] + t["slippage_bps"] + t["funding_bps"] for t in trades
        ),
    }


def _rows_of(path: Path) -> int:
    """Rows of a file written by someone else: CSV data lines, a JSON list's length, else one document."""
    if path.suffix == ".csv":
        if not path.read_bytes().strip():  # nothing to list (every coin failed): polars wrote no header
            return 0
        return pl.read_csv(path, infer_schema_length=0).height
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return 0
    return len(data) if isinstance(data, list) else 1


def write_index(out: Path, day: date, rows: dict[str, int]) -> dict[str, Any]:
    """`performance_summary.json`: every other file of the folder with rows, bytes and sha256."""
    files = []
    for path in sorted(
        p for p in out.iterdir() if p.is_file() and p.name != INDEX and not p.name.startswith(".")
    ):
        files.append(
            {
                "file": path.name,
                "rows": rows.get(path.name, _rows_of(path)),
                "bytes": path.stat().st_size,
                "sha256": sha256_file(path),
            }
        )
    index = {"date": day.isoformat(), "files": files, "n_files": len(files) + 1}
    write_json(out / INDEX, index)
    return index
