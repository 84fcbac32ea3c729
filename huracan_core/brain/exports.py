"""The seed's Brain Library exports of one night, read back from the database (never recomputed), so each file
is exactly what the brain holds for that date. `huracan_core.exports.export_day` calls these and then
writes `performance_summary.json`, the index of every file in the folder (rows, bytes, sha256).

Names and columns are the seed's: every file carries its date (`trade_history_{YYYY-MM-DD}.csv`), so a file
copied out of its folder still says which night it tells of; the seed's columns come first, in its names
(`entry_timestamp`, `direction`, `position_size`, `gross_profit_bps`, `market_regime`, `net_profit_{ccy}`,
`fees_{ccy}` with the account currency's code in lower case, e.g. `net_profit_gbp`), and the engine's
extra columns follow them. `all_trades_complete` is the complete trade history of the brain up to and
including the night (every earlier night too), `regime_analysis` is aggregated by market regime over the
night's coins, `win_loss_analysis` is JSON.

Money: `net_profit_{ccy}` is the recorded `net_pnl` (the trade records are converted to the account
currency as they are built, `huracan_core.trades`); `fees_{ccy}` is the position's notional times its fee
share (`position_size × fees_bps / 1e4`). A row recorded in another currency (an earlier night under another
`market.account_currency`) leaves both empty and keeps its own money in `net_pnl` / `currency`.
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

# the seed's file names, in the order they are written ({date} is the night's YYYY-MM-DD)
SEED_EXPORTS = (
    "trade_history_{date}.csv",
    "all_trades_complete_{date}.csv",
    "model_performance_{date}.csv",
    "win_loss_analysis_{date}.json",
    "pattern_library_{date}.csv",
    "pattern_performance_{date}.csv",
    "post_exit_tracking_{date}.csv",
    "regime_analysis_{date}.csv",
    "model_evolution_{date}.csv",
    "observability_trades_{date}.csv",
    "observability_models_{date}.csv",
    "observability_model_deltas_{date}.csv",
    "learning_snapshot_{date}.json",
    "backtest_results_{date}.csv",
    "backtest_results_{date}.json",
    "artifact_{symbol}_metadata_{date}.json",
    "comprehensive_metrics_{date}.json",
    "decisions_{date}.csv",  # the bot's decisions about the day's bars (trading/decision_store.py)
)
BRAIN_EXPORTS = SEED_EXPORTS  # the name earlier callers import
INDEX = "performance_summary.json"
DEFAULT_CURRENCY = "USDT"  # the default quote, for a brain that holds no trade to tell its currency


def seed_file_names(day: date, symbols: list[str]) -> list[str]:
    """Every seed file name of night `day` (one artifact file per coin with a model)."""
    out = []
    for name in SEED_EXPORTS:
        if "{symbol}" in name:
            out += [name.format(symbol=s, date=day.isoformat()) for s in symbols]
        else:
            out.append(name.format(date=day.isoformat()))
    return out


def _name(template: str, day: date, **kw: str) -> str:
    return template.format(date=day.isoformat(), **kw)


def trade_columns(currency: str) -> tuple[str, ...]:
    """trade_history's columns: the seed's first, then the engine's extras."""
    c = currency.lower()
    return (
        # the seed's
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
        f"net_profit_{c}",
        f"fees_{c}",
        "fees_bps",
        "slippage_bps",
        "market_regime",
        "is_winner",
        "model_version",
        # the engine's
        "date",
        "model_id",
        "source",
        "bars_held",
        "quantity",
        "spread_bps",
        "funding_bps",
        "volatility",
        "net_pnl",
        "currency",
        "fold",
    )


def seed_trade(t: dict[str, Any], currency: str) -> dict[str, Any]:
    """A trade_memory row under the seed's names (see module doc for the money columns)."""
    c = currency.lower()
    same = str(t["currency"]).upper() == currency.upper()
    return {
        "trade_id": t["trade_id"],
        "symbol": t["symbol"],
        "entry_timestamp": t["entry_time"],
        "exit_timestamp": t["exit_time"],
        "entry_price": t["entry_price"],
        "exit_price": t["exit_price"],
        "direction": t["side"],
        "position_size": t["size"],
        "hold_duration_minutes": (t["exit_time"] - t["entry_time"]).total_seconds() / 60.0,
        "gross_profit_bps": t["gross_bps"],
        "net_profit_bps": t["net_bps"],
        f"net_profit_{c}": t["net_pnl"] if same else None,
        f"fees_{c}": t["size"] * t["fees_bps"] / 1e4 if same else None,
        "fees_bps": t["fees_bps"],
        "slippage_bps": t["slippage_bps"],
        "market_regime": t["regime"],
        "is_winner": t["is_winner"],
        "model_version": t["model_version"],
        "date": t["date"],
        "model_id": t["model_id"],
        "source": t["source"],
        "bars_held": t["bars_held"],
        "quantity": t["quantity"],
        "spread_bps": t["spread_bps"],
        "funding_bps": t["funding_bps"],
        "volatility": t["volatility"],
        "net_pnl": t["net_pnl"],
        "currency": t["currency"],
        "fold": t["fold"],
    }


