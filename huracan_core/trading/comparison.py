"""Model-only vs consensus vs buy-and-hold, per coin and for the portfolio, out-of-sample and after costs.

Why: a model's metrics.json puts the whole account on its signal; the bot trades a consensus under risk
rules. This table shows what each would have earned over the same out-of-sample bars (the model's
walk-forward test rows), after every cost:

* model_only: the model's own OOS backtest (training.evaluate.backtest_table, what metrics.json reports).
* model_under_rules: the model as the only engine, through the consensus filter, sizing and breakers.
* consensus: all 23 engines (the model included), the filter, sizing and breakers (simulator.py).
* buy_and_hold: holding the coin over the same price grid, no costs.

Per coin, model_under_rules and consensus run the one-coin account; for the portfolio the consensus runs
every coin on one account, and model_only / buy_and_hold split one account equally between the coins
(1/N each, rebalanced every bar; a coin outside its OOS span holds cash).

`compare_runs` also hands back the portfolio consensus simulation (its plans and closed positions) so the
night can record those trades in the Brain Library (`night_comparison` turns them into TradeRecords with
source "portfolio"; publish_stage passes them to brain.record.record_night).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from huracan_core.atomic import write_json
from huracan_core.config import Settings
from huracan_core.costs import CostInputs
from huracan_core.funding import FundingSeries
from huracan_core.metrics import buy_and_hold, max_drawdown_pct, periods_per_year, sharpe_ratio
from huracan_core.trades import TradeRecord
from huracan_core.trading.engines import ENGINE_NAMES, MODEL_ENGINE
from huracan_core.trading.simulator import (
    CoinPlan,
    SimulationResult,
    plan_coin,
    simulate,
    simulation_metrics,
    window,
)
from huracan_core.training.evaluate import backtest_table

STRATEGIES = ("model_only", "model_under_rules", "consensus", "buy_and_hold")
_KEEP = ("sharpe", "net_pnl_pct", "trades", "hit_rate", "max_drawdown_pct")


@dataclass(frozen=True)
class PortfolioRun:
    """The portfolio consensus account of a comparison: the plans it ran and its result (closed positions)."""

    plans: list[CoinPlan]
    result: SimulationResult


@dataclass(frozen=True)
class NightComparison:
    """compare_night's table plus the portfolio consensus trades as Brain Library records."""

    table: dict[str, Any]
    portfolio_trades: list[TradeRecord]


@dataclass(frozen=True)
class CoinInputs:
    symbol: str
    features: pl.DataFrame  # the night's features parquet (stages.features_stage)
    oos: pl.DataFrame | None  # the model folder's oos_predictions.parquet (None: no model tonight)
    cost_inputs: CostInputs
    funding: FundingSeries | None = None  # the coin's recorded funding settlements (perpetuals)


def _path_stats(returns: np.ndarray, ppy: float) -> dict[str, float]:
    value = np.cumprod(1.0 + returns)
    return {
        "sharpe": sharpe_ratio(returns, ppy),
        "net_pnl_pct": float((value[-1] - 1.0) * 100.0) if len(value) else 0.0,
        "max_drawdown_pct": max_drawdown_pct(value) if len(value) else 0.0,
    }


def _equal_weight(series: list[tuple[np.ndarray, np.ndarray]], ppy: float) -> dict[str, float]:
    """One account split 1/N between the coins' return series (timestamps ms, returns), cash where absent."""
    grid = np.unique(np.concatenate([ts for ts, _ in series]))
    total = np.zeros(len(grid))
    for ts, r in series:
        total[np.searchsorted(grid, ts)] += r
    return _path_stats(total / len(series), ppy)


def compare(
    coins: list[CoinInputs],
    settings: Settings,
    bar_seconds: int,
    *,
    kill_switch: bool = False,
    n_trials: int = 1,
) -> dict[str, Any]:
    """The comparison table as JSON-able data: `coins` (one row per coin), `portfolio`, `skipped`."""
    return compare_runs(coins, settings, bar_seconds, kill_switch=kill_switch, n_trials=n_trials)[0]


