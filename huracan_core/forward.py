"""The forward record: how each champion has traded since a night handed it out, after costs.

Why: a champion's metrics.json is its walk-forward, out-of-sample but older than the hand-out. What a desk
asks of a model factory is whether yesterday's champions made money after they were handed out. So every
night D scores each champion that the rosters of earlier nights handed out, on the bars after its hand-out
up to D's close, and a configurable rule (`settings.forward`) takes a champion that breaks it off the
roster with the reason.

What is scored, and how (nothing here is a second copy of a rule):

* A hand-out is a coin's champion as the rosters list it: `champions/{H}Z/roster.json` entries with a
  `model_id`. Night D scores, per coin, the champion of the coin's latest roster before D (the one the bot
  held during D), from `handed_out_on` H, the first night of the run of rosters that list that same model
  for the coin, to D's close. A champion that roster demoted is not scored again: its record ended there.
* Bars: every decision at the close of a bar that closed after the hand-out (open >= as_of(H)), filled at
  the next bar's open, the position still open at D's close closed at the last open known by then (D's last
  bar). Nothing after as_of(D) is read: the candles are loaded (and synced through the market source) up to
  D's close only, and each feature, cost and prediction of bar t is built from bars closed by t.
* Features: exactly as the champion's night built them (trading.live.decision_features: its window, recipe,
  market context of its universe, its encoder). Predictions: the champion's own (live.model_vote_table).
* Costs: the model's own cost model: its costs.json inputs (fees, market type) and the cost settings of its
  config.json, every bar priced point in time (simulator.bar_costs, as the trainer priced its history).
* Rule and accounting: the model's out-of-sample decision rule and backtest (training.evaluate
  .backtest_table: long when the prediction beats round trip + safety margin, short only on swaps), and its
  metrics (metrics.backtest_metrics): trades, net bps summed over trades, max drawdown of the account, hit
  rate. The walk-forward's OOS period is never scored: it ends before the model's training night closes.

Night D's record is `runs/{D}Z/forward_record.json`; the roster of D reads it (forward_* fields, demotion),
the Brain Library records it (`forward_records`, replaced per date on every recording) and the report
shows it. A rerun of D gives the same rows; a backfill of an older date writes only that date's file.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from huracan_core.atomic import read_json, write_json
from huracan_core.config import CostSettings, ForwardSettings, Settings
from huracan_core.dates import as_of_for
from huracan_core.forward_records import (  # the record's data and files
    ForwardError,
    ForwardRecord,
    HandOut,
    _roster_coins,
    _roster_nights,
    forward_path,
)
from huracan_core.logs import bind_context, get_logger
from huracan_core.paths import EngineHome

log = get_logger("forward")


def handouts_before(home: EngineHome, day: date) -> list[HandOut]:
    """The champions night `day` scores: per coin, the champion of its latest roster before `day`, unless
    that roster demoted it (its record ended there), with the first night of its run of rosters."""
    listings: dict[str, list[tuple[date, dict[str, Any]]]] = {}
    for night in _roster_nights(home, day):
        for symbol, entry in _roster_coins(home, night).items():
            listings.setdefault(symbol, []).append((night, entry))
    out = []
    for symbol, runs in sorted(listings.items()):
        last_night, last = runs[-1]
        model_id = last.get("model_id")
        if not model_id or last.get("forward_demoted"):
            continue
        first = last_night
        for night, entry in reversed(runs):
            if entry.get("model_id") != model_id:
                break
            first = night
        trained = last.get("model_training_date")
        if not trained or not last.get("model_path"):
            raise ForwardError(
                f"{home.roster_on(last_night)}: {symbol}'s champion {model_id} has no model_path or "
                "model_training_date"
            )
        out.append(
            HandOut(
                symbol, str(model_id), str(last["model_path"]), date.fromisoformat(trained), first, last_night
            )
        )
    return out


def demotion_reason(record: ForwardRecord, rule: ForwardSettings) -> str | None:
    """What in `record` breaks the rule ("forward drawdown ... since ..."), None when nothing does."""
    since = f"since its hand-out on {record.handed_out_on.isoformat()}"
    broken = []
    if record.max_drawdown_pct > rule.max_drawdown_pct:
        broken.append(
            f"forward drawdown {record.max_drawdown_pct:.2f} % beyond forward.max_drawdown_pct "
            f"{rule.max_drawdown_pct:g} % {since}"
        )
    if record.trades >= rule.min_trades and record.net_bps < rule.min_net_bps:
        broken.append(
            f"forward net {record.net_bps:+.1f} bps over {record.trades} trades (at least "
            f"forward.min_trades {rule.min_trades}) below forward.min_net_bps {rule.min_net_bps:g} {since}"
        )
    return "; ".join(broken) or None


def _judged(record: ForwardRecord, rule: ForwardSettings) -> ForwardRecord:
    broken = demotion_reason(record, rule)
    if broken is None:
        return record
    if rule.demote:
        return _replace(record, demoted=True, reason=f"demoted: {broken}")
    return _replace(record, reason=f"breaks the demotion rule (forward.demote is off): {broken}")


def _replace(record: ForwardRecord, **changes: Any) -> ForwardRecord:
    return ForwardRecord(**{**asdict(record), **changes})


def _model_cost_settings(settings: Settings, config: dict[str, Any], model_dir: Path) -> Settings:
    """The settings the model was judged with for costs: its config.json cost settings and label horizon
    (so a rerun of D with other cost settings gives the same record); today's where the model has none."""
    from pydantic import ValidationError

    from huracan_core.trading.decide import effective_settings

    eff = effective_settings(settings, config)
    stored = (config.get("settings") or {}).get("costs")
    if not stored:
        return eff
    try:
        costs = CostSettings.model_validate(stored)
    except ValidationError as exc:
        raise ForwardError(f"{model_dir / 'config.json'}: its cost settings do not validate: {exc}") from None
    return eff.model_copy(update={"costs": costs})


