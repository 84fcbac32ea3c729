"""The decision for a coin's latest closed bar, for a live trading bot: `decide(...)` and `huracan decide`.

Why this exists: the roster says which coins have a champion; a bot also needs to know, at every bar, what
to do with each. The answer is exactly what the portfolio simulator would do at that bar: the 23 engines'
votes (the champion is the 23rd), their reliability-weighted consensus S, the adaptive bar |S| > k x std(S),
the cost gate (expected edge beyond the round trip + safety margin), the circuit breakers, the risk rules
sizing the position against what the bot already holds, and the operator's kill switch over everything.

Nothing here is a second copy of those rules: the features come from the champion's night's recipe
(live.py), the votes, consensus, costs and direction from `simulator.plan_coin`, the breakers from
`breakers.Breakers`, the action and size from `rules.position_action` / `risk.size_position` /
`rules.final_action`, the very functions `simulator.simulate` calls. A test replays every bar of a recorded
stretch through both and requires the same decision.

    from huracan_core.config import load_settings
    from huracan_core.trading.decide import decide
    from huracan_core.trading.rules import OpenPosition

    d = decide(load_settings(), "BTC-USDT", open_positions=[OpenPosition("ETH-USDT", 1, 2500.0, 50.0)],
               equity=10_000.0)
    d.direction, d.action, d.size["notional"], d.reasons

Inputs the rules need that only the bot knows are passed in: its open positions (each with notional and the
loss at its stop), equity, the equity at the start of the UTC day, its current losing streak and whether
the daily-drawdown breaker already fired today. Money is in account currency (the default equity 1.0
gives sizes as fractions of equity).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from huracan_core.atomic import IntegrityError
from huracan_core.config import Settings
from huracan_core.logs import bind_context, clear_context
from huracan_core.paths import EngineHome
from huracan_core.symbols import normalise_symbol
from huracan_core.trading.breakers import Breakers
from huracan_core.trading.engines import ENGINE_NAMES
from huracan_core.trading.killswitch import KillSwitchState, read_kill_switch
from huracan_core.trading.live import (
    ChampionCorrupt,
    ChampionMissing,
    DecideError,
    current_champion,
    decision_features,
    latest_closed_bar,
    model_vote_table,
)
from huracan_core.trading.risk import size_position
from huracan_core.trading.rules import (
    SIDES,
    OpenPosition,
    final_action,
    no_entry,
    open_risk_of,
    position_action,
)
from huracan_core.trading.simulator import CoinPlan, bar_costs, plan_coin

__all__ = ["Decision", "DecideError", "OpenPosition", "decide"]


@dataclass
class Decision:
    """What the bot should do with one coin after its latest closed bar, and why (JSON: `to_json`)."""

    symbol: str
    direction: str  # long | short | flat: the side to hold after the next open, every rule applied
    action: str  # open | hold | close | reverse | none (against the bot's position in this coin)
    signal: str  # the consensus's own direction before the kill switch, breakers and sizing
    confidence: float  # 0-100
    score: float  # consensus S in [-1, 1]
    score_std: float | None  # rolling std of S (None while it warms up: no trade)
    k: float  # consensus_k (x defence_k_mult in volatility defence)
    score_threshold: float | None  # k x std(S): |S| must exceed it
    expected_edge_bps: float  # S x the slope of past labels on past scores
    round_trip_bps: float  # fees + spread + slippage (+ funding) of the bar, point in time
    safety_margin_bps: float
    cost_threshold_bps: float  # round trip + safety margin: the edge must beat it
    edge_margin_bps: float  # edge in S's direction minus cost_threshold_bps (> 0: the cost gate passes)
    model_prediction_bps: float | None  # the champion's own forecast of the bar (its vote's input)
    price: float  # the bar's close (fills are at the next open)
    atr_pct: float
    size: dict[str, Any]  # notional, quantity, risk, risk_pct, stop_fraction, stop_price, bound_by, size_mult
    equity: float
    day_start_equity: float
    open_positions: list[dict[str, Any]]
    breakers: dict[str, Any]
    kill_switch: dict[str, Any]
    engines: list[dict[str, Any]]  # engines with weight > 0: vote and weight at the bar
    reasons: list[str]
    model_id: str
    model_path: str
    model_training_date: str
    champion_pointer: str
    at: datetime  # the moment decided for
    bar_time: datetime  # open time of the decided bar (the latest closed at `at`)
    bar_close: datetime
    decided_at: datetime  # wall clock
    latency_ms: float = 0.0
    notes: list[str] = field(default_factory=list)  # data caveats (a coin left out of the market index)
    stored: dict[str, Any] = field(default_factory=dict)  # Brain Library outcome

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("at", "bar_time", "bar_close", "decided_at"):
            out[key] = getattr(self, key).isoformat()
        return _finite(out)


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null (a warming-up std, an unknown vote)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _f(x: Any) -> float:
    return float(x)


def _opt(x: Any) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def effective_settings(settings: Settings, config: dict[str, Any]) -> Settings:
    """The settings with the champion's own label horizon (the consensus judges votes by the horizon the
    model predicts); everything else (costs, trading rules) is today's configuration, as for the night."""
    horizon = int(config.get("horizon_bars", settings.training.horizon_bars))
    if horizon == settings.training.horizon_bars:
        return settings
    return settings.model_copy(
        update={"training": settings.training.model_copy(update={"horizon_bars": horizon})}
    )


