"""Portfolio simulator: every coin of the night on ONE account, decided like the live bot, after all costs.

Why one account: per-coin backtests each put the whole equity on one coin; the bot instead shares one
equity between coins under a daily stop, exposure caps and breakers, so a loss on one coin shrinks the
next position on another. This simulator follows that account bar by bar:

* Decisions at bar t's close (consensus direction, confidence, ATR), fills at the coin's next bar's open
  (as backtest.py and labels.py assume), costs per leg from costs.py (half the round trip without funding;
  every bar priced from candles closed by it, as the trainer prices it: `bar_costs`), perpetual funding
  at each close a position is held through: the recorded settlements inside that bar, signed by side (a
  long pays a positive rate, a short receives it), or the constant `costs.funding_bps_per_8h` where no
  rate is recorded (huracan_core.funding).
* A position is held while the consensus keeps its direction; it closes at the next open when the
  direction changes, intrabar at its ATR stop (at the stop, or the open when the bar gaps through it), at
  the next open after the daily-drawdown breaker fires, and at the last close of the simulation.
* Sizing by risk.size_position (risk per trade, coin cap, leverage, open risk vs daily loss limit, daily
  stop), cut by the breakers (breakers.py). The kill switch (killswitch.py) stops every entry. What to do
  with a coin at a close (open, hold, close, reverse) is rules.py's, the same functions the live decision
  (decide.py) calls; `simulate(trace=[])` records each decision with the account state it was taken from.
* Accounting: cash plus signed quantity x price. A long buys quantity = notional / fill; a short sells it
  and receives the proceeds. Equity is marked at each bar's close (a coin with no bar at that time keeps
  its last close).

Every closed position becomes a `ClosedPosition` (the account's view: stop, risk, exit reason, the rule
that set its size; records.py turns it into the Brain Library's `trades.TradeRecord`); every breaker
activation a `BreakerEvent` with its cause.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl

from huracan_core.config import Settings, TradingSettings
from huracan_core.costs import CostInputs, cost_breakdown, leg_cost_fraction, point_in_time_inputs
from huracan_core.funding import FundingSeries, bar_funding
from huracan_core.labels import forward_log_return_bps
from huracan_core.metrics import deflated_sharpe, max_drawdown_pct, sharpe_ratio, sortino_ratio
from huracan_core.trading.breakers import BreakerEvent, Breakers, volatility_alarm
from huracan_core.trading.consensus import compute_consensus, decide
from huracan_core.trading.engines import compute_votes
from huracan_core.trading.risk import OpenRisk, SizeDecision, size_position
from huracan_core.trading.rules import OpenPosition, final_action, open_risk_of, position_action


@dataclass(frozen=True)
class BarCosts:
    """Per-bar round trip (bps) and its parts, as the simulator charges them."""

    fee_bps: float
    spread_bps: float | np.ndarray
    slippage_bps: float | np.ndarray  # per leg
    funding_bps: float | np.ndarray  # the threshold's funding term, known at each bar's close
    total_bps: np.ndarray
    funding_long: np.ndarray | None = None  # fraction a long held through bar i pays at its close
    funding_short: np.ndarray | None = None


@dataclass(frozen=True)
class CoinPlan:
    """Everything the account needs about one coin, per bar (arrays aligned with `timestamp_ms`)."""

    symbol: str
    timestamp_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    direction: np.ndarray  # +1 / -1 / 0 decided at the bar's close
    confidence: np.ndarray
    score: np.ndarray
    edge_bps: np.ndarray
    atr_pct: np.ndarray
    volatility: np.ndarray
    vol_alarm: np.ndarray
    leg_cost: np.ndarray  # fraction of notional per leg
    funding_per_bar: float = 0.0
    funding_long: np.ndarray | None = None  # per bar, replaces funding_per_bar (huracan_core.funding)
    funding_short: np.ndarray | None = None
    fee_bps: float = 0.0  # parts of the round trip, for the trade records' cost split
    spread_bps: np.ndarray | None = None
    slippage_bps: np.ndarray | None = None  # per leg
    regime: np.ndarray | None = None  # market_regime code (features/regime.py)
    # why each decision is what it is (plan_coin fills them; a live decision reports them)
    score_std: np.ndarray | None = None  # rolling std of S behind the consensus bar
    k: np.ndarray | None = None  # the bar's k (x defence_k_mult in defence)
    cost_threshold_bps: np.ndarray | None = None  # round trip + safety margin the edge must beat
    votes: np.ndarray | None = None  # bars x engines (engines.ENGINE_NAMES), NaN: no vote
    weights: np.ndarray | None = None  # bars x engines, the consensus weights

    def __post_init__(self) -> None:
        n = len(self.timestamp_ms)
        for name in (
            "open",
            "high",
            "low",
            "close",
            "direction",
            "confidence",
            "atr_pct",
            "leg_cost",
            "vol_alarm",
        ):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{self.symbol}: {name} has {len(getattr(self, name))} values for {n} bars")
        if n > 1 and not np.all(np.diff(self.timestamp_ms) > 0):
            raise ValueError(f"{self.symbol}: bars must be strictly increasing in time")


@dataclass(frozen=True)
class ClosedPosition:
    """One closed position. Money in account currency (initial equity = 1.0 unless set)."""

    symbol: str
    side: int
    entry_time: datetime
    exit_time: datetime
    entry_price: float
    exit_price: float
    quantity: float
    notional: float
    stop_price: float
    risk: float
    confidence: float
    score: float
    expected_edge_bps: float
    gross_pnl: float
    costs: float  # both legs' fees, spread and slippage plus funding paid
    net_pnl: float
    net_return: float  # net_pnl / notional
    exit_reason: str  # "signal", "stop", "daily_drawdown", "end"
    bound_by: str
    size_mult: float
    entry_index: int  # bar of the entry fill in the coin's plan
    exit_index: int
    funding: float = 0.0  # funding paid while held (negative: received), part of `costs`

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["entry_time"] = self.entry_time.isoformat()
        out["exit_time"] = self.exit_time.isoformat()
        return out


@dataclass
class SimulationResult:
    timestamp_ms: np.ndarray
    equity: np.ndarray
    trades: list[ClosedPosition]
    events: list[BreakerEvent]
    exposure: np.ndarray  # gross notional / equity at each close
    initial_equity: float = 1.0

    @property
    def returns(self) -> np.ndarray:
        prev = np.concatenate([[self.initial_equity], self.equity[:-1]])
        return self.equity / prev - 1.0


@dataclass(frozen=True)
class BarTrace:
    """One decision of the account (a coin at a bar's close, a next bar to fill at): the state it was taken
    from, as a live bot would pass it to trading.decide.decide, and what the rules did. `simulate(trace=[])`
    fills a list of these (the equality test between decide and the simulator reads it)."""

    symbol: str
    index: int  # bar of the coin's plan
    timestamp_ms: int
    positions: tuple[OpenPosition, ...]  # what stays open beside this coin, then the coin's own position
    equity: float
    day_start_equity: float
    loss_streak: int
    halted: bool  # the daily-drawdown breaker had fired today before this decision
    target: int
    action: str  # rules.final_action
    size: SizeDecision | None  # None when nothing was sized (hold, close, flat target)


@dataclass
class _Position:
    side: int
    quantity: float
    entry_price: float
    entry_i: int
    entry_ms: int
    notional: float
    stop_price: float
    risk: float
    entry_cost: float
    confidence: float
    score: float
    edge: float
    bound_by: str
    size_mult: float
    funding: float = 0.0


@dataclass
class _Pending:
    exit_reason: str | None = None
    entry: dict[str, Any] | None = None


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000.0, tz=UTC)


@dataclass
class _Account:
    cash: float
    positions: dict[str, _Position] = field(default_factory=dict)
    trades: list[ClosedPosition] = field(default_factory=list)

    def enter(self, plan: CoinPlan, i: int, order: dict[str, Any]) -> None:
        price = float(plan.open[i])
        side = int(order["side"])
        qty = side * order["notional"] / price
        cost = abs(qty * price) * float(plan.leg_cost[i])
        self.cash -= qty * price + cost
        stop = price * (1.0 - side * order["stop_fraction"])
        self.positions[plan.symbol] = _Position(
            side,
            qty,
            price,
            i,
            int(plan.timestamp_ms[i]),
            order["notional"],
            stop,
            order["risk"],
            cost,
            order["confidence"],
            order["score"],
            order["edge"],
            order["bound_by"],
            order["size_mult"],
        )

    def exit(self, plan: CoinPlan, i: int, price: float, reason: str, breakers: Breakers) -> None:
        pos = self.positions.pop(plan.symbol)
        value = pos.quantity * price
        cost = abs(value) * float(plan.leg_cost[i])
        self.cash += value - cost
        gross = pos.quantity * (price - pos.entry_price)
        costs = pos.entry_cost + cost + pos.funding
        net = gross - costs
        ts = _dt(int(plan.timestamp_ms[i]))
        self.trades.append(
            ClosedPosition(
                plan.symbol,
                pos.side,
                _dt(pos.entry_ms),
                ts,
                pos.entry_price,
                price,
                pos.quantity,
                pos.notional,
                pos.stop_price,
                pos.risk,
                pos.confidence,
                pos.score,
                pos.edge,
                gross,
                costs,
                net,
                net / pos.notional,
                reason,
                pos.bound_by,
                pos.size_mult,
                pos.entry_i,
                i,
                pos.funding,
            )
        )
        breakers.record_trade(ts, plan.symbol, net)

    def staying_open(self, pending: dict[str, _Pending]) -> list[OpenPosition]:
        """The positions that stay open after the next open's fills: held ones without a pending exit, and
        the entries ordered at this close (what a live bot passes to decide as its open positions)."""
        out = [
            OpenPosition(sym, pos.side, pos.notional, pos.risk)
            for sym, pos in self.positions.items()
            if not (pending.get(sym) and pending[sym].exit_reason)
        ]
        out += [
            OpenPosition(sym, p.entry["side"], p.entry["notional"], p.entry["risk"])
            for sym, p in pending.items()
            if p.entry
        ]
        return out

    def open_risk(self, pending: dict[str, _Pending]) -> OpenRisk:
        return open_risk_of(self.staying_open(pending))


def simulate(
    plans: list[CoinPlan],
    settings: TradingSettings,
    *,
    kill_switch: bool = False,
    initial_equity: float = 1.0,
    trace: list[BarTrace] | None = None,
) -> SimulationResult:
    """Run the account over the union of the coins' bars (see module doc). `trace`: a list that receives
    every decision with the account state it was taken from (`BarTrace`)."""
    if not plans:
        raise ValueError("nothing to simulate: no coin plans")
    names = [p.symbol for p in plans]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate coins in the simulation: {names}")
    timeline = np.unique(np.concatenate([p.timestamp_ms for p in plans]))
    index = [{int(t): i for i, t in enumerate(p.timestamp_ms)} for p in plans]
    last_close = {p.symbol: float("nan") for p in plans}
    account = _Account(cash=initial_equity)
    breakers = Breakers(settings)
    pending: dict[str, _Pending] = {}
    equity_path = np.empty(len(timeline))
    exposure = np.empty(len(timeline))
    equity = initial_equity
    stopped_today = None
    if kill_switch:
        breakers.events.append(
            BreakerEvent(
                _dt(int(timeline[0])),
                "kill_switch",
                "no entries",
                "kill switch is on for the whole simulation",
            )
        )

    for g, t in enumerate(timeline):
        t = int(t)
        day = _dt(t).date()
        if day != breakers.day:
            breakers.new_day(day, equity)
        live = [(p, idx[t]) for p, idx in zip(plans, index, strict=True) if t in idx]
        # open: fills of last close's decisions (exits first, then entries)
        for plan, i in live:
            order = pending.pop(plan.symbol, None)
            if order is None:
                continue
            if order.exit_reason and plan.symbol in account.positions:
                account.exit(plan, i, float(plan.open[i]), order.exit_reason, breakers)
            if order.entry and plan.symbol not in account.positions:
                account.enter(plan, i, order.entry)
        # intrabar: stops
        for plan, i in live:
            pos = account.positions.get(plan.symbol)
            if pos is None:
                continue
            if pos.side > 0 and plan.low[i] <= pos.stop_price:
                account.exit(plan, i, min(float(plan.open[i]), pos.stop_price), "stop", breakers)
            elif pos.side < 0 and plan.high[i] >= pos.stop_price:
                account.exit(plan, i, max(float(plan.open[i]), pos.stop_price), "stop", breakers)
        # close: funding, mark, breakers, decisions
        for plan, i in live:
            last_close[plan.symbol] = float(plan.close[i])
            pos = account.positions.get(plan.symbol)
            if pos is not None:
                rate = plan.funding_per_bar
                if plan.funding_long is not None and plan.funding_short is not None:
                    rate = float((plan.funding_long if pos.side > 0 else plan.funding_short)[i])
                if rate:
                    fee = abs(pos.quantity) * plan.close[i] * rate
                    account.cash -= fee
                    pos.funding += fee
        gross = sum(abs(p.quantity) * last_close[s] for s, p in account.positions.items())
        equity = account.cash + sum(p.quantity * last_close[s] for s, p in account.positions.items())
        equity_path[g], exposure[g] = equity, gross / equity if equity > 0 else np.inf
        ts = _dt(t)
        if breakers.check_drawdown(ts, equity):
            for sym in account.positions:
                pending.setdefault(sym, _Pending()).exit_reason = "daily_drawdown"
        for plan, i in live:
            breakers.set_defence(ts, plan.symbol, bool(plan.vol_alarm[i]), float(plan.volatility[i]))
            if i + 1 >= len(plan.timestamp_ms):
                continue  # no next bar to fill at
            pos = account.positions.get(plan.symbol)
            held = pos.side if pos is not None else 0
            halted_before = breakers.halted
            if trace is not None:  # the account as a live bot passes it to decide: what stays open, its own
                others = [p for p in account.staying_open(pending) if p.symbol != plan.symbol]
                held_now = [OpenPosition(plan.symbol, pos.side, pos.notional, pos.risk)] if pos else []
            want, action, _ = position_action(
                int(plan.direction[i]), held, kill_switch=kill_switch, halted=breakers.halted
            )
            if action in ("close", "reverse"):
                order = pending.setdefault(plan.symbol, _Pending())
                order.exit_reason = order.exit_reason or "signal"
            size = None
            if action in ("open", "reverse"):
                mult = breakers.size_mult(plan.symbol)
                size = size_position(
                    equity=equity,
                    day_start_equity=breakers.day_start_equity,
                    confidence=float(plan.confidence[i]),
                    atr_pct=float(plan.atr_pct[i]),
                    open_risk=account.open_risk(pending),
                    settings=settings,
                    size_mult=mult,
                )
            if trace is not None:
                trace.append(
                    BarTrace(
                        symbol=plan.symbol,
                        index=i,
                        timestamp_ms=t,
                        positions=tuple(others + held_now),
                        equity=equity,
                        day_start_equity=breakers.day_start_equity,
                        loss_streak=breakers.loss_streak,
                        halted=halted_before,
                        target=want,
                        action=final_action(action, held, size),
                        size=size,
                    )
                )
            if size is None:
                continue
            if size.bound_by.startswith("daily stop") and stopped_today != day:
                stopped_today = day
                breakers.events.append(
                    BreakerEvent(ts, "daily_stop", "no new entries today", size.bound_by, plan.symbol)
                )
            if size.opens:
                pending.setdefault(plan.symbol, _Pending()).entry = {
                    "side": want,
                    "notional": size.notional,
                    "risk": size.risk,
                    "stop_fraction": size.stop_fraction,
                    "confidence": float(plan.confidence[i]),
                    "score": float(plan.score[i]),
                    "edge": float(plan.edge_bps[i]),
                    "bound_by": size.bound_by,
                    "size_mult": mult,
                }

    # the end: close what is still open at its last close, after costs
    for plan in plans:
        if plan.symbol in account.positions:
            i = len(plan.timestamp_ms) - 1
            account.exit(plan, i, float(plan.close[i]), "end", breakers)
    if len(timeline):
        equity_path[-1] = account.cash
    return SimulationResult(timeline, equity_path, account.trades, breakers.events, exposure, initial_equity)


# --- building plans from the night's files ------------------------------------------------------------


def _f64(frame: pl.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        raise ValueError(f"the feature frame lacks column {name!r}")
    return frame[name].cast(pl.Float64).fill_null(float("nan")).to_numpy()


def plan_coin(
    symbol: str,
    features: pl.DataFrame,
    settings: Settings,
    cost_inputs: CostInputs,
    bar_seconds: int,
    *,
    oos: pl.DataFrame | None = None,
    engines: list[int] | None = None,
    vol_window: int = 24,
    costs: BarCosts | None = None,
    funding: FundingSeries | None = None,
) -> CoinPlan:
    """Votes, consensus and decisions for one coin over its whole feature frame.

    `oos`: the coin's `oos_predictions.parquet` (the model engine's votes). `engines`: indices of the
    engines allowed to vote (default all); the others are masked out (used by the model-only comparison).
    `costs`: `bar_costs` of this frame when the caller already has them (decide prices the model's votes
    with them first). `funding`: the coin's recorded settlements (perpetuals; else the constant).
    """
    frame = features.sort("timestamp")
    t = settings.trading
    h = settings.training.horizon_bars
    votes = compute_votes(frame, oos)
    if engines is not None:
        mask = np.zeros(votes.shape[1], dtype=bool)
        mask[engines] = True
        votes = np.where(mask[None, :], votes, np.nan)
    open_ = _f64(frame, "open")
    label = forward_log_return_bps(open_, h)
    cons = compute_consensus(votes, label, h, t)
    close = _f64(frame, "close")
    if costs is None:
        costs = bar_costs(frame, settings, cost_inputs, bar_seconds, vol_window, funding)
    elif len(costs.total_bps) != frame.height:
        raise ValueError(f"{symbol}: costs for {len(costs.total_bps)} bars, frame has {frame.height}")
    rt = costs.total_bps
    vol20 = _f64(frame, "volatility_20")
    alarm = volatility_alarm(vol20, t)
    k = np.where(alarm, t.consensus_k * t.defence_k_mult, t.consensus_k)
    cost_threshold = rt + settings.costs.safety_margin_bps
    direction = decide(cons, cost_threshold, k, cost_inputs.market_type)
    return CoinPlan(
        symbol=symbol,
        timestamp_ms=frame["timestamp"].dt.epoch("ms").to_numpy(),
        open=open_,
        high=_f64(frame, "high"),
        low=_f64(frame, "low"),
        close=close,
        direction=direction,
        confidence=cons.confidence,
        score=cons.score,
        edge_bps=cons.edge_bps,
        atr_pct=_f64(frame, "atr_14_pct"),
        volatility=vol20,
        vol_alarm=alarm,
        leg_cost=np.asarray(leg_cost_fraction(rt, costs.funding_bps), dtype=float),
        funding_per_bar=float(np.mean(costs.funding_bps)) / h / 1e4 if costs.funding_long is None else 0.0,
        funding_long=costs.funding_long,
        funding_short=costs.funding_short,
        fee_bps=costs.fee_bps,
        spread_bps=np.broadcast_to(np.asarray(costs.spread_bps, dtype=float), rt.shape).copy(),
        slippage_bps=np.broadcast_to(np.asarray(costs.slippage_bps, dtype=float), rt.shape).copy(),
        regime=_f64(frame, "market_regime") if "market_regime" in frame.columns else None,
        score_std=cons.score_std,
        k=np.asarray(k, dtype=float),
        cost_threshold_bps=np.asarray(cost_threshold, dtype=float),
        votes=votes,
        weights=cons.weights,
    )


def bar_costs(
    frame: pl.DataFrame,
    settings: Settings,
    cost_inputs: CostInputs,
    bar_seconds: int,
    vol_window: int,
    funding: FundingSeries | None = None,
) -> BarCosts:
    """Round trip of every bar priced like the trainer prices it (training.dataset.prepare): spread and ADV
    from candles closed by the bar (costs.point_in_time_inputs), volatility trailing
    (dataset.trailing_volatility); fees and market type from `cost_inputs`; funding by side from the
    recorded settlements inside each bar (or the constant), its threshold term from the rates settled by
    the bar's close (huracan_core.funding)."""
    from huracan_core.training.dataset import trailing_volatility

    close = _f64(frame, "close")
    pit = point_in_time_inputs(
        _f64(frame, "high"), _f64(frame, "low"), close, _f64(frame, "volume"), settings.costs, bar_seconds
    )
    vol, _ = trailing_volatility(close, vol_window)
    parts = cost_breakdown(
        cost_inputs,
        settings.costs,
        vol,
        settings.training.horizon_bars,
        bar_seconds,
        spread_bps=pit.spread_bps,
        adv_usd=pit.adv_usd,
    )
    h = settings.training.horizon_bars
    open_ms = frame["timestamp"].dt.epoch("ms").to_numpy()
    market = cost_inputs.market_type
    # held through bar i: settlements in (open_i, close_i]; decided at close_i: rates settled by then
    held = bar_funding(open_ms, bar_seconds, h, settings.costs, market, funding)
    decided = bar_funding(open_ms + bar_seconds * 1000, bar_seconds, h, settings.costs, market, funding)
    total = (np.asarray(parts.total_bps, dtype=float) - parts.funding_bps + decided.expected_bps) * np.ones(
        len(close)
    )
    return BarCosts(
        parts.fee_bps,
        parts.spread_bps,
        parts.slippage_bps,
        decided.expected_bps,
        total,
        funding_long=held.long,
        funding_short=held.short,
    )