def compare_runs(
    coins: list[CoinInputs],
    settings: Settings,
    bar_seconds: int,
    *,
    kill_switch: bool = False,
    n_trials: int = 1,
) -> tuple[dict[str, Any], PortfolioRun | None]:
    """`compare`'s table and the portfolio consensus run (None when no coin had OOS predictions)."""
    ppy = periods_per_year(bar_seconds)
    model_only_idx = [ENGINE_NAMES.index(MODEL_ENGINE)]
    rows, skipped = [], {}
    plans: dict[str, list[CoinPlan]] = {"consensus": [], "model_under_rules": []}
    model_series, hold_series = [], []
    for coin in coins:
        if coin.oos is None or coin.oos.is_empty():
            skipped[coin.symbol] = "no out-of-sample predictions (no model trained tonight)"
            continue
        oos = coin.oos.sort("timestamp")
        full = plan_coin(
            coin.symbol, coin.features, settings, coin.cost_inputs, bar_seconds, oos=oos, funding=coin.funding
        )
        alone = plan_coin(
            coin.symbol,
            coin.features,
            settings,
            coin.cost_inputs,
            bar_seconds,
            oos=oos,
            engines=model_only_idx,
            funding=coin.funding,
        )
        start = int(oos["timestamp"].dt.epoch("ms")[0])
        end = int(oos["timestamp"].dt.epoch("ms")[-1]) + bar_seconds * 1000  # the last decision's fill bar
        row: dict[str, Any] = {
            "symbol": coin.symbol,
            "oos_start": oos["timestamp"][0].isoformat(),
            "oos_end": oos["timestamp"][-1].isoformat(),
            "oos_rows": oos.height,
        }
        bt, prices, grid_ts = backtest_table(oos, coin.cost_inputs.market_type, full.funding_per_bar)
        m = simulation_like(bt, ppy)
        row["model_only"] = m
        model_series.append((grid_ts, bt.returns))
        bh = buy_and_hold(prices, ppy)
        row["buy_and_hold"] = {
            "sharpe": bh["buy_hold_sharpe"],
            "net_pnl_pct": bh["buy_hold_return_pct"],
            "max_drawdown_pct": bh["buy_hold_max_drawdown_pct"],
        }
        hold_series.append((grid_ts[1:], prices[1:] / prices[:-1] - 1.0))
        for name, plan in (("consensus", full), ("model_under_rules", alone)):
            part = window(plan, start, end)
            plans[name].append(part)
            res = simulate([part], settings.trading, kill_switch=kill_switch)
            sm = simulation_metrics(res, ppy, n_trials)
            row[name] = {k: sm[k] for k in _KEEP}
        rows.append(row)
    portfolio: dict[str, Any] = {"coins": len(rows)}
    run = None
    if rows:
        portfolio["model_only"] = _equal_weight(model_series, ppy)
        portfolio["buy_and_hold"] = _equal_weight(hold_series, ppy)
        for name in ("consensus", "model_under_rules"):
            res = simulate(plans[name], settings.trading, kill_switch=kill_switch)
            if name == "consensus":
                run = PortfolioRun(plans[name], res)
            sm = simulation_metrics(res, ppy, n_trials)
            portfolio[name] = {k: sm[k] for k in _KEEP}
            events: dict[str, int] = {}
            for e in res.events:
                events[f"{e.breaker}: {e.action}"] = events.get(f"{e.breaker}: {e.action}", 0) + 1
            portfolio[name]["breaker_events"] = events
    table = {
        "evaluation": "out-of-sample (the models' walk-forward test rows), after costs",
        "bar_seconds": bar_seconds,
        "kill_switch": kill_switch,
        "trading": settings.trading.model_dump(),
        "coins": rows,
        "portfolio": portfolio,
        "skipped": skipped,
    }
    return table, run


def simulation_like(bt: Any, ppy: float) -> dict[str, float]:
    """The comparison's columns from a backtest.BacktestResult (the model-only account)."""
    stats = _path_stats(bt.returns, ppy)
    trades = bt.n_trades
    return {**stats, "trades": trades, "hit_rate": float(np.mean(bt.trade_return > 0)) if trades else 0.0}