def _positions(open_positions: Iterable[OpenPosition], symbol: str) -> tuple[list[OpenPosition], int]:
    positions = [p if isinstance(p, OpenPosition) else OpenPosition(**p) for p in open_positions]
    seen: set[str] = set()
    for p in positions:
        name = normalise_symbol(p.symbol)
        if name in seen:
            raise ValueError(f"open positions list {name} twice: pass one net position per coin")
        seen.add(name)
    held = next((p.side for p in positions if normalise_symbol(p.symbol) == symbol), 0)
    return positions, held


def _reasons(
    plan: CoinPlan,
    i: int,
    signal: int,
    market_type: str,
    why_flat: str,
    action: str,
    size: Any,
    held: int,
    target: int,
) -> list[str]:
    """One line per rule, in the order they apply: the consensus bar, the cost gate, spot-only shorts,
    volatility defence, the kill switch / halt, then the action and what bound its size."""
    s, std, k = float(plan.score[i]), float(plan.score_std[i]), float(plan.k[i])
    edge, thr = float(plan.edge_bps[i]), float(plan.cost_threshold_bps[i])
    out = []
    if not np.isfinite(std):
        out.append(f"consensus S {s:+.3f}: std of S not known yet (fewer than 10 bars), no trade")
    else:
        cmp = ">" if abs(s) > k * std else "<="
        out.append(f"consensus S {s:+.3f}: |S| {cmp} k {k:g} x std {std:.3f} = {k * std:.3f}")
    directional = edge if s >= 0 else -edge
    cmp = ">" if directional > thr else "<="
    out.append(
        f"expected edge {edge:+.1f} bps: {abs(edge):.1f} in S's direction {cmp} round trip + safety margin "
        f"{thr:.1f} bps"
        if directional > 0
        else f"expected edge {edge:+.1f} bps is not in S's direction: no edge over the {thr:.1f} bps cost"
    )
    strong = abs(s) > k * np.nan_to_num(std, nan=np.inf)
    if signal == 0 and s < 0 and market_type != "swap" and strong and -edge > thr:
        out.append("a short signal, but shorts trade only on swaps (this coin is spot)")
    if bool(plan.vol_alarm[i]):
        out.append("volatility defence: the consensus bar is raised and the size cut")
    if why_flat:
        out.append(why_flat)
    verb = {
        "open": f"open {SIDES[target]}",
        "hold": f"hold the {SIDES[held]} position",
        "close": f"close the {SIDES[held]} position",
        "reverse": f"reverse the {SIDES[held]} position to {SIDES[target]}",
        "none": "stay flat",
    }[action]
    if size is not None and action in ("open", "reverse"):
        verb += f": size bound by {size.bound_by}"
    elif size is not None and not size.opens:
        verb += f" (no size: {size.bound_by})"
    out.append(verb)
    return out


