"""Recording a night in the Brain Library: everything is computed first, then written in ONE transaction.

Why one transaction per night: a crash (even `kill -9`) mid-write leaves the night either whole or absent,
never half. Within it, every coin's rows are keyed by (date, symbol) and the day-level rows by date, and each
key's earlier rows are deleted before the new ones go in, so recording the same night again never duplicates.
`features` is point-in-time (symbol, timestamp, name): a night inserts only bars not stored yet (COPY on
PostgreSQL, batched INSERT on SQLite).

`trade_memory` holds two sources: each model's OOS backtest trades (source "oos_backtest", exactly its
metrics.json trades) and, when publish_stage hands them in, the portfolio simulator's trades (source
"portfolio": the consensus strategy under the risk rules, all coins on one equity; trading/comparison.py).
The learning rows (win/loss analysis, regimes, patterns, post-exit) are computed from the model trades only.
A night's earlier portfolio rows are replaced with the rest of the night, in the same transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Connection, Engine, delete, func, insert, select

from huracan_core.atomic import read_json, write_json
from huracan_core.brain import models as m
from huracan_core.brain.db import open_brain
from huracan_core.config import Settings
from huracan_core.dates import as_of_for
from huracan_core.ledger import RunLedger
from huracan_core.logs import get_logger
from huracan_core.market.base import MarketDataError
from huracan_core.market.fx import RateSeries
from huracan_core.night_inputs import night_recipe
from huracan_core.paths import EngineHome, day_tag
from huracan_core.symbols import normalise_symbol
from huracan_core.trades import (
    ModelTrades,
    TradeRecord,
    account_rates_for,
    load_model_trades,
    to_account_currency,
)
from huracan_core.training.learning import (
    importance_changes,
    loss_causes,
    mine_patterns,
    post_exit_paths,
    regime_stats,
    win_loss_contrasts,
)
from huracan_core.universe import Universe

log = get_logger("brain")
PERF_KEYS = (
    "sharpe",
    "hit_rate",
    "net_pnl_bps",
    "gross_pnl_bps",
    "cost_bps",
    "max_drawdown_pct",
    "deflated_sharpe",
    "buy_hold_return_pct",
    "oos_start",
    "oos_end",
)


class BrainRecordError(RuntimeError):
    """A night cannot be recorded (names the date, coin and file at fault)."""


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _clean(value: Any) -> Any:
    """JSON- and SQL-safe: NaN/inf become None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


@dataclass
class CoinNight:
    """Everything recorded for one (date, symbol), computed before any write."""

    symbol: str
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    trades: list[TradeRecord] = field(default_factory=list)
    model_trades: ModelTrades | None = None
    model_dir: Path | None = None
    features: pl.DataFrame | None = None


def day_roster(home: EngineHome, day: date) -> dict[str, Any] | None:
    """The roster of night `day` (its own dated file where the engine keeps one, else the latest if it is
    that day's)."""
    dated = getattr(home, "roster_on", None)
    if dated is not None and dated(day).is_file():
        return read_json(dated(day))
    if home.roster().is_file():
        roster = read_json(home.roster())
        if roster.get("date") == day.isoformat():
            return roster
    return None


def _model_dir(home: EngineHome, path: str | None) -> Path | None:
    if not path:
        return None
    p = Path(path)
    p = p if p.is_absolute() else home.root / p
    return p if (p / "metadata.json").is_file() else None


