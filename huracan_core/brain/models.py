"""Brain Library tables (SQLAlchemy 2). Every datetime is naive UTC (portable between PostgreSQL and SQLite).

Keys: rows of one night's coin carry (`date`, `symbol`) and are replaced as a whole when that key is
written again; day-level rows (universe selections, the pattern library) carry `date` alone. `features`
is point-in-time and keyed by (symbol, timestamp, name): a night adds only bars not stored yet.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


def _id() -> Mapped[int]:
    return mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)


class UniverseSelection(Base):
    __tablename__ = "universe_selections"
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    selected: Mapped[bool] = mapped_column(Boolean)
    rank: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    quote_volume_usd: Mapped[float | None] = mapped_column(Float)
    spread_bps: Mapped[float | None] = mapped_column(Float)
    age_days: Mapped[float | None] = mapped_column(Float)
    market_type: Mapped[str] = mapped_column(String(16))


class Feature(Base):
    __tablename__ = "features"
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    first_date: Mapped[date] = mapped_column(Date)  # the night that stored the bar
    # on SQLite the table is its key's B-tree (migration 0003): one B-tree per insert, not two
    __table_args__ = {"sqlite_with_rowid": False}


class Model(Base):
    __tablename__ = "models"
    model_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    date: Mapped[date] = mapped_column(Date, index=True)
    symbol: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    model_type: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict] = mapped_column(JSON)
    gates_passed: Mapped[bool] = mapped_column(Boolean)
    is_champion: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime | None] = mapped_column(DateTime)


class ModelPerformance(Base):
    __tablename__ = "model_performance"
    id: Mapped[int] = _id()
    date: Mapped[date] = mapped_column(Date)
    symbol: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(16))  # "oos" (all folds) or "fold_<n>"
    sharpe: Mapped[float | None] = mapped_column(Float)
    hit_rate: Mapped[float | None] = mapped_column(Float)
    net_pnl_bps: Mapped[float | None] = mapped_column(Float)
    gross_pnl_bps: Mapped[float | None] = mapped_column(Float)
    cost_bps: Mapped[float | None] = mapped_column(Float)
    max_drawdown_pct: Mapped[float | None] = mapped_column(Float)
    trades: Mapped[int] = mapped_column(Integer)
    deflated_sharpe: Mapped[float | None] = mapped_column(Float)
    buy_hold_return_pct: Mapped[float | None] = mapped_column(Float)
    oos_start: Mapped[str | None] = mapped_column(String(40))
    oos_end: Mapped[str | None] = mapped_column(String(40))
    metrics: Mapped[dict] = mapped_column(JSON)
    __table_args__ = (Index("ix_model_performance_key", "date", "symbol"),)


class DailyMetric(Base):
    __tablename__ = "daily_metrics"
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    model_id: Mapped[str | None] = mapped_column(String(128))
    trades: Mapped[int] = mapped_column(Integer)
    winners: Mapped[int] = mapped_column(Integer)
    net_pnl_bps: Mapped[float | None] = mapped_column(Float)
    net_pnl: Mapped[float | None] = mapped_column(Float)
    sharpe: Mapped[float | None] = mapped_column(Float)
    gates_passed: Mapped[bool | None] = mapped_column(Boolean)
    is_champion: Mapped[bool] = mapped_column(Boolean, default=False)
    wall_minutes: Mapped[float | None] = mapped_column(Float)


# trade_memory.source: a model's OOS backtest trades (trades.py) or the portfolio simulator's (trading/records.py)
MODEL_SOURCE = "oos_backtest"
PORTFOLIO_SOURCE = "portfolio"


class TradeMemory(Base):
    __tablename__ = "trade_memory"
    trade_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    date: Mapped[date] = mapped_column(Date)
    symbol: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(128), index=True)
    model_version: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(8))
    entry_time: Mapped[datetime] = mapped_column(DateTime)
    exit_time: Mapped[datetime] = mapped_column(DateTime)
    entry_price: Mapped[float] = mapped_column(Float)
    exit_price: Mapped[float] = mapped_column(Float)
    bars_held: Mapped[int] = mapped_column(Integer)
    size: Mapped[float] = mapped_column(Float)
    quantity: Mapped[float] = mapped_column(Float)
    gross_bps: Mapped[float] = mapped_column(Float)
    fees_bps: Mapped[float] = mapped_column(Float)
    spread_bps: Mapped[float] = mapped_column(Float)
    slippage_bps: Mapped[float] = mapped_column(Float)
    funding_bps: Mapped[float] = mapped_column(Float)
    net_bps: Mapped[float] = mapped_column(Float)
    net_pnl: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(16))
    regime: Mapped[str | None] = mapped_column(String(16))
    volatility: Mapped[float | None] = mapped_column(Float)
    is_winner: Mapped[bool] = mapped_column(Boolean)
    fold: Mapped[int | None] = mapped_column(Integer)
    features: Mapped[dict] = mapped_column(JSON)
    __table_args__ = (Index("ix_trade_memory_key", "date", "symbol"),)


class WinAnalysis(Base):
    """What distinguished winners from losers: one row per feature or regime contrast of a coin's trades."""

    __tablename__ = "win_analysis"
    id: Mapped[int] = _id()
    date: Mapped[date] = mapped_column(Date)
    symbol: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # "feature" | "regime"
    name: Mapped[str] = mapped_column(String(128))
    winners: Mapped[int] = mapped_column(Integer)
    losers: Mapped[int] = mapped_column(Integer)
    winner_value: Mapped[float | None] = mapped_column(Float)  # mean (feature) or share (regime)
    loser_value: Mapped[float | None] = mapped_column(Float)
    effect: Mapped[float | None] = mapped_column(Float)  # standardised mean difference / share difference
    p_value: Mapped[float | None] = mapped_column(Float)
    __table_args__ = (Index("ix_win_analysis_key", "date", "symbol"),)