def format_table(result: dict[str, Any]) -> str:
    """A fixed-width text table: Sharpe and net % per strategy, per coin and for the portfolio."""
    head = f"{'coin':>12} " + " ".join(f"{s[:17]:>17}" for s in STRATEGIES)
    sub = f"{'':>12} " + " ".join(f"{'Sharpe':>8} {'net %':>8}" for _ in STRATEGIES)
    lines = [head, sub]

    def cells(row: dict[str, Any]) -> str:
        return " ".join(
            f"{row[s]['sharpe']:>8.2f} {row[s]['net_pnl_pct']:>8.1f}" if s in row else f"{'-':>17}"
            for s in STRATEGIES
        )

    for row in result["coins"]:
        lines.append(f"{row['symbol']:>12} {cells(row)}")
    if result["coins"]:
        lines.append(f"{'PORTFOLIO':>12} {cells(result['portfolio'])}")
    for sym, why in result.get("skipped", {}).items():
        lines.append(f"{sym:>12} skipped: {why}")
    return "\n".join(lines)


def compare_night(settings: Settings, day: date) -> dict[str, Any]:
    """The comparison for night `day` from the engine home: the day's coins, their features, tonight's
    models' OOS predictions (ledger), the kill switch; written to runs/{D}Z/trading_comparison.json."""
    return night_comparison(settings, day).table


def night_comparison(settings: Settings, day: date) -> NightComparison:
    """compare_night's table (written to runs/{D}Z/trading_comparison.json) and the portfolio consensus
    account's closed positions as TradeRecords (source "portfolio", money in `costs.trade_size_usd` of the
    quote currency, each coin's trades under tonight's model id), for the Brain Library (which converts them
    to `market.account_currency` as it records them)."""
    from pathlib import Path

    from huracan_core.atomic import read_json
    from huracan_core.ledger import RunLedger
    from huracan_core.night_inputs import (
        cached_funding,
        cost_inputs_for,
        engine_home,
        load_features,
        load_universe,
    )
    from huracan_core.trades import quote_currency
    from huracan_core.trading.killswitch import read_kill_switch
    from huracan_core.trading.records import portfolio_records

    home = engine_home(settings)
    entries = RunLedger(home, day).entries()
    coins, missing, models = [], {}, {}
    for symbol in load_universe(settings, day).selected:
        entry = entries.get(symbol)
        oos_path = (
            Path(entry.output_path) / "oos_predictions.parquet" if entry and entry.output_path else None
        )
        try:
            feats = load_features(settings, day, symbol)
        except Exception as exc:  # a coin without features is reported, never fatal for the others
            missing[symbol] = f"no features: {exc}"
            continue
        oos = pl.read_parquet(oos_path) if oos_path is not None and oos_path.is_file() else None
        if oos is not None and (oos_path.parent / "metadata.json").is_file():
            meta = read_json(oos_path.parent / "metadata.json")
            models[symbol] = (meta["model_id"], meta.get("version", oos_path.parent.name))
        inputs = cost_inputs_for(settings, day, symbol)
        funding = cached_funding(settings, symbol) if inputs.market_type == "swap" else None
        coins.append(CoinInputs(symbol, feats, oos, inputs, funding))
    result, run = compare_runs(
        coins,
        settings,
        settings.market.timeframe_seconds,
        kill_switch=read_kill_switch(home).on,
        n_trials=settings.training.n_trials,
    )
    result["skipped"].update(missing)
    records = (
        portfolio_records(
            run.result.trades,
            run.plans,
            models=models,
            training_date=day.isoformat(),
            currency=quote_currency(settings),  # converted to the account currency as recorded
            capital=settings.costs.trade_size_usd,
        )
        if run is not None
        else []
    )
    result["portfolio"]["recorded_trades"] = len(records)
    write_json(home.run_dir(day) / "trading_comparison.json", result)
    return NightComparison(result, records)