def coin_night(
    settings: Settings,
    home: EngineHome,
    day: date,
    symbol: str,
    entry: Any,
    champion_id: str | None,
    rates: RateSeries | None = None,
) -> CoinNight:
    """Compute every coin-keyed row of the night for one coin (no database access); money in the account
    currency (`rates`: the night's point-in-time rates when that is not the quote)."""
    symbol = normalise_symbol(symbol)
    night = CoinNight(symbol)
    model_dir = (
        _model_dir(home, entry.output_path) if entry is not None and entry.status == "success" else None
    )
    status = entry.status if entry is not None else "missing"
    key = {"date": day, "symbol": symbol}
    feats_path = home.features(day, symbol)
    if feats_path.is_file():
        night.features = pl.read_parquet(feats_path)
    if model_dir is None:
        night.rows["daily_metrics"] = [
            {
                **key,
                "status": status,
                "reason": (entry.error or entry.reason) if entry is not None else "no ledger entry",
                "model_id": None,
                "trades": 0,
                "winners": 0,
                "net_pnl_bps": None,
                "net_pnl": None,
                "sharpe": None,
                "gates_passed": None,
                "is_champion": False,
                "wall_minutes": entry.wall_minutes if entry is not None else None,
            }
        ]
        return night
    try:
        meta = read_json(model_dir / "metadata.json")
        metrics = read_json(model_dir / "metrics.json")
        config = read_json(model_dir / "config.json")
        mt = load_model_trades(model_dir, settings, rates=rates)
    except MarketDataError as exc:
        raise BrainRecordError(f"{symbol} {day}: cannot convert the trades' money: {exc}") from exc
    except (OSError, ValueError, KeyError) as exc:
        raise BrainRecordError(f"{symbol} {day}: cannot read model folder {model_dir}: {exc}") from exc
    if len(mt.records) != int(metrics["trades"]):
        raise BrainRecordError(
            f"{symbol} {day}: {len(mt.records)} simulated trades but {model_dir}/metrics.json "
            f"counts {metrics['trades']}"
        )
    night.model_dir, night.model_trades, night.trades = model_dir, mt, mt.records
    model_id = meta["model_id"]
    trades = mt.records
    night.rows["models"] = [
        {
            **key,
            "model_id": model_id,
            "version": meta.get("version", model_dir.name),
            "path": str(model_dir),
            "sha256": meta.get("model_sha256", ""),
            "model_type": config.get("model_type", ""),
            "params": _clean(config.get("final_params", {})),
            "gates_passed": bool(metrics.get("gates", {}).get("passed", False)),
            "is_champion": model_id == champion_id,
            "created_at": _naive(datetime.fromisoformat(meta["created_at"]))
            if meta.get("created_at")
            else None,
        }
    ]
    perf = []
    for scope, values in [("oos", metrics), *((f"fold_{f['fold']}", f) for f in metrics.get("folds", []))]:
        perf.append(
            {
                **key,
                "model_id": model_id,
                "scope": scope,
                "trades": int(values.get("trades", 0)),
                **{k: _clean(values.get(k)) for k in PERF_KEYS},
                "metrics": _clean({k: v for k, v in values.items() if k != "folds"}),
            }
        )
    night.rows["model_performance"] = perf
    night.rows["daily_metrics"] = [
        {
            **key,
            "status": status,
            "reason": entry.reason,
            "model_id": model_id,
            "trades": len(trades),
            "winners": sum(t.is_winner for t in trades),
            "net_pnl_bps": float(sum(t.net_bps for t in trades)),
            "net_pnl": float(sum(t.net_pnl for t in trades)),
            "sharpe": _clean(metrics.get("sharpe")),
            "gates_passed": bool(metrics.get("gates", {}).get("passed", False)),
            "is_champion": model_id == champion_id,
            "wall_minutes": entry.wall_minutes,
        }
    ]
    night.rows["trade_memory"] = [trade_memory_row(t, day) for t in trades]
    night.rows["win_analysis"] = [
        {**key, "model_id": model_id, **_clean(r)} for r in win_loss_contrasts(trades)
    ]
    night.rows["loss_analysis"] = [{**key, **_clean(r)} for r in loss_causes(trades)]
    night.rows["post_exit_tracking"] = [
        {**key, **_clean(r)} for r in post_exit_paths(trades, mt.prices, mt.exit_index, mt.entry_index)
    ]
    night.rows["regimes"] = [
        {**key, "model_id": model_id, **_clean(r)} for r in regime_stats(trades, mt.bar_regimes)
    ]
    night.rows["_evolution"] = [
        {
            **key,
            "model_id": model_id,
            "sharpe": _clean(metrics.get("sharpe")),
            "net_pnl_bps": _clean(metrics.get("net_pnl_bps")),
            "trades": len(trades),
            "params": _clean(config.get("final_params", {})),
            "importance": meta.get("feature_importance", {}),
        }
    ]
    return night


def trade_memory_row(t: TradeRecord, day: date) -> dict[str, Any]:
    """A TradeRecord as a `trade_memory` row of night `day`."""
    return {
        **{k: v for k, v in _clean(t.to_row()).items() if k != "training_date"},
        "date": day,
        "entry_time": _naive(t.entry_time),
        "exit_time": _naive(t.exit_time),
    }