def decide(
    settings: Settings,
    symbol: str,
    at: datetime | None = None,
    open_positions: Iterable[OpenPosition] = (),
    equity: float = 1.0,
    *,
    day_start_equity: float | None = None,
    loss_streak: int = 0,
    halted: bool = False,
    record: bool = True,
    sync: bool = True,
) -> Decision:
    """The decision for `symbol`'s latest bar closed at `at` (default: now), under the current champion.

    `open_positions`: every position the bot holds or has ordered (`rules.OpenPosition`: symbol, side +1/-1,
    notional, loss at its stop), this coin's included; `equity` and `day_start_equity` (default: equity) in
    account currency; `loss_streak`: the bot's losing trades in a row; `halted`: the daily-drawdown breaker
    already fired today. `record`: append the decision to the Brain Library (`decisions`); `sync`: fetch
    missing candles through the market source first.

    Raises `DecideError` (`exit_code` 1: no champion, stale data; 2: corrupt champion, recipe or timeframe
    mismatch) naming the file or setting at fault, and ValueError for bad arguments.
    """
    started = time.perf_counter()
    symbol = normalise_symbol(symbol)
    clear_context("date")
    bind_context(stage="decide", symbol=symbol)
    now = datetime.now(UTC)
    moment = now if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    if moment > now + timedelta(seconds=1):
        raise ValueError(f"at {moment.isoformat()} is in the future (now {now.isoformat()})")
    if not (np.isfinite(equity) and equity > 0):
        raise ValueError(f"equity must be a finite number > 0, got {equity!r}")
    day_start = equity if day_start_equity is None else float(day_start_equity)
    positions, held = _positions(open_positions, symbol)
    champion = current_champion(settings, symbol, at=None if at is None else moment)
    model = _load(champion)
    bar_seconds = settings.market.timeframe_seconds
    if int(model.config.get("bar_seconds", bar_seconds)) != bar_seconds:
        raise DecideError(
            f"{champion.model_dir / 'config.json'}: trained on {model.config['bar_seconds']} s bars, "
            f"market.timeframe is {settings.market.timeframe} ({bar_seconds} s)"
        )
    last_open = latest_closed_bar(moment, bar_seconds)
    live = decision_features(settings, champion, last_open, sync=sync)
    if live.recipe_hash != model.recipe_hash:
        raise ChampionCorrupt(
            f"{champion.model_dir / 'features.json'}: trained on recipe {model.recipe_hash[:12]}…, this engine "
            f"builds {live.recipe_hash[:12]}…: the champion cannot be fed its own features"
        )
    plan, prediction = coin_plan(settings, champion, model, live.frame, live.recipe_hash)
    i = len(plan.timestamp_ms) - 1
    trading = settings.trading
    ts = datetime.fromtimestamp(int(plan.timestamp_ms[i]) / 1000.0, tz=UTC)

    # the breakers as the simulator holds them at this bar's close
    breakers = Breakers(trading)
    breakers.new_day(ts.date(), day_start)
    breakers.halted = bool(halted)
    breakers.loss_streak = int(loss_streak)
    fired = breakers.check_drawdown(ts, equity)
    alarm, vol = bool(plan.vol_alarm[i]), float(plan.volatility[i])
    breakers.set_defence(ts, symbol, alarm, vol)
    mult = breakers.size_mult(symbol)

    kill = read_kill_switch(EngineHome(Path(settings.home)))
    signal = int(plan.direction[i])
    target, action, why_flat = position_action(signal, held, kill_switch=kill.on, halted=breakers.halted)
    if kill.on:
        why_flat = f"kill switch on since {kill.changed_at} by {kill.changed_by}: {kill.reason}"
    atr = float(plan.atr_pct[i])
    size = None
    if action in ("open", "reverse"):
        others = [p for p in positions if normalise_symbol(p.symbol) != symbol]
        size = size_position(
            equity=equity,
            day_start_equity=breakers.day_start_equity,
            confidence=float(plan.confidence[i]),
            atr_pct=atr,
            open_risk=open_risk_of(others),
            settings=trading,
            size_mult=mult,
        )
    final = final_action(action, held, size)
    side = target if final in ("open", "reverse", "hold") else 0
    shown = size or no_entry(
        {
            "hold": "holding: no new size",
            "close": "closing: no new size",
            "none": "flat: nothing to size",
        }.get(action, why_flat),
        atr,
        trading,
    )
    close = float(plan.close[i])
    s, std, k = float(plan.score[i]), float(plan.score_std[i]), float(plan.k[i])
    edge, thr = float(plan.edge_bps[i]), float(plan.cost_threshold_bps[i])
    market_type = str(model.config.get("market_type", "spot"))
    reasons = _reasons(plan, i, signal, market_type, why_flat, final, size, held, target)
    decision = Decision(
        symbol=symbol,
        direction=SIDES[side],
        action=final,
        signal=SIDES[signal],
        confidence=_f(plan.confidence[i]),
        score=s,
        score_std=_opt(std),
        k=k,
        score_threshold=_opt(k * std),
        expected_edge_bps=edge,
        round_trip_bps=thr - settings.costs.safety_margin_bps,
        safety_margin_bps=float(settings.costs.safety_margin_bps),
        cost_threshold_bps=thr,
        edge_margin_bps=(edge if s >= 0 else -edge) - thr,
        model_prediction_bps=prediction,
        price=close,
        atr_pct=atr,
        size={
            "notional": shown.notional,
            "quantity": shown.notional / close if close > 0 else 0.0,
            "risk": shown.risk,
            "risk_pct": shown.risk_pct,
            "stop_fraction": shown.stop_fraction,
            # the new position's stop if it were filled at this close (the fill is the next open)
            "stop_price": close * (1.0 - side * shown.stop_fraction)
            if final in ("open", "reverse")
            else None,
            "bound_by": shown.bound_by,
            "size_mult": mult,
        },
        equity=float(equity),
        day_start_equity=breakers.day_start_equity,
        open_positions=[asdict(p) for p in positions],
        breakers=_breakers_state(breakers, symbol, fired, alarm, vol, equity),
        kill_switch=_kill_state(kill),
        engines=_engines(plan, i),
        reasons=reasons,
        model_id=model.model_id or champion.model_id,
        model_path=str(champion.model_dir),
        model_training_date=champion.training_date.isoformat(),
        champion_pointer=str(champion.pointer),
        at=moment,
        bar_time=ts,
        bar_close=ts + timedelta(seconds=bar_seconds),
        decided_at=now,
        notes=list(live.notes),
    )
    decision.latency_ms = (time.perf_counter() - started) * 1000.0
    if record:
        from huracan_core.trading.decision_store import record_decision

        decision.stored = record_decision(settings.database_url, decision)
    return decision


