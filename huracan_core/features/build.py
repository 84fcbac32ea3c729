"""Compute a recipe on one coin's candles: every row kept, warm-up left null, nothing filled backward.

The recipe's specs are grouped into dependency levels (a spec's level is one more than the deepest feature it
reads). Within a level, the helper columns the ops declare (`Scratch`: intermediate series of recursive
indicators, shared rolling moments) are computed step by step, then all of the level's features in one
`with_columns`, which Polars evaluates in parallel. Every expression is aliased to its spec name and cast to
Float64; helper columns are dropped at the end, and OHLCV columns are never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from huracan_core.candles.frame import CANDLE_COLUMNS, CANDLE_SCHEMA, TIMESTAMP, conform
from huracan_core.features.cross_asset import FAMILY as CROSS_FAMILY
from huracan_core.features.cross_asset import REF_COLUMNS
from huracan_core.features.cross_sectional import FAMILY as XS_FAMILY
from huracan_core.features.cross_sectional import universe_column
from huracan_core.features.defaults import default_recipe
from huracan_core.features.ops import Scratch, safe_div
from huracan_core.features.recipe import FeatureRecipe, FeatureSpec
from huracan_core.features.registry import BASE_COLUMNS, OPS

# The in-memory engine runs each rolling kernel over the whole column in one pass, so the value at bar t is
# the same bit pattern whatever follows t. The streaming engine processes morsels whose boundaries depend on
# the frame's length, and its rolling sums can round the last bit differently on a prefix of the frame; a
# rank or threshold can then flip on exact ties, which breaks the point-in-time guarantee.
ENGINE = "in-memory"


@dataclass
class CrossAssetInputs:
    """Reference series for the cross-asset family. btc/eth: candle frames; market: timestamp, market_ret
    (see `equal_weight_market`). universe: this coin's rows of the night's cross-sectional table
    (`cross_sectional.universe_table` then `coin_rows`: timestamp + one column per spec), read only by a
    recipe with the cross-sectional family. A missing reference leaves its columns null."""

    btc: pl.DataFrame | None = None
    eth: pl.DataFrame | None = None
    market: pl.DataFrame | None = None
    universe: pl.DataFrame | None = None


def _log_return(close: pl.Expr) -> pl.Expr:
    return safe_div(close, close.shift(1)).log()


def _canonical(frame: pl.DataFrame, what: str) -> pl.DataFrame:
    missing = [c for c in CANDLE_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks candle columns {missing}; expected {CANDLE_COLUMNS}")
    if any(frame.schema[c] != dtype for c, dtype in CANDLE_SCHEMA.items()):
        return conform(frame.select(CANDLE_COLUMNS))
    return frame.select(CANDLE_COLUMNS)


def _strictly_increasing(timestamps: pl.Series) -> bool:
    return timestamps.len() < 2 or bool(timestamps.dt.epoch("ms").diff().min() > 0)


def _reference(frame: pl.DataFrame, what: str) -> pl.DataFrame:
    """A reference series as a canonical, sorted, unique candle frame (conform only when it is not already:
    sorting a million-row reference is most of the cost of the cross-asset family)."""
    frame = _canonical(frame, what)
    return frame if _strictly_increasing(frame["timestamp"]) else conform(frame)


def equal_weight_market(candles_by_symbol: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Equal-weight market return per timestamp: the mean 1-bar log return of the coins trading at t.

    A coin counts at t when its previous bar is the market's previous bar (the latest timestamp before t at
    which any coin traded). So an exchange-wide outage still yields a market return across the outage,
    consistent with every coin's own return, while a coin that alone missed bars (suspension, late data) is
    left out at t instead of adding a multi-bar return to a one-bar average. Only bars <= t are used.
    Columns: timestamp, market_ret, n_coins (the coins averaged)."""
    frames = [
        conform(_canonical(frame, f"candles of {symbol}")) for symbol, frame in candles_by_symbol.items()
    ]
    schema = {"timestamp": TIMESTAMP, "market_ret": pl.Float64, "n_coins": pl.UInt32}
    if not frames:
        return pl.DataFrame(schema=schema)
    grid = (
        pl.concat([f.select("timestamp") for f in frames])
        .unique()
        .sort("timestamp")
        .with_columns(pl.col("timestamp").shift(1).alias("market_prev"))
    )
    parts = [
        frame.select(
            "timestamp",
            pl.col("timestamp").shift(1).alias("own_prev"),
            _log_return(pl.col("close")).alias("ret"),
        )
        .join(grid, on="timestamp", how="left")
        .filter(pl.col("own_prev") == pl.col("market_prev"))
        .select("timestamp", "ret")
        for frame in frames
    ]
    return (
        pl.concat(parts)
        .drop_nulls()
        .group_by("timestamp")
        .agg(pl.col("ret").mean().alias("market_ret"), pl.len().cast(pl.UInt32).alias("n_coins"))
        .sort("timestamp")
        .cast(schema)
    )