def _evolution(conn: Connection, day: date, raw: dict[str, Any]) -> dict[str, Any]:
    """Model evolution against the coin's latest model of an EARLIER night in the brain."""
    prev = conn.execute(
        select(m.Model)
        .where(m.Model.symbol == raw["symbol"], m.Model.date < day)
        .order_by(m.Model.date.desc())
        .limit(1)
    ).first()
    prev_perf = None
    if prev is not None:
        prev_perf = conn.execute(
            select(m.ModelPerformance).where(
                m.ModelPerformance.model_id == prev.model_id, m.ModelPerformance.scope == "oos"
            )
        ).first()
    prev_importance: dict[str, float] = {}
    if prev is not None and Path(prev.path, "metadata.json").is_file():
        prev_importance = read_json(Path(prev.path) / "metadata.json").get("feature_importance", {}) or {}
    changes = importance_changes(raw["importance"], prev_importance if prev is not None else None)
    return {
        "date": day,
        "symbol": raw["symbol"],
        "model_id": raw["model_id"],
        "previous_model_id": prev.model_id if prev else None,
        "previous_date": prev.date if prev else None,
        "sharpe": raw["sharpe"],
        "previous_sharpe": prev_perf.sharpe if prev_perf else None,
        "net_pnl_bps": raw["net_pnl_bps"],
        "previous_net_pnl_bps": prev_perf.net_pnl_bps if prev_perf else None,
        "trades": raw["trades"],
        "previous_trades": prev_perf.trades if prev_perf else None,
        "params_changed": (raw["params"] != prev.params) if prev else None,
        "top_risers": changes["top_risers"],
        "top_fallers": changes["top_fallers"],
    }


TABLES = {t.__tablename__: t for t in m.ALL_TABLES_ORM}


def _feature_rows(
    conn: Connection, day: date, symbol: str, frame: pl.DataFrame, columns: list[str]
) -> pl.DataFrame | None:
    """(symbol, timestamp, name, value, first_date) of the bars of `frame` not stored yet for the coin, in
    the table's key order, finite values only; None when there is nothing to store.

    Why a frame and not Python tuples: a first night of 200 coins × 1000 bars × 95 features is ~20 M
    rows; building them as tuples (and dicts for SQLAlchemy) took minutes and gigabytes."""
    columns = [c for c in columns if c in frame.columns]
    if frame.is_empty() or not columns:
        return None
    first = _naive(frame["timestamp"].min())
    stored = {
        r[0]
        for r in conn.execute(
            select(m.Feature.timestamp)
            .where(m.Feature.symbol == symbol, m.Feature.timestamp >= first)
            .distinct()
        )
    }
    fresh = frame.with_columns(pl.col("timestamp").dt.replace_time_zone(None)).filter(
        ~pl.col("timestamp").is_in(list(stored))
    )
    if fresh.is_empty():
        return None
    long = (
        fresh.select("timestamp", *[pl.col(c).cast(pl.Float64) for c in columns])
        .unpivot(index="timestamp", variable_name="name", value_name="value")
        .filter(pl.col("value").is_finite())
        .sort("timestamp", "name")
    )
    return long.select(
        pl.lit(symbol).alias("symbol"), "timestamp", "name", "value", pl.lit(day).alias("first_date")
    )


# SQLAlchemy's own text forms of DateTime and Date on SQLite: rows written here read back as datetimes
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%6f"
_FEATURE_INSERT = "INSERT INTO features (symbol, timestamp, name, value, first_date) VALUES (?, ?, ?, ?, ?)"
_FEATURE_CHUNK = 200_000


def _insert_features(conn: Connection, rows: pl.DataFrame | None) -> None:
    """Bulk-load feature rows inside the night's transaction: COPY on PostgreSQL, one prepared
    `executemany` per chunk on SQLite (both skip SQLAlchemy's per-row objects: ~20 M rows on a first
    night of 200 coins)."""
    if rows is None or rows.is_empty():
        return
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with (
            raw.cursor() as cur,
            cur.copy(
                "COPY features (symbol, timestamp, name, value, first_date) FROM STDIN WITH (FORMAT csv)"
            ) as copy,
        ):
            for chunk in rows.iter_slices(_FEATURE_CHUNK):
                copy.write(chunk.write_csv(include_header=False, float_precision=None).encode())
        return
    text_rows = rows.with_columns(
        pl.col("timestamp").dt.strftime(_SQLITE_DATETIME), pl.col("first_date").dt.strftime("%Y-%m-%d")
    )
    cursor = raw.cursor()
    try:
        for chunk in text_rows.iter_slices(_FEATURE_CHUNK):
            cursor.executemany(_FEATURE_INSERT, chunk.iter_rows())
    finally:
        cursor.close()


