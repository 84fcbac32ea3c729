"""What a live decision reads: the champion in force, and its coin's features up to the latest closed bar.

Why the champion's own night defines the inputs: a model is only as good as the agreement between the
features it was trained on and the ones it is shown. So the features of a live bar are built by extending
the champion's training night bar by bar, with nothing changed:

* the same candle window start (`stages.candle_window` of the model's training date: lookback plus the
  feature warm-up), so recursive indicators (EMA, RSI, ADX) carry the same history;
* the same market context: BTC and ETH candles when they were in that night's universe, and the
  equal-weight market of that night's universe coins (`equal_weight_market`), extended to the new bars
  (and, with the cross-sectional family, that universe's cross-sectional table, likewise);
* the same recipe (`night_inputs.night_recipe`, hash checked against the model's features.json) and
  the night's shared encoder, which travels inside the model folder (`encoder/`, verified with it).

On the bars the night itself saw, the frame is therefore bit-for-bit the night's features file (tested),
and every later bar is computed as the night would have computed it had it run then.

Point in time: only bars closed at `at` are read (`latest_closed_bar`); the candle cache is brought up to
that bar through the configured market source (CandleStore.sync fetches only what is missing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from huracan_core.atomic import read_json
from huracan_core.candles.frame import from_ms, to_ms
from huracan_core.candles.store import CandleStore, CandleValidationError
from huracan_core.config import Settings
from huracan_core.features import CrossAssetInputs, FeatureRecipe, build_features, validate_features
from huracan_core.features.build import equal_weight_market
from huracan_core.features.cross_sectional import FAMILY as XS_FAMILY
from huracan_core.features.cross_sectional import coin_rows, universe_table
from huracan_core.market.base import MarketDataError
from huracan_core.paths import EngineHome, parse_day_tag
from huracan_core.symbols import normalise_symbol

BTC, ETH = "BTC-USDT", "ETH-USDT"  # the references stages.market_context_stage writes beside the market


class DecideError(Exception):
    """A decision cannot be made for a stated reason; `exit_code` is what `huracan decide` exits with."""

    exit_code = 1


class ChampionMissing(DecideError):
    """No champion for the coin (never promoted, its pointer or its model folder is gone)."""


class ChampionCorrupt(DecideError):
    """The champion's pointer or model folder is unreadable or fails its sha256 check."""

    exit_code = 2


class StaleCandles(DecideError):
    """The candle cache (after syncing) has no bar at the cut-off: the decision would be on old data."""


@dataclass(frozen=True)
class Champion:
    """The champion in force: which model, where, and which file said so."""

    symbol: str
    model_id: str
    model_dir: Path
    training_date: date
    pointer: Path  # the champions/... file that named it
    night: date | None  # the night whose decision made it current