class LossAnalysis(Base):
    """Why each losing trade lost: the market went against it, or costs ate a gross gain."""

    __tablename__ = "loss_analysis"
    trade_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    date: Mapped[date] = mapped_column(Date)
    symbol: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(128))
    cause: Mapped[str] = mapped_column(String(16))  # "direction" | "costs"
    gross_bps: Mapped[float] = mapped_column(Float)
    cost_bps: Mapped[float] = mapped_column(Float)
    net_bps: Mapped[float] = mapped_column(Float)
    regime: Mapped[str | None] = mapped_column(String(16))
    bars_held: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_loss_analysis_key", "date", "symbol"),)


class PatternLibrary(Base):
    """Day-level: every candidate condition tested on the night's trades; `survived` after BH correction."""

    __tablename__ = "pattern_library"
    id: Mapped[int] = _id()
    date: Mapped[date] = mapped_column(Date, index=True)
    symbol: Mapped[str] = mapped_column(String(64))
    pattern: Mapped[str] = mapped_column(String(200))
    feature: Mapped[str] = mapped_column(String(128))
    bin: Mapped[int] = mapped_column(Integer)
    lower: Mapped[float | None] = mapped_column(Float)
    upper: Mapped[float | None] = mapped_column(Float)
    support: Mapped[int] = mapped_column(Integer)
    wins: Mapped[int] = mapped_column(Integer)
    win_rate: Mapped[float] = mapped_column(Float)
    base_win_rate: Mapped[float] = mapped_column(Float)
    avg_net_bps: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float] = mapped_column(Float)
    q_value: Mapped[float] = mapped_column(Float)
    survived: Mapped[bool] = mapped_column(Boolean)


class PostExitTracking(Base):
    __tablename__ = "post_exit_tracking"
    trade_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    date: Mapped[date] = mapped_column(Date)
    symbol: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(128))
    side: Mapped[str] = mapped_column(String(8))
    exit_price: Mapped[float] = mapped_column(Float)
    bars_tracked: Mapped[int] = mapped_column(Integer)
    path_bps: Mapped[list] = mapped_column(JSON)  # move in the trade's favour after exit, bar by bar
    max_favourable_bps: Mapped[float | None] = mapped_column(Float)
    max_adverse_bps: Mapped[float | None] = mapped_column(Float)
    final_bps: Mapped[float | None] = mapped_column(Float)
    giveback_bps: Mapped[float] = mapped_column(Float)  # best point inside the trade minus the exit
    verdict: Mapped[str] = mapped_column(String(16))  # "too_early" | "too_late" | "well_timed" | "no_data"
    __table_args__ = (Index("ix_post_exit_key", "date", "symbol"),)


class Regime(Base):
    __tablename__ = "regimes"
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    regime: Mapped[str] = mapped_column(String(16), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(128))
    bar_share: Mapped[float] = mapped_column(Float)  # share of OOS decision bars in the regime
    trades: Mapped[int] = mapped_column(Integer)
    win_rate: Mapped[float | None] = mapped_column(Float)
    avg_net_bps: Mapped[float | None] = mapped_column(Float)
    net_pnl: Mapped[float] = mapped_column(Float)