OBSERVABILITY_TRADE_COLUMNS = (
    "trade_id",
    "symbol",
    "model_id",
    "source",
    "direction",
    "entry_timestamp",
    "exit_timestamp",
    "net_profit_bps",
    "net_pnl",
    "currency",
    "is_winner",
)
REGIME_COLUMNS = (
    "market_regime",
    "total_trades",
    "wins",
    "losses",
    "win_rate",
    "avg_profit_bps",
    "total_profit_bps",
    "avg_profit_{c}",
    "total_profit_{c}",
    "coins",
    "avg_bar_share",
)


def _value(v: Any) -> Any:
    if isinstance(v, dict | list):
        return json.dumps(v, sort_keys=True)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _plain(v: Any) -> Any:
    """JSON-safe, keeping dicts and lists as they are."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return _value(v)


def table_rows(engine: Engine, table: Any, day: date, *where: Any) -> list[dict[str, Any]]:
    """Rows of `table` for night `day` as plain dicts (ORM column order), in primary-key order."""
    return _rows(engine, table, table.date == day, *where)


def _rows(engine: Engine, table: Any, *where: Any) -> list[dict[str, Any]]:
    cols = [c.name for c in table.__table__.columns]
    pk = [c for c in table.__table__.primary_key.columns]
    order = [table.date, *pk] if hasattr(table, "date") else pk
    with engine.connect() as conn:
        result = conn.execute(select(table.__table__).where(*where).order_by(*order))
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


def night_currency(engine: Engine, day: date) -> str:
    """The account currency the night's trades were recorded in; for a night without trades, that of the
    brain's latest trade, else the default quote. Pass the configured one where it is known."""
    with engine.connect() as conn:
        for query in (
            select(m.TradeMemory.currency).where(m.TradeMemory.date == day).limit(1),
            select(m.TradeMemory.currency)
            .where(m.TradeMemory.date <= day)
            .order_by(m.TradeMemory.date.desc())
            .limit(1),
        ):
            found = conn.execute(query).scalar()
            if found:
                return str(found).upper()
    return DEFAULT_CURRENCY


def regime_analysis(regimes: list[dict[str, Any]], currency: str) -> list[dict[str, Any]]:
    """The night's `regimes` rows (one per coin and regime) aggregated by market regime: trades, wins and
    losses (each coin's win rate × trades), the trade-weighted average and the total net bps and money."""
    c = currency.lower()
    out = []
    for regime in sorted({r["regime"] for r in regimes}):
        rows = [r for r in regimes if r["regime"] == regime]
        trades = sum(int(r["trades"]) for r in rows)
        wins = sum(round((r["win_rate"] or 0.0) * int(r["trades"])) for r in rows)
        total_bps = sum((r["avg_net_bps"] or 0.0) * int(r["trades"]) for r in rows)
        money = sum(float(r["net_pnl"] or 0.0) for r in rows)
        out.append(
            {
                "market_regime": regime,
                "total_trades": trades,
                "wins": wins,
                "losses": trades - wins,
                "win_rate": wins / trades if trades else None,
                "avg_profit_bps": total_bps / trades if trades else None,
                "total_profit_bps": total_bps,
                f"avg_profit_{c}": money / trades if trades else None,
                f"total_profit_{c}": money,
                "coins": len({r["symbol"] for r in rows}),
                "avg_bar_share": sum(float(r["bar_share"]) for r in rows) / len(rows),
            }
        )
    return out


def _total_return(perf: dict[str, Any]) -> float | None:
    """The OOS account's after-cost return as a fraction (metrics' net_pnl_pct / 100)."""
    pct = (perf.get("metrics") or {}).get("net_pnl_pct")
    return float(pct) / 100.0 if isinstance(pct, int | float) and math.isfinite(pct) else None


PERFORMANCE_SEED = ("model_id", "symbol", "date", "scope", "total_return")