def _cost_inputs(model_dir: Path) -> Any:
    """Fees and market type from the model's costs.json (historical bars take spread and ADV per bar)."""
    from huracan_core.costs import CostInputs

    path = model_dir / "costs.json"
    try:
        inputs = read_json(path)["inputs"]
        return CostInputs(
            spread_bps=float(inputs.get("spread_bps", 0.0)),
            maker_fee_bps=float(inputs["maker_fee_bps"]),
            taker_fee_bps=float(inputs["taker_fee_bps"]),
            adv_usd=float(inputs.get("adv_usd", 0.0)),
            market_type=str(inputs.get("market_type", "spot")),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ForwardError(f"{path}: no usable cost inputs ({type(exc).__name__}: {exc})") from None


@dataclass(frozen=True)
class ForwardTable:
    """A champion's forward decisions as its OOS prediction table, and how its account is charged."""

    table: pl.DataFrame  # evaluate.backtest_table's columns, one row per decision bar
    market_type: str
    funding_per_bar: float  # fraction of the account per bar held (perpetuals only)


def forward_table(settings: Settings, handout: HandOut, day: date) -> ForwardTable:
    """The decisions of `handout`'s champion after its hand-out up to night `day`'s close, as the model's
    OOS prediction table (evaluate.backtest_table's columns): one row per decision bar t with open >=
    as_of(handed_out_on) whose fill and exit (open[t+1], open[t+2]) opened by as_of(day)."""
    from huracan_core.costs import leg_cost_fraction
    from huracan_core.night_inputs import cached_funding
    from huracan_core.trading.live import Champion, decision_features, model_vote_table
    from huracan_core.trading.simulator import bar_costs
    from huracan_core.training.artifacts import load_model_cached

    home = EngineHome(Path(settings.home))
    path = Path(handout.model_path)
    model_dir = path if path.is_absolute() else home.root / path
    what = f"{handout.symbol} champion {handout.model_id} ({model_dir})"
    try:
        model = load_model_cached(model_dir)  # sha256.txt verified
    except Exception as exc:
        raise ForwardError(f"{what}: cannot be loaded: {type(exc).__name__}: {exc}") from None
    bar_seconds = settings.market.timeframe_seconds
    if int(model.config.get("bar_seconds", bar_seconds)) != bar_seconds:
        raise ForwardError(
            f"{what}: trained on {model.config['bar_seconds']} s bars, market.timeframe is "
            f"{settings.market.timeframe}"
        )
    champion = Champion(
        handout.symbol,
        handout.model_id,
        model_dir,
        handout.training_date,
        home.roster_on(handout.listed_through),
        handout.listed_through,
    )
    close = as_of_for(day)
    last_open = close - timedelta(seconds=bar_seconds)
    try:
        live = decision_features(settings, champion, last_open, sync=True)
    except Exception as exc:
        raise ForwardError(f"{what}: no features up to {close.isoformat()}: {exc}") from None
    frame = live.frame
    eff = _model_cost_settings(settings, model.config, model_dir)
    vol_window = int(model.config.get("options", {}).get("vol_window", settings.training.vol_window))
    inputs = _cost_inputs(model_dir)
    costs = bar_costs(frame, eff, inputs, bar_seconds, vol_window, cached_funding(settings, champion.symbol))
    threshold = costs.total_bps + eff.costs.safety_margin_bps
    votes = model_vote_table(model, frame, threshold, live.recipe_hash)
    start = as_of_for(handout.handed_out_on)
    ts_type = frame.schema["timestamp"]
    bars = frame.select(
        "timestamp",
        pl.Series("leg_cost", np.asarray(leg_cost_fraction(costs.total_bps, costs.funding_bps), float)),
        pl.Series("round_trip_bps", np.asarray(costs.total_bps, float)),
        pl.col("open").shift(-1).cast(pl.Float64).alias("exec_price"),
        pl.col("open").shift(-2).cast(pl.Float64).alias("next_exec_price"),
        # row t holds through bar t+1 (filled at its open, left at the next): that bar's funding, by side
        pl.Series(
            "funding_long",
            np.append(costs.funding_long[1:], 0.0)
            if costs.funding_long is not None
            else np.zeros(frame.height),
        ),
        pl.Series(
            "funding_short",
            np.append(costs.funding_short[1:], 0.0)
            if costs.funding_short is not None
            else np.zeros(frame.height),
        ),
    )
    table = (
        bars.join(votes.select("timestamp", "prediction_bps", "threshold_bps"), on="timestamp", how="left")
        .filter(pl.col("timestamp") >= pl.lit(start).cast(ts_type), pl.col("next_exec_price").is_not_null())
        .sort("timestamp")
    )
    table = table.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64), pl.lit(0).alias("fold"))
    funding = float(np.mean(costs.funding_bps)) / eff.training.horizon_bars / 1e4  # tables without columns
    return ForwardTable(table, inputs.market_type, funding)