def _load(champion: Any) -> Any:
    """The champion's model folder, sha256-verified on every call (parsed once per process and manifest)."""
    from huracan_core.training.artifacts import ModelMissing, ModelRecipeMismatch, load_model_cached

    try:
        return load_model_cached(champion.model_dir)
    except ModelMissing as exc:
        raise ChampionMissing(f"champion {champion.model_id} named by {champion.pointer}: {exc}") from None
    except (IntegrityError, ModelRecipeMismatch) as exc:
        raise ChampionCorrupt(f"champion {champion.model_id} named by {champion.pointer}: {exc}") from None
    except (OSError, ValueError, KeyError) as exc:
        raise ChampionCorrupt(
            f"champion {champion.model_id} at {champion.model_dir} cannot be loaded: {type(exc).__name__}: {exc}"
        ) from None


def coin_plan(
    settings: Settings, champion: Any, model: Any, frame: Any, recipe_hash: str
) -> tuple[CoinPlan, float | None]:
    """The simulator's plan (votes, consensus, costs, direction per bar) of the champion's coin over
    `frame`, with the champion as its model engine (live.model_vote_table), and the champion's prediction
    at the last bar. The equality test builds the simulator's side with this very function on the whole
    recorded stretch; decide calls it on the stretch cut at `at`."""
    from huracan_core.night_inputs import cached_funding, cost_inputs_for

    eff = effective_settings(settings, model.config)
    bar_seconds = settings.market.timeframe_seconds
    vol_window = int(model.config.get("options", {}).get("vol_window", settings.training.vol_window))
    try:
        cost_inputs = cost_inputs_for(settings, champion.training_date, champion.symbol)
    except (KeyError, ValueError) as exc:
        raise DecideError(
            f"no cost inputs for {champion.symbol} on {champion.training_date}: {exc}"
        ) from None
    funding = cached_funding(settings, champion.symbol) if cost_inputs.market_type == "swap" else None
    costs = bar_costs(frame, eff, cost_inputs, bar_seconds, vol_window, funding)
    votes = model_vote_table(model, frame, costs.total_bps + eff.costs.safety_margin_bps, recipe_hash)
    plan = plan_coin(
        champion.symbol, frame, eff, cost_inputs, bar_seconds, oos=votes, vol_window=vol_window, costs=costs
    )
    last = frame["timestamp"][-1]
    hit = votes.filter(votes["timestamp"] == last)["prediction_bps"]
    prediction = float(hit[0]) if hit.len() and hit[0] is not None else None
    return plan, prediction