def write_brain_exports(
    engine: Engine, home: EngineHome, day: date, out: Path, currency: str | None = None
) -> dict[str, int]:
    """Write the night's Brain Library exports into `out`; returns {file name: rows}. `currency` is the
    account currency (`trades.account_currency(settings)`); without it, the one the night's trades hold."""
    ccy = (currency or night_currency(engine, day)).upper()
    c = ccy.lower()
    rows: dict[str, int] = {}

    def csv(template: str, frame: pl.DataFrame, **kw: str) -> None:
        name = _name(template, day, **kw)
        rows[name] = _csv(out / name, frame)[1]

    def js(template: str, payload: Any, n: int, **kw: str) -> None:
        name = _name(template, day, **kw)
        write_json(out / name, payload)
        rows[name] = n

    columns = trade_columns(ccy)
    trades = table_rows(engine, m.TradeMemory, day)
    csv("trade_history_{date}.csv", _frame([seed_trade(t, ccy) for t in trades], columns))
    # the complete history: every trade of every night the brain holds, up to and including this one
    history = _rows(engine, m.TradeMemory, m.TradeMemory.date <= day)
    flat = [
        {**seed_trade(t, ccy), **{f"feature_{k}": v for k, v in (t["features"] or {}).items()}}
        for t in history
    ]
    feature_cols = sorted({k for r in flat for k in r if k.startswith("feature_")})
    csv("all_trades_complete_{date}.csv", _frame(flat, [*columns, *feature_cols]))

    perf = table_rows(engine, m.ModelPerformance, day)
    perf_cols = [*PERFORMANCE_SEED, *(x.name for x in m.ModelPerformance.__table__.columns)]
    perf_cols = list(dict.fromkeys(perf_cols))
    csv(
        "model_performance_{date}.csv",
        _frame([{**p, "total_return": _total_return(p)} for p in perf], perf_cols),
    )
    wins = table_rows(engine, m.WinAnalysis, day)
    losses = table_rows(engine, m.LossAnalysis, day)
    model_trades = [t for t in trades if t["source"] != m.PORTFOLIO_SOURCE]
    js(
        "win_loss_analysis_{date}.json",
        {
            "date": day.isoformat(),
            "currency": ccy,
            "summary": _win_loss_summary(model_trades),
            "wins": [_plain(r) for r in wins],
            "losses": [_plain(r) for r in losses],
        },
        len(wins) + len(losses),
    )
    patterns = table_rows(engine, m.PatternLibrary, day)
    pattern_cols = [x.name for x in m.PatternLibrary.__table__.columns]
    csv("pattern_library_{date}.csv", _frame([p for p in patterns if p["survived"]], pattern_cols))
    csv("pattern_performance_{date}.csv", _frame(patterns, pattern_cols))
    csv(
        "post_exit_tracking_{date}.csv",
        _frame(
            table_rows(engine, m.PostExitTracking, day),
            [x.name for x in m.PostExitTracking.__table__.columns],
        ),
    )
    regimes = table_rows(engine, m.Regime, day)
    csv(
        "regime_analysis_{date}.csv",
        _frame(regime_analysis(regimes, ccy), [x.format(c=c) for x in REGIME_COLUMNS]),
    )
    evolution = table_rows(engine, m.ModelEvolution, day)
    csv(
        "model_evolution_{date}.csv",
        _frame(evolution, [x.name for x in m.ModelEvolution.__table__.columns]),
    )
    csv(
        "observability_trades_{date}.csv",
        _frame([seed_trade(t, ccy) for t in trades], OBSERVABILITY_TRADE_COLUMNS),
    )
    models = table_rows(engine, m.Model, day)
    csv("observability_models_{date}.csv", _frame(models, [x.name for x in m.Model.__table__.columns]))
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
        "observability_model_deltas_{date}.csv",
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
    js("learning_snapshot_{date}.json", learning, len(learning.get("coins", {})))
    oos = [{**p, "total_return": _total_return(p)} for p in perf if p["scope"] == "oos"]
    csv("backtest_results_{date}.csv", _frame(oos, [x for x in perf_cols if x != "metrics"]))
    js("backtest_results_{date}.json", [_plain(p) for p in oos], len(oos))
    for model in models:
        folder = Path(model["path"])
        meta = read_json(folder / "metadata.json") if (folder / "metadata.json").is_file() else None
        manifest = read_manifest(folder) if (folder / "sha256.txt").is_file() else {}
        js(
            "artifact_{symbol}_metadata_{date}.json",
            {"model": _plain(model), "metadata": meta, "files": manifest},
            1,
            symbol=model["symbol"],
        )
    daily = table_rows(engine, m.DailyMetric, day)
    sources = sorted({t["source"] for t in trades})
    js(
        "comprehensive_metrics_{date}.json",
        {
            "date": day.isoformat(),
            "currency": ccy,
            "coins": len(daily),
            "models": len(models),
            "champions": sum(bool(d["is_champion"]) for d in daily),
            # the headline numbers are the models' own OOS trades; the portfolio simulator's trades (the
            # consensus under the risk rules, one equity) are another account and are counted apart
            **_trade_totals(model_trades),
            "by_source": {s: _trade_totals([t for t in trades if t["source"] == s]) for s in sources},
            "patterns_tested": len(patterns),
            "patterns_survived": sum(bool(p["survived"]) for p in patterns),
            "by_symbol": [{k: _value(v) for k, v in d.items()} for d in daily],
        },
        len(daily),
    )
    from huracan_core.trading.decision_store import export_decisions

    path, n = export_decisions(engine, day, out)
    rows[path.name] = n
    return rows


def _win_loss_summary(trades: list[dict[str, Any]]) -> dict[str, Any]:
    won = [t["net_bps"] for t in trades if t["is_winner"]]
    lost = [t["net_bps"] for t in trades if not t["is_winner"]]
    return {
        "trades": len(trades),
        "wins": len(won),
        "losses": len(lost),
        "win_rate": len(won) / len(trades) if trades else None,
        "avg_win_bps": sum(won) / len(won) if won else None,
        "avg_loss_bps": sum(lost) / len(lost) if lost else None,
    }


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