def _nulls(like: pl.Series, n: int) -> pl.Series:
    return pl.repeat(None, n, dtype=like.dtype, eager=True).alias(like.name)


def _join_on_timestamp(lazy: pl.LazyFrame, coin_timestamps: pl.Series, other: pl.DataFrame) -> pl.LazyFrame:
    """Left join on timestamp (`other` sorted and unique). When the other series' timestamps are a contiguous
    run of the coin's (the usual case: a reference over the same window; the equal-weight market, which has
    no return on the first bar) the join only pads with nulls, and its columns are attached directly: a
    hash join of a million rows costs more than the rest of the cross-asset family."""
    other_timestamps = other["timestamp"]
    if other.height and other.height <= coin_timestamps.len():
        offset = int(coin_timestamps.search_sorted(other_timestamps[0], side="left"))
        if coin_timestamps.slice(offset, other.height).equals(other_timestamps):
            after = coin_timestamps.len() - offset - other.height
            columns = [
                pl.concat([_nulls(c, offset), c, _nulls(c, after)], rechunk=True)
                for c in other.drop("timestamp").get_columns()
            ]
            return lazy.with_columns(columns)
    return lazy.join(other.lazy(), on="timestamp", how="left", maintain_order="left")


def _with_references(
    lazy: pl.LazyFrame, coin_timestamps: pl.Series, cross: CrossAssetInputs, read: set[str]
) -> pl.LazyFrame:
    """Add the reference return columns the recipe reads, aligned on the coin's timestamps.

    BTC/ETH: the reference close is joined on timestamp and its log return taken on the coin's bar grid,
    so a reference bar missing at t nulls the returns at t and t+1 instead of pairing the coin's 1-bar return
    with a multi-bar one. Market: market_ret joined on timestamp (null where absent)."""
    for ref in ("btc", "eth"):
        name, frame = REF_COLUMNS[ref], getattr(cross, ref)
        if name not in read:
            continue
        if frame is None:
            lazy = lazy.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
            continue
        close = _reference(frame, f"{ref} reference").select(
            "timestamp", pl.col("close").alias(f"{name}_close")
        )
        lazy = _join_on_timestamp(lazy, coin_timestamps, close).with_columns(
            _log_return(pl.col(f"{name}_close")).alias(name)
        )
    name = REF_COLUMNS["market"]
    if name in read:
        market = cross.market
        if market is None:
            lazy = lazy.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
        else:
            if "market_ret" not in market.columns or "timestamp" not in market.columns:
                raise ValueError(
                    "market reference needs columns timestamp, market_ret (see equal_weight_market)"
                )
            returns = market.select(
                pl.col("timestamp").cast(TIMESTAMP), pl.col("market_ret").cast(pl.Float64).alias(name)
            )
            if not _strictly_increasing(returns["timestamp"]):
                returns = returns.unique("timestamp", keep="last").sort("timestamp")
            lazy = _join_on_timestamp(lazy, coin_timestamps, returns)
    return lazy