def window(plan: CoinPlan, start_ms: int, end_ms: int) -> CoinPlan:
    """The plan restricted to bars in [start_ms, end_ms] (decisions keep the history they were made with)."""
    keep = (plan.timestamp_ms >= start_ms) & (plan.timestamp_ms <= end_ms)
    values = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in plan.__dict__.items()}
    return CoinPlan(**values)


def simulation_metrics(result: SimulationResult, ppy: float, n_trials: int = 1) -> dict[str, Any]:
    """The gate metrics (keys as metrics.backtest_metrics) of a simulated account."""
    r = result.returns
    net = np.array([tr.net_return for tr in result.trades])
    wins = int(np.sum(net > 0))
    dsr = deflated_sharpe(r, n_trials)
    return {
        "sharpe": sharpe_ratio(r, ppy),
        "sortino": sortino_ratio(r, ppy),
        "hit_rate": wins / len(net) if len(net) else 0.0,
        "trades": len(net),
        "winning_trades": wins,
        "net_pnl_bps": float(np.sum(net) * 1e4),
        "net_pnl_pct": float((result.equity[-1] / result.initial_equity - 1.0) * 100.0),
        "max_drawdown_pct": max_drawdown_pct(result.equity / result.initial_equity),
        "avg_exposure": float(np.mean(result.exposure)) if len(result.exposure) else 0.0,
        "max_exposure": float(np.max(result.exposure)) if len(result.exposure) else 0.0,
        "periods": len(r),
        "deflated_sharpe": dsr["dsr"],
        "n_trials": n_trials,
        "breaker_events": len(result.events),
    }
