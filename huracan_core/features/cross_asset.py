"""Cross-asset family: how the coin moves with BTC, ETH and the equal-weight market of the day's universe.

The references enter `build_features` as 1-bar log-return columns (`_ref_btc`, `_ref_eth`, `_ref_market`)
*joined on timestamp* to the coin's bars, never by row position: a reference bar missing at t is a null at
t, and any window containing it yields null rather than a number computed on misaligned bars. Each reference
return is computed on the reference's own series (bars <= t only). Without a reference the column is null.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from huracan_core.features.ops import Add, Op, Params, Scratch, col, safe_div

FAMILY = "cross_asset"
REFERENCES = ("btc", "eth", "market")
REF_COLUMNS = {ref: f"_ref_{ref}" for ref in REFERENCES}
REF_WARMUP = 1  # a reference return needs the reference's previous bar


def _rolling_corr(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """Pearson correlation over the window: (E[ab] - E[a]E[b]) / sqrt(var(a) var(b)), population moments.

    The same formula as `pl.rolling_corr` (equal to 1e-15), with the moments as separate rolling kernels
    (about twice as fast). A window with a null is null; a constant window (0/0) is null, not NaN."""
    a, b, n = col(i[0]), col(i[1]), p["window"]
    moments = s.step(
        mean_a=a.rolling_mean(n),
        mean_b=b.rolling_mean(n),
        mean_ab=(a * b).rolling_mean(n),
        var_a=a.rolling_var(n, ddof=0),
        var_b=b.rolling_var(n, ddof=0),
    )
    cov = moments["mean_ab"] - moments["mean_a"] * moments["mean_b"]
    return (cov / (moments["var_a"] * moments["var_b"]).sqrt()).fill_nan(None)


def _rolling_beta(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    a, b, n = col(i[0]), col(i[1]), p["window"]
    paired_b = pl.when(a.is_not_null()).then(b)  # both moments over the same bars
    return safe_div(pl.rolling_cov(a, b, window_size=n, ddof=1), paired_b.rolling_var(n, ddof=1))


def _rolling_excess(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    return (col(i[0]) - col(i[1])).rolling_sum(p["window"])


OPS: dict[str, Op] = {
    "rolling_corr": Op(_rolling_corr, lambda p, w: w + p["window"] - 1),
    "rolling_beta": Op(_rolling_beta, lambda p, w: w + p["window"] - 1),
    "rolling_excess": Op(_rolling_excess, lambda p, w: w + p["window"] - 1),
}


def add_specs(add: Add, timeframe: str) -> None:
    n = 30
    for ref in REFERENCES:
        add(
            f"{ref}_correlation",
            "rolling_corr",
            ["log_ret_1", REF_COLUMNS[ref]],
            f"Pearson correlation of log_ret_1 with {ref.upper()} log return over {n} bars",
            True,
            window=n,
        )
    for ref in ("btc", "market"):
        add(
            f"{ref}_beta",
            "rolling_beta",
            ["log_ret_1", REF_COLUMNS[ref]],
            f"cov(log_ret_1, {ref} return, {n}) / var({ref} return, {n})",
            True,
            window=n,
        )
        add(
            f"{ref}_excess_ret_20",
            "rolling_excess",
            ["log_ret_1", REF_COLUMNS[ref]],
            f"sum(log_ret_1 - {ref} log return, 20)",
            True,
            window=20,
        )