def _with_universe(
    lazy: pl.LazyFrame, coin_timestamps: pl.Series, universe: pl.DataFrame | None, recipe: FeatureRecipe
) -> pl.LazyFrame:
    """Add the universe-table columns the recipe's cross-sectional specs read, joined on the coin's
    timestamps (a bar the table lacks is null there). No table: the columns are null."""
    names = list(
        dict.fromkeys(universe_column(s.op, s.params) for s in recipe.features if s.family == XS_FAMILY)
    )
    if not names:
        return lazy
    if universe is None:
        return lazy.with_columns(pl.lit(None, dtype=pl.Float64).alias(n) for n in names)
    missing = [n for n in ["timestamp", *names] if n not in universe.columns]
    if missing:
        raise ValueError(
            f"the cross-sectional table lacks columns {missing[:4]}: it was computed for another recipe "
            "(see cross_sectional.universe_table)"
        )
    table = universe.select(pl.col("timestamp").cast(TIMESTAMP), *(pl.col(n).cast(pl.Float64) for n in names))
    if not _strictly_increasing(table["timestamp"]):
        table = table.unique("timestamp", keep="last").sort("timestamp")
    return _join_on_timestamp(lazy, coin_timestamps, table)


def dependency_levels(recipe: FeatureRecipe) -> list[list[FeatureSpec]]:
    """Specs grouped so that each group reads only base columns and earlier groups; checks the recipe."""
    level: dict[str, int] = dict.fromkeys(BASE_COLUMNS, 0)
    groups: list[list[FeatureSpec]] = []
    for spec in recipe.features:
        if spec.op not in OPS:
            raise ValueError(f"feature {spec.name!r} uses unknown op {spec.op!r}")
        if spec.name in level:
            raise ValueError(f"feature {spec.name!r} is declared twice or shadows a base column")
        unknown = [i for i in spec.inputs if i not in level]
        if unknown:
            raise ValueError(
                f"feature {spec.name!r} reads {unknown}, which no earlier feature or base column provides"
            )
        depth = 1 + max((level[i] for i in spec.inputs), default=0)
        level[spec.name] = depth
        while len(groups) < depth:
            groups.append([])
        groups[depth - 1].append(spec)
    return [g for g in groups if g]


def build_features(
    candles: pl.DataFrame, recipe: FeatureRecipe | None = None, cross: CrossAssetInputs | None = None
) -> pl.DataFrame:
    """Candle columns plus every recipe column, one row per candle, warm-up rows null (never filled)."""
    recipe = recipe or default_recipe()
    frame = _canonical(candles, "candles")
    if frame.height and not frame["timestamp"].is_sorted():
        raise ValueError("candles must be sorted by timestamp (use huracan_core.candles.frame.conform)")
    if frame["timestamp"].n_unique() != frame.height:
        raise ValueError("candles have duplicate timestamps (use huracan_core.candles.frame.conform)")
    groups = dependency_levels(recipe)
    read = {i for spec in recipe.features for i in spec.inputs}
    lazy = frame.lazy()
    cross = cross or CrossAssetInputs()
    lazy = _with_references(lazy, frame["timestamp"], cross, read)
    lazy = _with_universe(lazy, frame["timestamp"], cross.universe, recipe)
    for group in groups:
        finals, steps = [], []
        for spec in group:
            scratch = Scratch(f"_{spec.name}__")
            finals.append(
                OPS[spec.op].build(spec.params, spec.inputs, scratch).cast(pl.Float64).alias(spec.name)
            )
            steps.append(scratch.steps)
        for depth in range(max(map(len, steps))):
            exprs: dict[str, pl.Expr] = {}  # by output name: a shared helper is computed once
            for spec_steps in steps:
                if depth < len(spec_steps):
                    exprs.update({e.meta.output_name(): e for e in spec_steps[depth]})
            lazy = lazy.with_columns(list(exprs.values()))
        lazy = lazy.with_columns(finals)
    return lazy.select(*CANDLE_COLUMNS, *recipe.names).collect(engine=ENGINE)


def cross_asset_columns(recipe: FeatureRecipe) -> list[str]:
    return recipe.columns_of(CROSS_FAMILY)


def drop_warmup(frame: pl.DataFrame, recipe: FeatureRecipe) -> pl.DataFrame:
    """Drop rows with a null in any model column, ignoring cross-asset and cross-sectional columns that are
    null throughout (their reference was not supplied, or the universe is too small for a cross-section):
    those would otherwise drop every row."""
    cross = set(cross_asset_columns(recipe)) | set(recipe.columns_of(XS_FAMILY))
    absent = {c for c in cross if c in frame.columns and frame[c].null_count() == frame.height}
    subset = [c for c in recipe.model_columns if c not in absent]
    return frame.drop_nulls(subset=subset)