def _breakers_state(
    breakers: Breakers, symbol: str, fired: bool, alarm: bool, vol: float, equity: float
) -> dict[str, Any]:
    t = breakers.settings
    down = 100.0 * (1.0 - equity / breakers.day_start_equity)
    streak_on = breakers.loss_streak >= t.breaker_loss_streak
    return {
        "daily_drawdown": {
            "halted": breakers.halted,
            "fired_now": fired,
            "down_pct": down,
            "limit_pct": t.breaker_daily_drawdown_pct,
        },
        "daily_stop": {
            "down_pct": down,
            "limit_pct": t.daily_stop_pct,
            "no_new_entries": down >= t.daily_stop_pct,
        },
        "loss_streak": {
            "losses_in_a_row": breakers.loss_streak,
            "limit": t.breaker_loss_streak,
            "on": streak_on,
            "size_mult": t.breaker_loss_streak_size_mult if streak_on else 1.0,
        },
        "volatility": {
            "defence": alarm,
            "volatility_20": vol,
            "percentile": t.breaker_vol_percentile,
            "k_mult": t.defence_k_mult if alarm else 1.0,
            "size_mult": t.defence_size_mult if alarm else 1.0,
        },
        "size_mult": breakers.size_mult(symbol),
        "events": [e.to_json() for e in breakers.events],
    }


def _kill_state(kill: KillSwitchState) -> dict[str, Any]:
    return {
        "on": kill.on,
        "reason": kill.reason,
        "changed_at": kill.changed_at,
        "changed_by": kill.changed_by,
    }


def _engines(plan: CoinPlan, i: int) -> list[dict[str, Any]]:
    if plan.votes is None or plan.weights is None:
        return []
    votes, weights = plan.votes[i], plan.weights[i]
    rows = [
        {"engine": ENGINE_NAMES[j], "vote": _opt(votes[j]), "weight": float(weights[j])}
        for j in range(len(ENGINE_NAMES))
        if weights[j] > 0
    ]
    return sorted(rows, key=lambda r: -abs(r["weight"] * (r["vote"] or 0.0)))
