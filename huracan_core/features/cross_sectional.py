"""Cross-sectional family (opt-in, `market.cross_sectional_features`): where the coin stands among the coins of
the night's universe at each bar, and the state of that universe as a whole.

One coin's candles cannot say whether its move was large *for that bar*: every coin fell 3 % in a crash, or
only this one did. These columns answer that from the universe the night trades. They are computed once per
night over every coin of the day's universe (`universe_table`, called by the market-context stage beside the
equal-weight market) and joined to each coin's bars **on timestamp**, never by row position.

The universe's bar grid is the sorted union of every coin's bar timestamps. Each coin's close is placed on that
grid (null where the coin has no bar), and its statistics are taken along the grid: a 1-bar return at t is
ln(close_t / close at the grid's previous timestamp), so a coin that alone missed the previous bar has no
1-bar return at t (it is not compared with a two-bar move), while an exchange-wide outage still yields a return
across the gap (as `equal_weight_market`). An n-bar window containing a missing bar of the coin is null.

At each bar t, the coins with a value at t (a closed bar at t and a full window) are the bar's cross-section;
a coin missing at t is excluded from that bar's ranking and statistics. Everything at t reads bars closed by
t only. Ranks are percentile ranks (ties averaged): (rank - 1) / (count - 1), 0 = lowest, 1 = highest.
Cross-sectional columns need at least MIN_COINS coins at the bar, otherwise they are null (a rank among two
coins is a coin flip): a night of one or two pinned coins leaves the family null throughout and the trainer
ignores such columns.

- xs_rank_ret_1 / xs_rank_ret_20: rank of the 1-bar / 20-bar log return.
- xs_rank_volume_20: rank of the bar's quote volume (close x volume) over its own trailing 20-bar mean.
- xs_rank_volatility_20: rank of the std (ddof 1) of the coin's last 20 1-bar log returns.
- xs_excess_ret_1 / xs_excess_ret_20: the coin's return minus the cross-sectional mean return at t.
- xs_excess_median_ret_20: the coin's 20-bar return minus the cross-sectional median.
- mkt_breadth_20: share of the bar's coins whose 20-bar return is > 0.
- mkt_dispersion_1 / mkt_dispersion_20: cross-sectional std (ddof 1) of the 1-bar / 20-bar returns.
- mkt_volatility_20: std (ddof 1) over the last 20 bars of the equal-weight mean 1-bar return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from huracan_core.candles.frame import CANDLE_COLUMNS, TIMESTAMP, conform
from huracan_core.features.ops import Add, Op, Params, Scratch

FAMILY = "cross_sectional"
MIN_COINS = 3  # coins with a value at a bar before it has a cross-section
WINDOW = 20


def universe_column(op: str, params: Params) -> str:
    """The column of the night's universe table that holds the spec's values (joined into build_features)."""
    return f"_xs__{op}__{params['of']}__{params['window']}"


def _source_warmup(of: str, window: int) -> int:
    """Leading null bars of the per-coin input on a gap-free series."""
    if of == "ret":
        return window  # close_t / close_{t-window}
    if of == "volatility":
        return window  # `window` returns need window + 1 closes
    if of == "volume":
        return window - 1  # quote volume over its trailing mean of `window` bars
    raise ValueError(f"unknown cross-sectional input {of!r}")


def _op(name: str) -> Op:
    def build(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
        return pl.col(universe_column(name, p))

    def warmup(p: Params, w: int) -> int:
        if name == "xs_market_volatility":
            return p["window"]  # `window` market returns: window + 1 grid bars
        return _source_warmup(p["of"], p["window"])

    return Op(build, warmup)


STATS = (
    "xs_rank",
    "xs_excess_mean",
    "xs_excess_median",
    "xs_breadth",
    "xs_dispersion",
    "xs_market_volatility",
)
OPS: dict[str, Op] = {name: _op(name) for name in STATS}


def add_specs(add: Add, timeframe: str) -> None:
    n = WINDOW
    add("xs_rank_ret_1", "xs_rank", [], "pct_rank_t(log_ret_1 over the universe)", True, of="ret", window=1)
    add("xs_rank_ret_20", "xs_rank", [], f"pct_rank_t(ln(close / close[t-{n}]))", True, of="ret", window=n)
    add(
        "xs_rank_volume_20",
        "xs_rank",
        [],
        f"pct_rank_t(close*volume / mean(close*volume, {n}))",
        True,
        of="volume",
        window=n,
    )
    add(
        "xs_rank_volatility_20",
        "xs_rank",
        [],
        f"pct_rank_t(std(log_ret_1, {n}))",
        True,
        of="volatility",
        window=n,
    )
    add("xs_excess_ret_1", "xs_excess_mean", [], "log_ret_1 - mean_t(log_ret_1)", True, of="ret", window=1)
    add(
        "xs_excess_ret_20",
        "xs_excess_mean",
        [],
        f"ln(close/close[t-{n}]) - mean_t(same)",
        True,
        of="ret",
        window=n,
    )
    add(
        "xs_excess_median_ret_20",
        "xs_excess_median",
        [],
        f"ln(close/close[t-{n}]) - median_t(same)",
        True,
        of="ret",
        window=n,
    )
    add("mkt_breadth_20", "xs_breadth", [], f"share_t(ln(close/close[t-{n}]) > 0)", True, of="ret", window=n)
    add("mkt_dispersion_1", "xs_dispersion", [], "std_t(log_ret_1)", True, of="ret", window=1)
    add("mkt_dispersion_20", "xs_dispersion", [], f"std_t(ln(close/close[t-{n}]))", True, of="ret", window=n)
    add(
        "mkt_volatility_20",
        "xs_market_volatility",
        [],
        f"std(mean_t(log_ret_1), {n})",
        True,
        of="ret",
        window=n,
    )


def _source(of: str, window: int) -> str:
    return f"_src__{of}__{window}"


def _coin_sources(close: pl.Expr, volume: pl.Expr, needed: set[tuple[str, int]]) -> list[pl.Expr]:
    """The per-coin inputs along the universe grid (nulls where the coin has no bar)."""
    ret_1 = (close / close.shift(1)).log()
    out = []
    for of, n in sorted(needed):
        if of == "ret":
            expr = ret_1 if n == 1 else (close / close.shift(n)).log()
        elif of == "volatility":
            expr = ret_1.rolling_std(n)
        else:
            quote = close * volume
            mean = quote.rolling_mean(n)
            expr = pl.when(mean > 0).then(quote / mean)
        out.append(expr.alias(_source(of, n)))
    return out


def _statistic(op: str, of: str, n: int) -> pl.Expr:
    """One spec's value at every (timestamp, coin) row of the long table, over the bar's cross-section."""
    x = pl.col(_source(of, n))
    count = x.count().over("timestamp")
    enough = count >= MIN_COINS
    if op == "xs_rank":
        value = (x.rank("average").over("timestamp") - 1.0) / (count - 1.0)
    elif op == "xs_excess_mean":
        value = x - x.mean().over("timestamp")
    elif op == "xs_excess_median":
        value = x - x.median().over("timestamp")
    elif op == "xs_breadth":
        value = (x > 0).cast(pl.Float64).sum().over("timestamp") / count
    elif op == "xs_dispersion":
        value = x.std().over("timestamp")
    else:
        raise ValueError(f"unknown cross-sectional statistic {op!r}")
    return pl.when(enough & x.is_not_null()).then(value).cast(pl.Float64)


def universe_table(candles_by_symbol: Mapping[str, pl.DataFrame], specs: Sequence[Any]) -> pl.DataFrame:
    """The night's per-bar cross-section: one row per (timestamp, symbol) bar of the universe, with a column
    per spec (`universe_column`). `specs`: the recipe's specs of this family (`recipe.features` may be passed
    whole; other families are ignored). Only bars <= t enter the values at t (module doc)."""
    mine = [s for s in specs if s.family == FAMILY]
    schema: dict[str, Any] = {"timestamp": TIMESTAMP, "symbol": pl.String}
    schema |= {universe_column(s.op, s.params): pl.Float64 for s in mine}
    frames = {sym: conform(frame.select(CANDLE_COLUMNS)) for sym, frame in sorted(candles_by_symbol.items())}
    frames = {sym: f for sym, f in frames.items() if f.height}
    if not frames or not mine:
        return pl.DataFrame(schema=schema)
    needed = {(s.params["of"], s.params["window"]) for s in mine if s.op != "xs_market_volatility"}
    needed.add(("ret", 1))  # the market return behind xs_market_volatility
    grid = pl.concat([f.select("timestamp") for f in frames.values()]).unique().sort("timestamp")
    parts = []
    for sym, frame in frames.items():
        on_grid = grid.join(frame.select("timestamp", "close", "volume"), on="timestamp", how="left")
        parts.append(
            on_grid.with_columns(_coin_sources(pl.col("close"), pl.col("volume"), needed))
            .filter(pl.col("close").is_not_null())
            .select(pl.lit(sym).alias("symbol"), "timestamp", *(_source(of, n) for of, n in sorted(needed)))
        )
    long = pl.concat(parts).sort("timestamp", "symbol")
    columns = {}
    for s in mine:
        name = universe_column(s.op, s.params)
        if s.op != "xs_market_volatility":
            columns[name] = _statistic(s.op, s.params["of"], s.params["window"]).alias(name)
    table = long.with_columns(list(columns.values()))
    market = [s for s in mine if s.op == "xs_market_volatility"]
    if market:
        ret = pl.col(_source("ret", 1))
        per_bar = grid.join(
            long.group_by("timestamp").agg(ret.mean().alias("_market_ret")), on="timestamp", how="left"
        ).sort("timestamp")
        per_bar = per_bar.with_columns(
            pl.col("_market_ret").rolling_std(s.params["window"]).alias(universe_column(s.op, s.params))
            for s in market
        ).drop("_market_ret")
        table = table.join(per_bar, on="timestamp", how="left", maintain_order="left")
    return table.select(list(schema)).cast(schema)


def coin_rows(table: pl.DataFrame, symbol: str) -> pl.DataFrame:
    """One coin's rows of the universe table (timestamp and the spec columns), for `CrossAssetInputs`."""
    return table.filter(pl.col("symbol") == symbol).drop("symbol").sort("timestamp")