class ModelEvolution(Base):
    __tablename__ = "model_evolution"
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(128))
    previous_model_id: Mapped[str | None] = mapped_column(String(128))
    previous_date: Mapped[date | None] = mapped_column(Date)
    sharpe: Mapped[float | None] = mapped_column(Float)
    previous_sharpe: Mapped[float | None] = mapped_column(Float)
    net_pnl_bps: Mapped[float | None] = mapped_column(Float)
    previous_net_pnl_bps: Mapped[float | None] = mapped_column(Float)
    trades: Mapped[int] = mapped_column(Integer)
    previous_trades: Mapped[int | None] = mapped_column(Integer)
    params_changed: Mapped[bool | None] = mapped_column(Boolean)
    top_risers: Mapped[list] = mapped_column(JSON)
    top_fallers: Mapped[list] = mapped_column(JSON)


class KillSwitchEvent(Base):
    """Every change of the operator's kill switch (migration 0002). The file control/kill_switch.json stays
    the state the roster and simulator read; this is its copy in the Brain Library (trading/killswitch.py)."""

    __tablename__ = "kill_switch_events"
    id: Mapped[int] = _id()
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    state: Mapped[str] = mapped_column(String(3))  # "on" | "off"
    reason: Mapped[str] = mapped_column(Text)
    who: Mapped[str] = mapped_column(String(128))


class BotDecision(Base):
    """Every decision handed to a trading bot by `huracan decide` / trading.decide.decide (migration 0004):
    the decided bar, the champion, what to do and why, the inputs the bot passed. `detail` is the whole
    decision as JSON (Decision.to_json); the columns are what a query or the daily export filters on."""

    __tablename__ = "decisions"
    id: Mapped[int] = _id()
    decided_at: Mapped[datetime] = mapped_column(DateTime, index=True)  # wall clock
    as_of: Mapped[datetime] = mapped_column(DateTime)  # the moment decided for (`at`)
    bar_time: Mapped[datetime] = mapped_column(DateTime)  # open time of the decided (latest closed) bar
    symbol: Mapped[str] = mapped_column(String(64))
    model_id: Mapped[str] = mapped_column(String(128))
    direction: Mapped[str] = mapped_column(String(5))  # long | short | flat (after every rule)
    signal: Mapped[str] = mapped_column(String(5))  # the consensus's own direction
    action: Mapped[str] = mapped_column(String(8))  # open | hold | close | reverse | none
    confidence: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    score_threshold: Mapped[float | None] = mapped_column(Float)
    expected_edge_bps: Mapped[float] = mapped_column(Float)
    round_trip_bps: Mapped[float] = mapped_column(Float)
    safety_margin_bps: Mapped[float] = mapped_column(Float)
    edge_margin_bps: Mapped[float] = mapped_column(Float)
    notional: Mapped[float] = mapped_column(Float)
    risk: Mapped[float] = mapped_column(Float)
    bound_by: Mapped[str] = mapped_column(Text)
    equity: Mapped[float] = mapped_column(Float)
    kill_switch: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[list] = mapped_column(JSON)
    detail: Mapped[dict] = mapped_column(JSON)
    __table_args__ = (Index("ix_decisions_symbol_bar_time", "symbol", "bar_time"),)


class ForwardRecordRow(Base):
    """Each champion's forward record (migration 0005, huracan_core/forward.py): night `date` scored the
    champion `model_id` of `symbol`, handed out on `handed_out_on`, on its bars since then up to the
    night's close (`scored_through`), after costs; `demoted` when that took it off the roster (`reason`).
    Rows of a night are replaced as a whole when the night is recorded again."""

    __tablename__ = "forward_records"
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    handed_out_on: Mapped[date] = mapped_column(Date)
    scored_through: Mapped[datetime] = mapped_column(DateTime)
    days_live: Mapped[int] = mapped_column(Integer)
    bars: Mapped[int] = mapped_column(Integer)
    trades: Mapped[int] = mapped_column(Integer)
    net_bps: Mapped[float] = mapped_column(Float)
    gross_bps: Mapped[float] = mapped_column(Float)
    max_drawdown_pct: Mapped[float] = mapped_column(Float)
    hit_rate: Mapped[float | None] = mapped_column(Float)
    demoted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_forward_records_model", "model_id"),)


COIN_TABLES = (
    ModelPerformance,
    DailyMetric,
    TradeMemory,
    WinAnalysis,
    LossAnalysis,
    PostExitTracking,
    Regime,
    ModelEvolution,
    Model,
)
DAY_TABLES = (UniverseSelection, PatternLibrary)
ALL_TABLES_ORM = (UniverseSelection, Feature, *COIN_TABLES, PatternLibrary)  # the night's tables
CONTROL_TABLES = (KillSwitchEvent, BotDecision)  # operator controls and live decisions, not tied to a night
# champions scored after their hand-out; a night may hold none (no earlier champion), so apart from the
# night's tables that every recorded night fills
FORWARD_TABLES = (ForwardRecordRow,)
