"""Perpetual funding per bar: the settlements a position is held across, signed by side, point in time.

Why here and not a constant: a USDT-M perpetual settles funding every 8 h at the rate the exchange
published; a long pays the rate and a short receives it (a negative rate reverses that). Spreading
`costs.funding_bps_per_8h` over every bar charges both sides the same made-up number, which hides the
one cost that can make a short cheaper than a long. With recorded rates:

* Row t (the decision at bar t's close, filled at open[t+1] = d) holds its position over (d, d + bar]: it
  pays every settlement s in that interval (`long` = the sum of rates, `short` = its negative). A settlement
  is known at its own time s, and the account pays it at the fill d + bar >= s, so no cost at any time uses
  a rate published after it.
* The signal threshold at d (round trip + margin) needs the funding the position is *expected* to pay over
  the horizon; only rates settled by d are known then, so it is |last settled rate| x settlements per
  horizon (side-agnostic: the side is not chosen yet).
* Bars outside what the series covers (before its first settlement, after what the source was asked for)
  and coins with no recorded funding fall back to the constant, charged to either side, and say so
  (`FUNDING_CONSTANT`): costs.json names which priced which bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from huracan_core.config import CostSettings

FUNDING_PERIOD_S = 8 * 3600
FUNDING_RECORDED = "recorded"
FUNDING_CONSTANT = "constant funding_bps_per_8h"
FUNDING_NONE = "none (spot)"
FUNDING_SCHEMA = {"timestamp": pl.Datetime("ms", "UTC"), "funding_rate": pl.Float64}


class FundingDataError(ValueError):
    """A funding series that cannot be used (unsorted, duplicated, NaN rates, a missing column)."""


def empty_funding() -> pl.DataFrame:
    return pl.DataFrame(schema=FUNDING_SCHEMA)


def conform_funding(frame: pl.DataFrame, what: str) -> pl.DataFrame:
    """`timestamp` (settlement time, UTC ms) and `funding_rate` (fraction per settlement), sorted, checked."""
    missing = [c for c in FUNDING_SCHEMA if c not in frame.columns]
    if missing:
        raise FundingDataError(f"{what}: funding data lacks column(s) {missing}")
    ts = frame["timestamp"]
    if ts.dtype.is_integer():
        ts = pl.from_epoch(ts.cast(pl.Int64), time_unit="ms").dt.replace_time_zone("UTC")
    elif isinstance(ts.dtype, pl.Datetime):
        ts = ts.dt.cast_time_unit("ms")
        ts = ts.dt.replace_time_zone("UTC") if ts.dtype.time_zone is None else ts.dt.convert_time_zone("UTC")
    else:
        raise FundingDataError(f"{what}: funding timestamp must be epoch ms or a datetime, not {ts.dtype}")
    ts = ts.dt.cast_time_unit("ms")
    try:
        rate = frame["funding_rate"].cast(pl.Float64)
    except pl.exceptions.InvalidOperationError:
        raise FundingDataError(f"{what}: funding_rate is not numeric") from None
    out = pl.DataFrame({"timestamp": ts, "funding_rate": rate})
    if out.null_count().sum_horizontal().item() or not np.all(np.isfinite(out["funding_rate"].to_numpy())):
        raise FundingDataError(f"{what}: funding data has empty or NaN values")
    out = out.sort("timestamp")
    dup = out["timestamp"].is_duplicated()
    if dup.any():
        clash = out.filter(dup).group_by("timestamp").agg(pl.col("funding_rate").n_unique().alias("n"))
        if clash["n"].max() > 1:  # type: ignore[operator]
            raise FundingDataError(f"{what}: two different funding rates at the same settlement time")
        out = out.unique("timestamp", keep="first").sort("timestamp")
    return out


@dataclass(frozen=True)
class FundingSeries:
    """One perpetual's settlements as the source gave them, and how far it was asked (`covered_to_ms`:
    every settlement up to this time is in `times_ms`)."""

    times_ms: np.ndarray
    rates: np.ndarray
    origin: str  # where the rates came from (file or exchange endpoint), for costs.json
    covered_to_ms: int

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, origin: str, covered_to_ms: int) -> FundingSeries:
        frame = conform_funding(frame, origin)
        return cls(
            frame["timestamp"].dt.epoch("ms").to_numpy().astype(np.int64),
            frame["funding_rate"].to_numpy().astype(float),
            origin,
            int(covered_to_ms),
        )


@dataclass(frozen=True)
class BarFunding:
    """Per row: what a long / a short pays while the row's position is held (fraction of notional), the
    funding term of the row's threshold known at its decision (bps), and which source priced the row."""

    long: np.ndarray
    short: np.ndarray
    expected_bps: np.ndarray
    source: np.ndarray
    origin: str | None
    note: str

    def report(self, rows: np.ndarray, costs: CostSettings) -> dict[str, Any]:
        """costs.json's funding block over `rows` (the out-of-sample rows)."""
        src = self.source[rows]
        kinds = sorted(set(src.tolist()))
        recorded = src == FUNDING_RECORDED
        return {
            "funding_source": kinds[0] if len(kinds) == 1 else " and ".join(kinds),
            "origin": self.origin,
            "note": self.note,
            "constant_bps_per_8h": costs.funding_bps_per_8h,
            "bars_recorded": int(recorded.sum()),
            "bars_constant": int((src == FUNDING_CONSTANT).sum()),
            "long_pays_bps_total": float(self.long[rows].sum() * 1e4),
            "short_pays_bps_total": float(self.short[rows].sum() * 1e4),
            "expected_bps_mean": float(self.expected_bps[rows].mean()) if len(rows) else 0.0,
            "point_in_time": "a row pays the settlements inside its holding bar (known at their own time); "
            "its threshold uses only the last rate settled by its decision",
        }


