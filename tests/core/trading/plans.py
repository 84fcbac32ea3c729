"""Hand-built coin plans for the rule tests: prices and decisions chosen so that one rule must bind."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from huracan_core.trading.simulator import CoinPlan

START_MS = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp() * 1000)
HOUR_MS = 3600 * 1000


def make_plan(
    symbol: str,
    close: np.ndarray,
    direction: np.ndarray,
    *,
    open_: np.ndarray | None = None,
    atr_pct: float = 0.01,
    confidence: float = 50.0,
    leg_cost: float = 0.0005,
    vol_alarm: np.ndarray | None = None,
    start_ms: int = START_MS,
    step_ms: int = HOUR_MS,
) -> CoinPlan:
    close = np.asarray(close, dtype=float)
    n = len(close)
    open_ = np.concatenate([[close[0]], close[:-1]]) if open_ is None else np.asarray(open_, dtype=float)
    return CoinPlan(
        symbol=symbol,
        timestamp_ms=start_ms + np.arange(n, dtype=np.int64) * step_ms,
        open=open_,
        high=np.maximum(open_, close),
        low=np.minimum(open_, close),
        close=close,
        direction=np.asarray(direction, dtype=float),
        confidence=np.full(n, confidence),
        score=np.asarray(direction, dtype=float),
        edge_bps=np.asarray(direction, dtype=float) * 50.0,
        atr_pct=np.full(n, atr_pct),
        volatility=np.full(n, 0.01),
        vol_alarm=np.zeros(n, dtype=bool) if vol_alarm is None else np.asarray(vol_alarm, dtype=bool),
        leg_cost=np.full(n, leg_cost),
    )
