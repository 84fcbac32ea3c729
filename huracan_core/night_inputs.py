"""Reading what a night stored: its universe, its candle window, candles, features, market context and
the per-coin cost inputs. Below `stages` (which writes them) so every reader — the stages themselves, the
trading comparison, the live decision, the forward record — uses the same paths and rules without
importing the orchestration layer."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from huracan_core.candles.store import CandleStore
from huracan_core.config import Settings
from huracan_core.dates import as_of_for
from huracan_core.features import FeatureRecipe, default_recipe
from huracan_core.paths import EngineHome
from huracan_core.storage import build_storage
from huracan_core.symbols import normalise_symbol
from huracan_core.universe import Universe

BTC, ETH = "BTC-USDT", "ETH-USDT"


class StageError(Exception):
    """A stage cannot run for a stated reason (missing upstream output, bad data)."""


def engine_home(settings: Settings) -> EngineHome:
    return EngineHome(Path(settings.home))


def load_universe(settings: Settings, day: date) -> Universe:
    path = engine_home(settings).universe(day)
    if not path.is_file():
        raise StageError(
            f"no universe stored for {day} at {path}: materialise `universe` for that date first"
        )
    return Universe.load(path)


def warmup_bars() -> int:
    """Bars the feature recipe needs before its first complete row (fetched on top of the lookback)."""
    return max(spec.warmup for spec in default_recipe().features)


def candle_window(settings: Settings, day: date) -> tuple[Any, Any]:
    """[since, until) of the candles a day needs: lookback days of usable rows plus the feature warm-up."""
    until = as_of_for(day)
    bar = timedelta(seconds=settings.market.timeframe_seconds)
    since = until - timedelta(days=settings.market.lookback_days) - bar * warmup_bars()
    return since, until


def load_candles(settings: Settings, day: date, symbol: str) -> pl.DataFrame:
    since, until = candle_window(settings, day)
    store = CandleStore(engine_home(settings), build_storage(settings.storage))
    return store.load(normalise_symbol(symbol), settings.market.timeframe, since, until)


def market_context_path(settings: Settings, day: date) -> Path:
    return engine_home(settings).market_context(day)


def cross_sectional_path(settings: Settings, day: date) -> Path:
    return engine_home(settings).cross_sectional(day)


def night_recipe(settings: Settings) -> FeatureRecipe:
    """The recipe a night computes, trains and decides on: the default families for the timeframe, plus the
    cross-sectional family when `market.cross_sectional_features` is on (every stage asks here, so the
    features, the encoder, the models and the live decision agree on one recipe hash)."""
    return default_recipe(
        settings.market.timeframe, cross_sectional_family=settings.market.cross_sectional_features
    )


def load_features(settings: Settings, day: date, symbol: str) -> pl.DataFrame:
    path = engine_home(settings).features(day, symbol)
    if not path.is_file():
        raise StageError(f"no features for {symbol} on {day} at {path}: materialise `features` first")
    return pl.read_parquet(path)


def cost_inputs_for(settings: Settings, day: date, symbol: str) -> Any:
    """Per-coin fees, market type and LIVE quote (the day's universe row: spread from the order book /
    ticker, 24 h volume). The live quote prices only live trading (costs.json "live"); the trainer prices
    every historical bar from its own candles (costs.point_in_time_inputs), never from this row."""
    from huracan_core.costs import CostInputs

    row = load_universe(settings, day).row(symbol)
    quoted = row.spread_bps is not None
    return CostInputs(
        spread_bps=row.spread_bps if quoted else settings.costs.default_spread_bps,
        maker_fee_bps=settings.costs.maker_fee_bps,
        taker_fee_bps=settings.costs.taker_fee_bps,
        adv_usd=row.quote_volume_usd or 0.0,
        market_type=row.market_type,
        spread_source="quoted (order book / ticker at the as-of time)"
        if quoted
        else "default_spread_bps (the source has no order book)",
    )


def cached_funding(settings: Settings, symbol: str) -> Any:
    """The coin's cached funding settlements (`funding.FundingSeries`), or None when none is cached (a spot
    coin, or a perpetual whose source has no recorded funding: costs then charge the constant)."""
    from huracan_core.candles.funding_store import FundingStore

    return FundingStore(engine_home(settings)).load(normalise_symbol(symbol))