def bar_funding(
    decision_ms: np.ndarray,
    bar_seconds: int,
    horizon_bars: int,
    costs: CostSettings,
    market_type: str,
    series: FundingSeries | None,
    note: str = "",
) -> BarFunding:
    """Funding of every row whose decision (and fill) is at `decision_ms` (see the module doc)."""
    d = np.asarray(decision_ms, dtype=np.int64)
    n = len(d)
    if market_type != "swap":
        zero = np.zeros(n)
        return BarFunding(zero, zero.copy(), zero.copy(), np.full(n, FUNDING_NONE), None, "spot: no funding")
    bar_ms = int(bar_seconds) * 1000
    per_bar = costs.funding_bps_per_8h / 1e4 * bar_seconds / FUNDING_PERIOD_S
    per_horizon_bps = costs.funding_bps_per_8h * horizon_bars * bar_seconds / FUNDING_PERIOD_S
    long = np.full(n, per_bar)
    short = np.full(n, per_bar)
    expected = np.full(n, per_horizon_bps)
    source = np.full(n, FUNDING_CONSTANT, dtype=object)
    if series is None or not len(series.times_ms):
        return BarFunding(long, short, expected, source.astype(str), None, note or "no recorded funding")
    times, rates = series.times_ms, series.rates
    csum = np.concatenate([[0.0], np.cumsum(rates)])
    lo = np.searchsorted(times, d, side="right")  # settlements <= d: known at the decision
    hi = np.searchsorted(times, d + bar_ms, side="right")  # settlements <= the next fill
    period_ms = FUNDING_PERIOD_S * 1000
    covered = (d >= times[0] - period_ms) & (d + bar_ms <= series.covered_to_ms)
    settled = csum[hi] - csum[lo]
    long = np.where(covered, settled, long)
    short = np.where(covered, -settled, short)
    last_known = np.where(lo > 0, np.abs(rates[np.maximum(lo - 1, 0)]), np.nan)
    settlements_per_horizon = horizon_bars * bar_seconds / FUNDING_PERIOD_S
    known = covered & np.isfinite(last_known)
    expected = np.where(known, np.nan_to_num(last_known) * 1e4 * settlements_per_horizon, expected)
    source = np.where(covered, FUNDING_RECORDED, source)
    return BarFunding(long, short, expected, source.astype(str), series.origin, note)