def forward_rows(home: EngineHome, day: date) -> list[dict[str, Any]] | None:
    """Night `day`'s forward record (runs/{D}Z/forward_record.json) as `forward_records` rows; None when the
    night has no forward record (its stored rows, if any, are then left as they are)."""
    from huracan_core.forward_records import ForwardError, load_forward

    try:
        payload = load_forward(home, day)
    except ForwardError as exc:
        raise BrainRecordError(f"{day}: {exc}") from exc
    if payload is None:
        return None
    columns = {c.name for c in m.ForwardRecordRow.__table__.columns}
    rows = []
    for record in payload["records"]:
        row = {k: v for k, v in record.to_json().items() if k in columns}
        rows.append(
            {
                **_clean(row),
                "date": day,
                "handed_out_on": record.handed_out_on,
                "scored_through": _naive(record.scored_through),
            }
        )
    return rows


def replace_forward_rows(conn: Connection, day: date, rows: list[dict[str, Any]] | None) -> int:
    """Replace night `day`'s `forward_records` with `rows` inside the caller's transaction (None: keep)."""
    if rows is None:
        return 0
    conn.execute(delete(m.ForwardRecordRow).where(m.ForwardRecordRow.date == day))
    if rows:
        conn.execute(insert(m.ForwardRecordRow.__table__), rows)
    return len(rows)


def record_forward(settings: Settings, day: date, engine: Engine | None = None) -> int:
    """Record night `day`'s forward record alone, in one transaction (record_night does it with the night)."""
    rows = forward_rows(EngineHome(Path(settings.home)), day)
    engine = engine or open_brain(settings)
    with engine.begin() as conn:
        return replace_forward_rows(conn, day, rows)


def record_night(
    settings: Settings,
    day: date,
    engine: Engine | None = None,
    portfolio_trades: list[TradeRecord] | None = None,
) -> dict[str, Any]:
    """Record night `day` (every coin of its universe plus the day-level rows) in one transaction.
    `portfolio_trades` (source "portfolio") go into trade_memory in the same transaction, replacing the
    night's earlier portfolio rows; without them the night keeps none (the brain tells of this run only)."""
    home = EngineHome(Path(settings.home))
    universe_path = home.universe(day)
    if not universe_path.is_file():
        raise BrainRecordError(f"no universe stored for {day} at {universe_path}: nothing to record")
    universe = Universe.load(universe_path)
    entries = RunLedger(home, day).entries()
    roster = day_roster(home, day) or {}
    champions = {c["symbol"]: c.get("model_id") for c in roster.get("coins", [])}
    try:
        rates = account_rates_for(settings, as_of_for(day))
    except MarketDataError as exc:
        raise BrainRecordError(f"{day}: {exc}") from exc
    nights = [
        coin_night(settings, home, day, s, entries.get(s), champions.get(s), rates) for s in universe.selected
    ]
    patterns = mine_patterns({n.symbol: n.trades for n in nights if n.trades})
    portfolio_rows = []
    try:
        portfolio_trades = to_account_currency(list(portfolio_trades or []), rates)
    except (MarketDataError, ValueError) as exc:
        raise BrainRecordError(f"{day}: cannot convert the portfolio trades' money: {exc}") from exc
    for t in portfolio_trades:
        if t.source != m.PORTFOLIO_SOURCE:
            raise BrainRecordError(
                f"{day}: trade {t.trade_id} of {t.symbol} handed in as a portfolio trade "
                f"has source {t.source!r}"
            )
        portfolio_rows.append(trade_memory_row(t, day))
    columns = list(night_recipe(settings).model_columns)
    forward = forward_rows(home, day)
    engine = engine or open_brain(settings)
    with engine.begin() as conn:
        # the night's (date, symbol) keys are replaced; a coin of an earlier recording of this date that is
        # no longer in the day's universe (a rerun with other coins) goes too: the brain tells of this run only
        stale = [
            s
            for (s,) in conn.execute(select(m.DailyMetric.symbol).where(m.DailyMetric.date == day))
            if s not in {n.symbol for n in nights}
        ]
        for symbol in [n.symbol for n in nights] + stale:
            for table in m.COIN_TABLES:
                conn.execute(delete(table).where(table.symbol == symbol, table.date == day))
        for night in nights:
            for name, rows in night.rows.items():
                if name == "_evolution":
                    rows = [_evolution(conn, day, r) for r in rows]
                    name = "model_evolution"
                if rows:
                    conn.execute(insert(TABLES[name].__table__), rows)
            if night.features is not None:
                _insert_features(conn, _feature_rows(conn, day, night.symbol, night.features, columns))
        conn.execute(
            delete(m.TradeMemory).where(m.TradeMemory.date == day, m.TradeMemory.source == m.PORTFOLIO_SOURCE)
        )
        if portfolio_rows:
            conn.execute(insert(m.TradeMemory.__table__), portfolio_rows)
        for table in m.DAY_TABLES:
            conn.execute(delete(table).where(table.date == day))
        universe_rows = [
            {
                "date": day,
                "symbol": r.symbol,
                "selected": r.selected,
                "rank": r.rank,
                "reason": r.reason,
                "quote_volume_usd": _clean(r.quote_volume_usd),
                "spread_bps": _clean(r.spread_bps),
                "age_days": _clean(r.age_days),
                "market_type": r.market_type,
            }
            for r in universe.rows
        ]
        if universe_rows:
            conn.execute(insert(m.UniverseSelection.__table__), universe_rows)
        if patterns:
            conn.execute(insert(m.PatternLibrary.__table__), [{"date": day, **_clean(p)} for p in patterns])
        forward_recorded = replace_forward_rows(conn, day, forward)
    counts = row_counts(engine, day)
    snapshot = write_brain_snapshot(home, day, nights, patterns)
    log.info(
        "night recorded in the brain", date=day.isoformat(), **{f"rows_{k}": v for k, v in counts.items()}
    )
    return {
        "date": day.isoformat(),
        "rows": counts,
        "snapshot": str(snapshot),
        "coins": [n.symbol for n in nights],
        "portfolio_trades": len(portfolio_rows),
        "forward_records": forward_recorded,
    }