def score_handout(settings: Settings, handout: HandOut, day: date) -> ForwardRecord:
    """The champion's forward record on night `day`, judged by the demotion rule."""
    from huracan_core.metrics import backtest_metrics, periods_per_year
    from huracan_core.training.evaluate import backtest_table

    if day <= handout.handed_out_on:
        raise ForwardError(
            f"{handout.symbol}: night {day} is not after the hand-out on {handout.handed_out_on}"
        )
    forward = forward_table(settings, handout, day)
    table = forward.table
    base = {
        "symbol": handout.symbol,
        "model_id": handout.model_id,
        "handed_out_on": handout.handed_out_on,
        "scored_through": as_of_for(day),
        "days_live": (day - handout.handed_out_on).days,
        "bars": table.height,
        "demoted": False,
        "reason": None,
    }
    if table.is_empty():  # not one decision could be filled and closed by D's close yet
        return _judged(
            ForwardRecord(**base, trades=0, net_bps=0.0, gross_bps=0.0, max_drawdown_pct=0.0, hit_rate=None),
            settings.forward,
        )
    bt, _, _ = backtest_table(table, forward.market_type, forward.funding_per_bar)
    metrics = backtest_metrics(bt, periods_per_year(settings.market.timeframe_seconds), 1)
    trades = int(metrics["trades"])
    record = ForwardRecord(
        **base,
        trades=trades,
        net_bps=float(metrics["net_pnl_bps"]),
        gross_bps=float(metrics["gross_pnl_bps"]),
        max_drawdown_pct=float(metrics["max_drawdown_pct"]),
        hit_rate=float(metrics["hit_rate"]) if trades else None,
        first_bar=table["timestamp"][0],
        last_bar=table["timestamp"][-1],
    )
    return _judged(record, settings.forward)


def forward_record(settings: Settings, day: date) -> list[ForwardRecord]:
    """Every champion handed out before night `day`, scored through `day`'s close (nothing written). A
    champion that cannot be scored gets a row with no trades whose reason says why (never a lost night)."""
    home = EngineHome(Path(settings.home))
    out = []
    for handout in handouts_before(home, day):
        try:
            out.append(score_handout(settings, handout, day))
        except ForwardError as exc:
            log.warning(
                "champion not scored", symbol=handout.symbol, model_id=handout.model_id, error=str(exc)
            )
            out.append(
                ForwardRecord(
                    handout.symbol,
                    handout.model_id,
                    handout.handed_out_on,
                    as_of_for(day),
                    (day - handout.handed_out_on).days,
                    0,
                    0,
                    0.0,
                    0.0,
                    0.0,
                    None,
                    False,
                    f"not scored: {exc}",
                )
            )
    return out


def forward_stage(settings: Settings, day: date) -> dict[str, Any]:
    """Night `day`'s forward record: score every earlier champion, write `runs/{D}Z/forward_record.json`
    (atomically; a rerun replaces it) and return a summary. Run it before the night's roster, which reads it."""
    bind_context(date=day.isoformat(), stage="forward", symbol=None)
    started = time.perf_counter()
    records = forward_record(settings, day)
    rule = settings.forward
    payload = {
        "date": day.isoformat(),
        "generated_at": datetime.now(UTC).isoformat(),
        "scored_through": as_of_for(day).isoformat(),
        "rule": rule.model_dump(mode="json"),
        "scoring": "each champion's own OOS decision rule after costs (next-open fills, its costs.json), "
        "on the bars after its hand-out up to the night's close",
        "records": [r.to_json() for r in records],
        "summary": summarise(records),
    }
    path = write_json(forward_path(EngineHome(Path(settings.home)), day), payload)
    seconds = time.perf_counter() - started
    log.info("forward record", champions=len(records), demoted=payload["summary"]["demoted"], seconds=seconds)
    return {"path": str(path), **payload["summary"], "seconds": round(seconds, 3)}


def summarise(records: list[ForwardRecord]) -> dict[str, Any]:
    """Totals of a night's forward record (the report's and the stage's headline)."""
    scored = [r for r in records if not (r.reason or "").startswith("not scored")]
    return {
        "champions": len(records),
        "scored": len(scored),
        "trades": sum(r.trades for r in scored),
        "net_bps": float(sum(r.net_bps for r in scored)),
        "demoted": sum(r.demoted for r in records),
        "demoted_symbols": [r.symbol for r in records if r.demoted],
    }
