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


def _moments(a_name: str, b_name: str, n: int, s: Scratch) -> dict[str, pl.Expr]:
    """Rolling population moments of a coin return `a` and a reference return `b`, as shared helper columns:
    the coin's mean and variance are computed once for all references, and a reference's moments once for
    its correlation and its beta. A window containing a null is null."""
    a, b = col(a_name), col(b_name)
    return s.shared_step(
        **{
            f"mean__{a_name}__{n}": a.rolling_mean(n),
            f"var__{a_name}__{n}": a.rolling_var(n, ddof=0),
            f"mean__{b_name}__{n}": b.rolling_mean(n),
            f"var__{b_name}__{n}": b.rolling_var(n, ddof=0),
            f"mean_product__{a_name}__{b_name}__{n}": (a * b).rolling_mean(n),
        }
    )


def _rolling_corr(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """Pearson correlation over the window: (E[ab] - E[a]E[b]) / sqrt(var(a) var(b)).

    The same formula as `pl.rolling_corr` (equal to 1e-15) with the moments shared between features. A
    constant window (0/0) is null, not NaN."""
    (a, b), n = i, p["window"]
    m = _moments(a, b, n, s)
    cov = m[f"mean_product__{a}__{b}__{n}"] - m[f"mean__{a}__{n}"] * m[f"mean__{b}__{n}"]
    return (cov / (m[f"var__{a}__{n}"] * m[f"var__{b}__{n}"]).sqrt()).fill_nan(None)


def _rolling_beta(p: Params, i: Sequence[str], s: Scratch) -> pl.Expr:
    """cov(a, b) / var(b) over the window (the ddof cancels); null when b is constant."""
    (a, b), n = i, p["window"]
    m = _moments(a, b, n, s)
    cov = m[f"mean_product__{a}__{b}__{n}"] - m[f"mean__{a}__{n}"] * m[f"mean__{b}__{n}"]
    return safe_div(cov, m[f"var__{b}__{n}"])


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
