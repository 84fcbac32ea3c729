"""Round-trip trading cost in bps (DESIGN §3), the single cost model every stage agrees on.

Why one function: the signal threshold, the after-cost backtest, costs.json and the roster all quote
the same number, so a model can never look profitable against a cheaper cost than it is judged by.

    round trip = 2 × fee (maker or taker) + spread + 2 × slippage(size, volatility, ADV) + funding (perps)

Slippage follows the square-root market-impact law: per leg,
``slippage_bps = slippage_impact_coef × σ_daily_bps × sqrt(trade_size_usd / ADV_usd)``, where σ_daily is the
per-bar volatility scaled to one day. Funding is charged for perpetual swaps only: `funding_bps_per_8h`
for every 8 h the position is held (holding_bars × bar_seconds).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from huracan_core.config import CostSettings

FUNDING_PERIOD_S = 8 * 3600
DAY_S = 86400


@dataclass(frozen=True)
class CostInputs:
    """What the market says about one coin on the day: quoted spread, its fees, its liquidity."""

    spread_bps: float
    maker_fee_bps: float
    taker_fee_bps: float
    adv_usd: float
    market_type: str = "spot"

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
    """The components of one round trip, in bps (scalars, or arrays when volatility is per bar)."""

    fee_bps: float
    spread_bps: float
    slippage_bps: float | np.ndarray
    funding_bps: float

    @property
    def total_bps(self) -> float | np.ndarray:
        return 2.0 * self.fee_bps + self.spread_bps + 2.0 * self.slippage_bps + self.funding_bps

    def summary(self) -> dict[str, float]:
        """Scalar view (averages over bars) for costs.json and the roster."""
        slip = float(np.nanmean(self.slippage_bps)) if np.ndim(self.slippage_bps) else float(self.slippage_bps)
        total = self.total_bps
        total_f = float(np.nanmean(total)) if np.ndim(total) else float(total)
        return {
            "fee_bps": float(self.fee_bps),
            "spread_bps": float(self.spread_bps),
            "avg_slip_bps": slip,
            "funding_bps": float(self.funding_bps),
            "round_trip_bps": total_f,
        }


def slippage_bps(
    costs: CostSettings, adv_usd: float, volatility: float | np.ndarray, bar_seconds: int
) -> float | np.ndarray:
    """Per-leg slippage (square-root impact). `volatility` is the std of per-bar log returns (fraction)."""
    if bar_seconds <= 0:
        raise ValueError(f"bar_seconds must be > 0, got {bar_seconds}")
    vol = np.asarray(volatility, dtype=float)
    daily_bps = np.abs(vol) * math.sqrt(DAY_S / bar_seconds) * 1e4
    participation = costs.trade_size_usd / adv_usd if adv_usd > 0 else math.inf
    slip = costs.slippage_impact_coef * daily_bps * math.sqrt(participation)
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
) -> CostBreakdown:
    """Every component of the round trip; `total_bps` is what `round_trip_cost_bps` returns."""
    if holding_bars < 1:
        raise ValueError(f"holding_bars must be >= 1, got {holding_bars}")
    fee = inputs.maker_fee_bps if costs.use_maker else inputs.taker_fee_bps
    return CostBreakdown(
        fee_bps=float(fee),
        spread_bps=float(inputs.spread_bps),
        slippage_bps=slippage_bps(costs, inputs.adv_usd, volatility, bar_seconds),
        funding_bps=funding_bps(inputs, costs, holding_bars, bar_seconds),
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