def latest_closed_bar(at: datetime, bar_seconds: int) -> datetime:
    """Open time of the latest bar that has closed at `at` (a bar opened at o closes at o + bar)."""
    step = bar_seconds * 1000
    return from_ms(to_ms(at) // step * step - step)


def _champion_from(
    home: EngineHome, record: dict[str, Any], pointer: Path, night: date | str | None
) -> Champion:
    """The record's champion (model_path relative to the home or absolute); a malformed record names its file."""
    try:
        if isinstance(night, str):
            night = date.fromisoformat(night)
        path = Path(record["model_path"])
        return Champion(
            symbol=normalise_symbol(record["symbol"]),
            model_id=str(record["model_id"]),
            model_dir=path if path.is_absolute() else home.root / path,
            training_date=date.fromisoformat(str(record["training_date"])),
            pointer=pointer,
            night=night,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ChampionCorrupt(f"{pointer}: not a champion record ({type(exc).__name__}: {exc})") from None


def current_champion(settings: Settings, symbol: str, at: datetime | None = None) -> Champion:
    """The coin's champion: the latest pointer `champions/{SYMBOL}.json` (at=None), or the champion in force
    at `at`: the decision of the newest night whose data had closed by then (as_of(night) <= at), or where
    no night decided the coin yet, the roster's promotion rule replayed over its models (roster.champion_on).

    A champion is never silently swapped for an older one: a folder that fails its sha256 check is an
    error when it is loaded (decide: ChampionCorrupt naming the file)."""
    symbol = normalise_symbol(symbol)
    home = EngineHome(Path(settings.home))
    if at is None:
        pointer = home.champion(symbol)
        if not pointer.is_file():
            raise ChampionMissing(
                f"no champion for {symbol}: {pointer} does not exist (no night promoted one)"
            )
        try:
            record = read_json(pointer)
        except (OSError, ValueError) as exc:
            raise ChampionCorrupt(f"{pointer} is unreadable: {exc}") from None
        if not isinstance(record, dict) or not record.get("model_id"):
            raise ChampionMissing(f"no champion for {symbol}: {pointer} names no model")
        return _champion_from(home, {**record, "symbol": symbol}, pointer, record.get("date") or None)
    night = at.astimezone(UTC).date() - timedelta(days=1)  # the newest night with as_of(night) <= at
    decided = _decided_nights(home, symbol, night)
    if not decided:  # no night decided this coin yet: the roster's rule replayed over its models
        from huracan_core.roster import champion_on

        record, why = champion_on(home, symbol, night, settings)
        if record is None:
            raise ChampionMissing(
                f"no champion for {symbol} at {at.isoformat()} (nights up to {night}): {why}"
            )
        return _champion_from(home, {**record, "symbol": symbol}, home.champion_history(symbol), night)
    pointer = home.champion_on(decided[-1], symbol)
    try:
        record = read_json(pointer)
    except (OSError, ValueError) as exc:
        raise ChampionCorrupt(f"{pointer} is unreadable: {exc}") from None
    if not isinstance(record, dict) or not record.get("model_id"):
        why = record.get("reason") if isinstance(record, dict) else "not a champion record"
        raise ChampionMissing(f"no champion for {symbol} at {at.isoformat()}: {pointer} says: {why}")
    return _champion_from(home, {**record, "symbol": symbol}, pointer, decided[-1])


def _decided_nights(home: EngineHome, symbol: str, up_to: date) -> list[date]:
    """Nights <= up_to with a champion decision for the coin (champions/{YYYYMMDD}Z/{SYMBOL}.json)."""
    root = home.champions_dir()
    if not root.is_dir():
        return []
    days = [parse_day_tag(p.name) for p in root.iterdir() if p.is_dir()]
    return sorted(d for d in days if d is not None and d <= up_to and home.champion_on(d, symbol).is_file())


def candle_window_start(settings: Settings, training_date: date) -> datetime:
    """The first bar the champion's training night read (stages.candle_window of that date)."""
    from huracan_core.night_inputs import candle_window

    return candle_window(settings, training_date)[0]


def market_coins(settings: Settings, training_date: date) -> list[str]:
    """The coins behind the champion's night's market context: that night's universe selection."""
    from huracan_core.universe import Universe

    path = EngineHome(Path(settings.home)).universe(training_date)
    if not path.is_file():
        raise DecideError(
            f"no universe stored for {training_date} at {path}: the champion's night defines the market context"
        )
    try:
        return Universe.load(path).selected
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DecideError(f"{path} is unreadable: {exc}") from None


def context_inputs(
    frames: Mapping[str, pl.DataFrame], recipe: FeatureRecipe | None = None, symbol: str | None = None
) -> CrossAssetInputs:
    """The cross-asset references from the coins' candles, as stages.market_context_stage builds them:
    the equal-weight market of every coin, BTC and ETH when they are among the coins, and, for a recipe
    with the cross-sectional family, `symbol`'s rows of the universe table over the same coins."""
    universe = None
    if recipe is not None and symbol is not None and recipe.columns_of(XS_FAMILY):
        universe = coin_rows(universe_table(frames, recipe.features), symbol)
    return CrossAssetInputs(
        btc=frames.get(BTC), eth=frames.get(ETH), market=equal_weight_market(frames), universe=universe
    )


@dataclass
class LiveFeatures:
    """The champion's coin's features up to the cut-off, and what was done to get them."""

    frame: pl.DataFrame
    recipe_hash: str
    since: datetime
    last_open: datetime
    market_coins: list[str]
    notes: list[str] = field(default_factory=list)
    bars_fetched: int = 0
    requests: int = 0


def decision_features(
    settings: Settings, champion: Champion, last_open: datetime, *, sync: bool = True
) -> LiveFeatures:
    """Features of the champion's coin for every bar from its night's window start to `last_open` (the
    decided bar), built as that night built them (module doc). `sync`: bring the cache up to the bar first.
    A coin of the night's universe whose candles cannot be had is left out of the market index and named in
    `notes` (as the night does); the decided coin itself missing its bar is `StaleCandles`."""
    from huracan_core.market.factory import build_source
    from huracan_core.storage import build_storage

    home = EngineHome(Path(settings.home))
    tf, symbol = settings.market.timeframe, champion.symbol
    until = last_open + timedelta(seconds=settings.market.timeframe_seconds)
    since = candle_window_start(settings, champion.training_date)
    coins = market_coins(settings, champion.training_date)
    store = CandleStore(home, build_storage(settings.storage))
    out = LiveFeatures(pl.DataFrame(), "", since, last_open, [])
    if sync:
        source = build_source(settings, until)
        for coin in dict.fromkeys([symbol, *coins]):
            try:
                report = store.sync(source, coin, tf, since=since, until=until)
                out.bars_fetched += report.bars_added
                out.requests += report.requests
            except (MarketDataError, CandleValidationError) as exc:
                out.notes.append(f"{coin}: candles not synced ({exc})")
    frames: dict[str, pl.DataFrame] = {}
    for coin in coins:
        try:
            frames[coin] = store.load(coin, tf, since, until)
        except Exception as exc:  # as the night: a coin without candles does not join the market index
            out.notes.append(f"{coin} left out of the market index: {exc}")
    try:
        candles = frames[symbol] if symbol in frames else store.load(symbol, tf, since, until)
    except Exception as exc:
        raise StaleCandles(f"{symbol}: no {tf} candles to decide on ({exc})") from None
    if candles.is_empty() or candles["timestamp"][-1] != last_open:
        have = candles["timestamp"][-1].isoformat() if candles.height else "none"
        raise StaleCandles(
            f"{symbol}: the latest cached {tf} bar is {have}, not the bar closed by {until.isoformat()} "
            f"({last_open.isoformat()}): the market source has no newer bar"
        )
    from huracan_core.night_inputs import night_recipe

    recipe = night_recipe(settings)
    frame = build_features(candles, recipe, context_inputs(frames, recipe, symbol) if frames else None)
    validate_features(frame, recipe)
    out.frame, out.recipe_hash, out.market_coins = frame, str(recipe.content_hash), list(frames)
    return out


def model_vote_table(model: Any, frame: pl.DataFrame, threshold_bps: Any, recipe_hash: str) -> pl.DataFrame:
    """The champion as the consensus's model engine over `frame`: (timestamp, prediction_bps, threshold_bps).

    Every vote is out of sample: on the bars of its walk-forward test folds the stored OOS predictions (made
    by fold models that never saw them), after its last OOS bar the champion's own predictions (it was
    refitted on labelled rows up to that bar only), each priced by that bar's round trip + safety margin
    (`threshold_bps`, aligned with `frame`). Bars before the first OOS bar have no model vote.
    `model` is a training.artifacts.LoadedModel; `recipe_hash` that of the recipe that built `frame` (a
    model trained on another recipe is refused: ModelRecipeMismatch)."""
    import numpy as np

    oos = model.oos_predictions
    ts_type = frame.schema["timestamp"]
    stored = oos.select(
        pl.col("timestamp").cast(ts_type),
        pl.col("prediction_bps").cast(pl.Float64),
        pl.col("threshold_bps").cast(pl.Float64),
    )
    last = stored["timestamp"].max() if stored.height else None
    later = frame.with_row_index("_i")
    if last is not None:
        later = later.filter(pl.col("timestamp") > last)
    if later.is_empty():
        return stored
    rows = later["_i"].to_numpy()
    pred = model.predict(later.drop("_i"), recipe_hash=recipe_hash)
    live = pl.DataFrame(
        {
            "timestamp": later["timestamp"],
            "prediction_bps": np.asarray(pred, dtype=float),
            "threshold_bps": np.asarray(threshold_bps, dtype=float)[rows],
        }
    ).with_columns(pl.col("prediction_bps").fill_nan(None))
    return pl.concat([stored, live], how="vertical")
