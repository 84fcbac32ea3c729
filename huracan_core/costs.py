"""Round-trip trading cost in bps (DESIGN §3), the single cost model every stage agrees on.

Why one function: the signal threshold, the after-cost backtest, costs.json and the roster all quote
the same number, so a model can never look profitable against a cheaper cost than it is judged by.

    round trip = 2 × fee (maker or taker) + spread + 2 × slippage(size, volatility, ADV) + funding (perps)

Slippage follows the square-root market-impact law: per leg,
``slippage_bps = slippage_impact_coef × σ_daily_bps × sqrt(trade_size_usd / ADV_usd)``, where σ_daily is the
per-bar volatility scaled to one day. Funding is charged for perpetual swaps only: `funding_bps_per_8h`
for every 8 h the position is held (holding_bars × bar_seconds).

Point in time: a historical bar t is priced with what was known at t's close — the spread from a published
high-low estimator over the trailing window (huracan_core/spread.py: Abdi-Ranaldo 2017 or Corwin-Schultz
2012), ADV from the trailing quote volume of the candles, volatility from trailing closed-bar returns
(labels.bar_volatility). Today's quoted spread and 24 h volume (`CostInputs`) price only live trading.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from huracan_core.config import CostSettings
from huracan_core.spread import estimate_spread_bps, trailing_mean

FUNDING_PERIOD_S = 8 * 3600
DAY_S = 86400


@dataclass(frozen=True)
class CostInputs:
    """What the market says about one coin today: its fees, market type, and the live quote (spread from the
    order book / ticker at the as-of time, 24 h quote volume). The live quote prices only live trading
    (costs.json "live"); historical bars are priced by `point_in_time_inputs`, never by today's quote."""

    spread_bps: float
    maker_fee_bps: float
    taker_fee_bps: float
    adv_usd: float
    market_type: str = "spot"
    spread_source: str = "quoted"  # what gave spread_bps: the order book / ticker, or the default setting

    def __post_init__(self) -> None:
        if self.market_type not in ("spot", "swap"):
            raise ValueError(f"market_type must be 'spot' or 'swap', not {self.market_type!r}")
        for name in ("spread_bps", "maker_fee_bps", "taker_fee_bps", "adv_usd"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"CostInputs.{name} must be a finite number >= 0, got {value!r}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CostBreakdown:
    """The components of one round trip, in bps (scalars, or arrays when spread/volatility/ADV are per bar)."""

    fee_bps: float
    spread_bps: float | np.ndarray
    slippage_bps: float | np.ndarray
    funding_bps: float

    @property
    def total_bps(self) -> float | np.ndarray:
        return 2.0 * self.fee_bps + self.spread_bps + 2.0 * self.slippage_bps + self.funding_bps

    def summary(self) -> dict[str, float]:
        """Scalar view (averages over bars) for costs.json and the roster."""

        def avg(x: float | np.ndarray) -> float:
            return float(np.nanmean(x)) if np.ndim(x) else float(x)

        return {
            "fee_bps": float(self.fee_bps),
            "spread_bps": avg(self.spread_bps),
            "avg_slip_bps": avg(self.slippage_bps),
            "funding_bps": float(self.funding_bps),
            "round_trip_bps": avg(self.total_bps),
        }


def slippage_bps(
    costs: CostSettings, adv_usd: float | np.ndarray, volatility: float | np.ndarray, bar_seconds: int
) -> float | np.ndarray:
    """Per-leg slippage (square-root impact). `volatility` is the std of per-bar log returns (fraction);
    `adv_usd` a scalar or one value per bar (point-in-time ADV)."""
    if bar_seconds <= 0:
        raise ValueError(f"bar_seconds must be > 0, got {bar_seconds}")
    vol = np.asarray(volatility, dtype=float)
    daily_bps = np.abs(vol) * math.sqrt(DAY_S / bar_seconds) * 1e4
    adv = np.asarray(adv_usd, dtype=float)
    with np.errstate(divide="ignore"):
        participation = np.where(adv > 0, costs.trade_size_usd / np.where(adv > 0, adv, 1.0), math.inf)
    slip = costs.slippage_impact_coef * daily_bps * np.sqrt(participation)
    return float(slip) if slip.ndim == 0 else slip


def funding_bps(inputs: CostInputs, costs: CostSettings, holding_bars: int, bar_seconds: int) -> float:
    """Funding paid over the holding period: perps only, `funding_bps_per_8h` per 8 h held."""
    if inputs.market_type != "swap":
        return 0.0
    return costs.funding_bps_per_8h * holding_bars * bar_seconds / FUNDING_PERIOD_S


def cost_breakdown(
    inputs: CostInputs,
    costs: CostSettings,
    volatility: float | np.ndarray,
    holding_bars: int,
    bar_seconds: int,
    *,
    spread_bps: np.ndarray | None = None,
    adv_usd: np.ndarray | None = None,
) -> CostBreakdown:
    """Every component of the round trip; `total_bps` is what `round_trip_cost_bps` returns.

    `spread_bps` / `adv_usd` (one value per bar, see `point_in_time_inputs`) replace the scalar quote of
    `inputs` for historical bars; fees and the market type always come from `inputs`.
    """
    if holding_bars < 1:
        raise ValueError(f"holding_bars must be >= 1, got {holding_bars}")
    fee = inputs.maker_fee_bps if costs.use_maker else inputs.taker_fee_bps
    spread = float(inputs.spread_bps) if spread_bps is None else np.asarray(spread_bps, dtype=float)
    return CostBreakdown(
        fee_bps=float(fee),
        spread_bps=spread,
        slippage_bps=slippage_bps(
            costs, inputs.adv_usd if adv_usd is None else adv_usd, volatility, bar_seconds
        ),
        funding_bps=funding_bps(inputs, costs, holding_bars, bar_seconds),
    )


def rolling_adv_usd(close: np.ndarray, volume: np.ndarray, window: int, bar_seconds: int) -> np.ndarray:
    """Point-in-time average daily quote volume (USD) at each bar: the mean of close × volume over the
    `window` bars ending at t (fewer at the start), scaled to one day. Only bars closed by t's close count;
    NaN where no bar of the window has a finite quote volume."""
    if bar_seconds <= 0:
        raise ValueError(f"bar_seconds must be > 0, got {bar_seconds}")
    quote = np.asarray(close, dtype=float) * np.asarray(volume, dtype=float)
    return trailing_mean(quote, window, 1) * (DAY_S / bar_seconds)


SPREAD_FALLBACK = "default_spread_bps"
ADV_FALLBACK = "trade_size_usd (no volume in the window)"


@dataclass(frozen=True)
class PointInTimeInputs:
    """Spread and ADV of every bar, each computed only from candles closed by that bar, with the name of
    what priced it (the estimator, or the fallback while a window warms up)."""

    spread_bps: np.ndarray
    spread_source: np.ndarray  # str per bar: the estimator name or SPREAD_FALLBACK
    adv_usd: np.ndarray
    adv_source: np.ndarray  # str per bar: "rolling_quote_volume" or ADV_FALLBACK


def point_in_time_inputs(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    costs: CostSettings,
    bar_seconds: int,
) -> PointInTimeInputs:
    """Per-bar spread (high-low estimator of `costs.spread_estimator`, at least `spread_floor_bps`) and ADV
    (rolling quote volume) for candles sorted by time. A bar whose spread window is still warming up (or
    every bar, with `spread_estimator: default`) gets `default_spread_bps`; a bar with no traded volume in its
    ADV window gets ADV = trade size (participation 1), so slippage stays finite and large."""
    n = len(close)
    if costs.spread_estimator == "default":
        est = np.full(n, np.nan)
    else:
        est = estimate_spread_bps(
            high, low, close, costs.spread_estimator, costs.spread_window_bars, costs.spread_floor_bps
        )
    known = np.isfinite(est)
    spread = np.where(known, est, costs.default_spread_bps)
    spread_source = np.where(known, costs.spread_estimator, SPREAD_FALLBACK)
    adv = rolling_adv_usd(close, volume, costs.adv_window_bars, bar_seconds)
    adv_known = np.isfinite(adv) & (adv > 0)
    return PointInTimeInputs(
        spread_bps=spread,
        spread_source=spread_source,
        adv_usd=np.where(adv_known, adv, costs.trade_size_usd),
        adv_source=np.where(adv_known, "rolling_quote_volume", ADV_FALLBACK),
    )


def round_trip_cost_bps(
    inputs: CostInputs,
    costs: CostSettings,
    volatility: float | np.ndarray,
    holding_bars: int,
    bar_seconds: int,
) -> float | np.ndarray:
    """Round-trip cost in bps: a float for scalar volatility, an array for per-bar volatility."""
    return cost_breakdown(inputs, costs, volatility, holding_bars, bar_seconds).total_bps


def leg_cost_fraction(round_trip_bps: float | np.ndarray, funding: float = 0.0) -> float | np.ndarray:
    """Cost of one leg (entry or exit) as a fraction of notional: half the non-funding round trip.

    Funding is not a leg cost: the backtest charges it per bar actually held.
    """
    return (np.asarray(round_trip_bps, dtype=float) - funding) / 2.0 / 1e4