def row_counts(engine: Engine, day: date) -> dict[str, int]:
    """Rows of night `day` in every table (features: bars first stored by that night)."""
    out = {}
    with engine.connect() as conn:
        for table in m.ALL_TABLES_ORM:
            col = table.first_date if table is m.Feature else table.date
            out[table.__tablename__] = int(
                conn.execute(select(func.count()).select_from(table).where(col == day)).scalar_one()
            )
    return out


def write_brain_snapshot(home: EngineHome, day: date, nights: list[CoinNight], patterns: list[dict]) -> Path:
    """`logs/learning/{YYYYMMDD}Z/learning_snapshot.json`: the night's lessons, from the recorded numbers."""
    coins = {}
    for n in nights:
        wins = [t for t in n.trades if t.is_winner]
        contrasts = sorted(
            (r for r in n.rows.get("win_analysis", []) if r["kind"] == "feature" and r["effect"] is not None),
            key=lambda r: -abs(r["effect"]),
        )
        verdicts: dict[str, int] = {}
        for r in n.rows.get("post_exit_tracking", []):
            verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
        causes: dict[str, int] = {}
        for r in n.rows.get("loss_analysis", []):
            causes[r["cause"]] = causes.get(r["cause"], 0) + 1
        coins[n.symbol] = {
            "status": n.rows["daily_metrics"][0]["status"],
            "model_id": n.rows["daily_metrics"][0]["model_id"],
            "trades": len(n.trades),
            "winners": len(wins),
            "win_rate": len(wins) / len(n.trades) if n.trades else None,
            "net_pnl_bps": float(sum(t.net_bps for t in n.trades)),
            "top_contrasts": [
                {k: r[k] for k in ("name", "winner_value", "loser_value", "effect", "p_value")}
                for r in contrasts[:5]
            ],
            "loss_causes": causes,
            "post_exit_verdicts": verdicts,
            "regimes": [
                {k: r[k] for k in ("regime", "trades", "win_rate", "avg_net_bps")}
                for r in n.rows.get("regimes", [])
            ],
            "patterns_survived": [
                p["pattern"] for p in patterns if p["symbol"] == n.symbol and p["survived"]
            ],
        }
    payload = _clean(
        {
            "date": day.isoformat(),
            "generated_at": datetime.now(UTC).isoformat(),
            "patterns_tested": len(patterns),
            "patterns_survived": sum(p["survived"] for p in patterns),
            "coins": coins,
        }
    )
    return write_json(home.learning_dir() / day_tag(day) / "learning_snapshot.json", payload)
