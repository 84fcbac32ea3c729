"""One function per nightly stage, composing the engine's modules. Orchestrators (Dagster assets,
the Ray task wrapper, tests) call these and nothing deeper, so every path runs the same code.

Each stage reads its inputs from the engine home and writes its outputs there atomically; the
return value is a small summary for metadata and logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from huracan_core.atomic import write_parquet
from huracan_core.candles.funding_store import FundingStore
from huracan_core.candles.store import CandleStore, SyncReport
from huracan_core.config import Settings
from huracan_core.dates import as_of_for
from huracan_core.features import (
    CrossAssetInputs,
    FeatureRecipe,
    build_features,
    equal_weight_market,
    validate_features,
)
from huracan_core.features.cross_sectional import FAMILY as XS_FAMILY
from huracan_core.features.cross_sectional import universe_table
from huracan_core.ledger import CoinEntry, RunLedger, now_iso
from huracan_core.logs import bind_context, get_logger
from huracan_core.market.factory import build_source
from huracan_core.night_inputs import (  # the readers of a night's files (re-exported for callers)
    BTC,
    ETH,
    StageError,
    cached_funding,
    candle_window,
    cost_inputs_for,
    cross_sectional_path,
    engine_home,
    load_candles,
    load_features,
    load_universe,
    market_context_path,
    night_recipe,
)
from huracan_core.storage import build_storage
from huracan_core.symbols import normalise_symbol
from huracan_core.universe import Universe, select_universe

log = get_logger("stages")


def choose_universe(
    settings: Settings, day: date, *, symbols: list[str] | None = None, top_n: int | None = None
) -> Universe:
    """Select the day's coins at the day's close, with every reason (nothing is stored yet: the caller
    decides whether this selection may replace the day's current one)."""
    bind_context(date=day.isoformat(), stage="universe")
    source = build_source(settings, as_of_for(day))
    return select_universe(source, settings.universe, settings.market.quote, symbols=symbols, top_n=top_n)


def save_universe(settings: Settings, day: date, universe: Universe) -> None:
    universe.save(engine_home(settings).universe(day))
    log.info("universe selected", selected=len(universe.selected), excluded=len(universe.excluded))


def universe_stage(
    settings: Settings, day: date, *, symbols: list[str] | None = None, top_n: int | None = None
) -> Universe:
    """Select the day's coins at the day's close and store the selection with every reason."""
    universe = choose_universe(settings, day, symbols=symbols, top_n=top_n)
    save_universe(settings, day, universe)
    return universe


def candles_stage(settings: Settings, day: date, symbol: str) -> SyncReport:
    """Bring the coin's cache up to the day's close, fetching only missing bars."""
    symbol = normalise_symbol(symbol)
    bind_context(date=day.isoformat(), symbol=symbol, stage="candles")
    home = engine_home(settings)
    since, until = candle_window(settings, day)
    source = build_source(settings, until)
    report = CandleStore(home, build_storage(settings.storage)).sync(
        source, symbol, settings.market.timeframe, since=since, until=until
    )
    log.info("candles synced", bars_added=report.bars_added, requests=report.requests, bars=report.bars_total)
    if _market_type(settings, day, symbol) == "swap":
        funding = FundingStore(home).sync(source, symbol, since, until)
        if funding.available:
            log.info(
                "funding synced",
                settlements_added=funding.settlements_added,
                settlements=funding.settlements_total,
            )
        else:
            log.warning(
                "no recorded funding: costs charge the constant funding_bps_per_8h", note=funding.note
            )
    return report


def _market_type(settings: Settings, day: date, symbol: str) -> str:
    """The coin's market type in the day's universe (the setting when the universe has no row for it)."""
    try:
        return load_universe(settings, day).row(symbol).market_type
    except (KeyError, ValueError, OSError, StageError):
        return settings.universe.market_type


def market_context_stage(settings: Settings, day: date, symbols: list[str]) -> dict[str, Any]:
    """Cross-asset references of the day: BTC and ETH closes and the equal-weight universe return; with
    `market.cross_sectional_features`, also the universe's per-bar cross-sectional table (ranks, excess
    returns, breadth, dispersion, market volatility: features.cross_sectional), computed once here over
    every coin with candles and joined per coin by the features stage."""
    bind_context(date=day.isoformat(), stage="market_context")
    frames: dict[str, pl.DataFrame] = {}
    for symbol in symbols:
        try:
            frames[symbol] = load_candles(settings, day, symbol)
        except Exception as exc:  # a coin without candles simply does not join the index
            log.warning("coin left out of the market index", symbol=symbol, error=str(exc))
    if not frames:
        raise StageError(f"no candles for any of the {len(symbols)} coins of {day}")
    market = equal_weight_market(frames)
    path = market_context_path(settings, day)
    write_parquet(path, market)
    for ref in (BTC, ETH):
        if ref in frames:
            write_parquet(path.with_name(f"_ref_{ref}.parquet"), frames[ref])
    info: dict[str, Any] = {
        "path": str(path),
        "rows": market.height,
        "coins": len(frames),
        "has_btc": BTC in frames,
        "has_eth": ETH in frames,
    }
    recipe = night_recipe(settings)
    if recipe.columns_of(XS_FAMILY):
        table = universe_table(frames, recipe.features)
        write_parquet(cross_sectional_path(settings, day), table)
        info["cross_sectional_rows"] = table.height
    return info


def _cross_inputs(settings: Settings, day: date, symbol: str, recipe: FeatureRecipe) -> CrossAssetInputs:
    path = market_context_path(settings, day)
    if not path.is_file():
        raise StageError(f"no market context for {day} at {path}: materialise `market_context` first")
    refs = {ref: path.with_name(f"_ref_{ref}.parquet") for ref in (BTC, ETH)}
    universe = None
    if recipe.columns_of(XS_FAMILY):
        table = cross_sectional_path(settings, day)
        if not table.is_file():
            raise StageError(
                f"no cross-sectional table for {day} at {table} (market.cross_sectional_features is on): "
                "materialise `market_context` again"
            )
        universe = (
            pl.scan_parquet(table)
            .filter(pl.col("symbol") == symbol)
            .drop("symbol")
            .sort("timestamp")
            .collect()
        )
    return CrossAssetInputs(
        btc=pl.read_parquet(refs[BTC]) if refs[BTC].is_file() else None,
        eth=pl.read_parquet(refs[ETH]) if refs[ETH].is_file() else None,
        market=pl.read_parquet(path),
        universe=universe,
    )


def features_stage(settings: Settings, day: date, symbol: str) -> dict[str, Any]:
    """Compute the recipe for one coin from its cached candles and the day's market context."""
    symbol = normalise_symbol(symbol)
    bind_context(date=day.isoformat(), symbol=symbol, stage="features")
    recipe = night_recipe(settings)
    candles = load_candles(settings, day, symbol)
    if candles.is_empty():
        raise StageError(f"{symbol} has no cached candles for {day}: materialise `candles` first")
    frame = build_features(candles, recipe, _cross_inputs(settings, day, symbol, recipe))
    validate_features(frame, recipe)
    path = engine_home(settings).features(day, symbol)
    write_parquet(path, frame)
    return {
        "path": str(path),
        "rows": frame.height,
        "columns": len(recipe.model_columns),
        "recipe_hash": recipe.content_hash,
        "first": frame["timestamp"].min(),
        "last": frame["timestamp"].max(),
    }


def prepare_day(
    settings: Settings, day: date, *, top_n: int | None = None, symbols: list[str] | None = None
) -> list[str]:
    """Every stage before training, in this process and in order (benchmarks and tests that measure
    training alone); returns the day's coins. Orchestrators run these stages as separate steps."""
    symbols = universe_stage(settings, day, symbols=symbols, top_n=top_n).selected
    for symbol in symbols:
        candles_stage(settings, day, symbol)
    market_context_stage(settings, day, symbols)
    for symbol in symbols:
        features_stage(settings, day, symbol)
    encoder_stage(settings, day, symbols)
    return symbols


# --- encoder, model, roster, exports ----------------------------------------------------------------


def encoder_stage(settings: Settings, day: date, symbols: list[str]) -> dict[str, Any]:
    """Fit the day's shared encoder on the pooled features of every coin that has them. A small universe
    (one or two pinned coins) gets a reduced encoder or none, with the reason in `shared_encoder.json`:
    never a failed day."""
    from huracan_core.training.encoder import fit_shared_encoder

    bind_context(date=day.isoformat(), stage="shared_encoder")
    frames = {}
    for symbol in symbols:
        path = engine_home(settings).features(day, symbol)
        if path.is_file():
            frames[symbol] = pl.read_parquet(path)
    if not frames:
        raise StageError(f"no coin of {day} has features: nothing to fit the shared encoder on")
    recipe = night_recipe(settings)
    # 5 pooled rows per encoded column: enough for the leading principal components, and a 3-coin
    # day of the seed's 150 daily bars (~450 rows for ~67 columns) still gets its encoder
    info = fit_shared_encoder(
        frames,
        recipe,
        as_of_for(day),
        engine_home(settings).encoder_dir(day),
        bar_seconds=settings.market.timeframe_seconds,
        min_rows=max(5 * len(recipe.model_columns), 200),
    )
    log.info(
        "shared encoder", mode=info.mode, components=info.n_components, rows=info.rows, reason=info.reason
    )
    return dict(vars(info))


@dataclass
class ModelOutcome:
    """What one coin's model step produced: the training result and the night's champion decision."""

    result: Any  # huracan_core.training.trainer.TrainResult
    promoted: bool
    decision: str
    started_at: str
    ended_at: str

    @property
    def skipped_reason(self) -> str | None:
        return self.result.skipped_reason

    def entry(self) -> CoinEntry:
        """The coin's line of the night's status.json."""
        result = self.result
        wall = (
            datetime.fromisoformat(self.ended_at) - datetime.fromisoformat(self.started_at)
        ).total_seconds()
        common = {
            "stage": "model",
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "wall_minutes": round(wall / 60, 4),
            "output_path": str(result.model_dir) if result.model_dir else None,
        }
        if result.skipped_reason:
            return CoinEntry(status="skipped", reason=result.skipped_reason, **common)
        headline = {k: result.metrics.get(k) for k in HEADLINE_METRICS}
        return CoinEntry(
            status="success",
            metrics_path=str(Path(result.model_dir) / "metrics.json"),
            reason=("champion: " if self.promoted else "not promoted: ") + self.decision,
            metrics={**headline, "gates_passed": result.gates.passed},
            **common,
        )


HEADLINE_METRICS = ("sharpe", "hit_rate", "net_pnl_bps", "max_drawdown_pct", "trades", "deflated_sharpe")


def model_stage(
    settings: Settings, day: date, symbol: str, *, device: str = "cpu", num_threads: int = 1
) -> ModelOutcome:
    """Train and judge one coin's model, and decide the night's champion for it (the dated decision only:
    the latest pointers the bot reads move when the whole night is published, `publish_stage`)."""
    from huracan_core.roster import update_champion
    from huracan_core.training.trainer import train_coin

    symbol = normalise_symbol(symbol)
    home = engine_home(settings)
    started = now_iso()
    inputs = cost_inputs_for(settings, day, symbol)
    funding = cached_funding(settings, symbol) if inputs.market_type == "swap" else None
    result = train_coin(
        symbol=symbol,
        features=load_features(settings, day, symbol),
        recipe=night_recipe(settings),
        encoder_dir=home.encoder_dir(day),  # a day without a fitted encoder: the trainer records why
        cost_inputs=inputs,
        settings=settings,
        home=home,
        training_date=day,
        bar_seconds=settings.market.timeframe_seconds,
        device=device,
        num_threads=num_threads,
        funding=funding,
        funding_note=""
        if funding is not None or inputs.market_type != "swap"
        else f"no recorded funding for {symbol} in the cache (the market source has none): "
        "charged the constant costs.funding_bps_per_8h",
    )
    if result.skipped_reason:
        return ModelOutcome(result, False, result.skipped_reason, started, now_iso())
    decision = update_champion(home, result, settings, day)
    return ModelOutcome(result, decision.promoted, decision.reason, started, now_iso())


def failed_entry(stage: str, exc: BaseException | str, *, error_type: str | None = None) -> CoinEntry:
    """A coin's status.json line when `stage` failed for it."""
    text = str(exc) if isinstance(exc, BaseException) else exc
    kind = error_type or (type(exc).__name__ if isinstance(exc, BaseException) else "Error")
    now = now_iso()
    return CoinEntry(status="failed", stage=stage, error=text[:2000], error_type=kind, ended_at=now)


def plain_night(
    settings: Settings, day: date, *, symbols: list[str] | None = None, top_n: int | None = None
) -> list[str]:
    """Every stage of a night up to the roster in this process, one after another, with the night's
    status.json written from the results: the plain loop that core tests and the orchestration
    benchmark's peer use (no Dagster). Dagster runs the same stage functions as assets."""
    home = engine_home(settings)
    chosen = prepare_day(settings, day, symbols=symbols, top_n=top_n)
    entries: dict[str, CoinEntry] = {}
    for symbol in chosen:
        try:
            entries[symbol] = model_stage(settings, day, symbol).entry()
        except Exception as exc:
            entries[symbol] = failed_entry("model", exc)
    RunLedger(home, day).write(entries)
    roster_stage(settings, day)
    return chosen


def publish_stage(settings: Settings, day: date) -> dict[str, Any]:
    """The night's publication (the `exports` step): the trading comparison first (its portfolio trades go
    into the brain), record the night in the Brain Library (one transaction; the schema is upgraded first
    when behind), write the day's exports from the brain, then the reports."""
    from huracan_core.brain.db import open_brain
    from huracan_core.brain.record import record_night
    from huracan_core.exports import export_day
    from huracan_core.reports import write_reports
    from huracan_core.trades import account_currency

    bind_context(date=day.isoformat(), stage="exports", symbol=None)
    engine = open_brain(settings)
    try:
        comparison, portfolio_trades = trading_comparison(settings, day)
        brain = record_night(settings, day, engine, portfolio_trades)
        out = export_day(engine_home(settings), day, engine, currency=account_currency(settings))
        reports = write_reports(settings, day, engine, comparison)
    finally:
        engine.dispose()
    from huracan_core.roster import publish_latest

    moved = publish_latest(engine_home(settings), day)  # only now: the night is recorded and exported
    monitor_night(settings, day, "end")
    return {**out, "brain": brain, "reports": reports, "trading": comparison, "latest_moved": moved}


def monitor_night(settings: Settings, day: date, phase: str) -> None:
    """The seed's monitoring record at the night's start and end (`huracan_core.monitoring`); a problem
    writing it is logged, never a failed night."""
    from huracan_core.monitoring import night_monitoring

    try:
        night_monitoring(settings, day, phase)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - monitoring must never take the night down
        log.error("monitoring record not written", phase=phase, error=str(exc)[:300])


def trading_comparison(settings: Settings, day: date) -> tuple[dict[str, Any], list[Any]]:
    """The night's models judged under the live bot's rules (consensus, risk, breakers, kill switch) next to
    model-only and buy-and-hold, OOS after costs (runs/{D}Z/trading_comparison.json), and the portfolio
    consensus account's trades as TradeRecords (source "portfolio") for the Brain Library. A failure here is
    reported in the result and the log, never a lost night: the models, roster and exports stand (with no
    portfolio trades)."""
    from huracan_core.trading.comparison import night_comparison

    try:
        night = night_comparison(settings, day)
        return night.table, night.portfolio_trades
    except Exception as exc:
        log.error("trading comparison failed", error=str(exc), error_type=type(exc).__name__)
        return {"error": f"{type(exc).__name__}: {exc}", "coins": [], "portfolio": {}}, []


def roster_stage(settings: Settings, day: date) -> dict[str, Any]:
    """The day's roster: exactly the coins of that day's universe, each ranked or marked missing with why
    (outcomes from the night's status.json, which the orchestrator writes from its records first), after
    scoring the champions earlier nights handed out on the bars since (the forward record, which may
    demote one)."""
    from huracan_core.forward import forward_stage
    from huracan_core.roster import build_roster

    forward_stage(settings, day)
    universe = load_universe(settings, day)
    entries = RunLedger(engine_home(settings), day).entries()
    outcomes = {}
    for symbol in universe.selected:
        entry = entries.get(symbol)
        if entry is None or entry.status not in ("success", "failed", "skipped"):
            outcomes[symbol] = {
                "status": "failed",
                "error": f"no outcome recorded (last state: {entry.status if entry else 'never started'})",
                "model_dir": None,
            }
        else:
            outcomes[symbol] = {
                "status": entry.status,
                "error": entry.error or entry.reason,
                "model_dir": entry.output_path,
            }
    return build_roster(engine_home(settings), day, universe.selected, outcomes, settings)
