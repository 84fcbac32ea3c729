"""The simulator's closed positions as the Brain Library's trade records (`trades.TradeRecord`, source
"portfolio"), so portfolio trades are stored and analysed exactly like a model's OOS trades.

Mapping (ClosedPosition -> TradeRecord): side +1/-1 -> "long"/"short"; notional -> size; gross and net PnL
per notional -> gross_bps / net_bps; the cost the account paid (gross - net, both legs plus funding):
funding_bps is the funding the position's side paid as the simulator charged it (negative when received),
and the rest is split into fees, spread and slippage in proportion to their nominal bps at the entry and
exit bars (2 x fee, mean spread, entry + exit slippage), as trades.py does for OOS trades, so the four parts
always add up to it. The regime and volatility are those of the decision bar (the bar before the
entry fill). Stop, risk, confidence, exit reason and the binding rule stay on the ClosedPosition (the
record has no columns for them).
"""

from __future__ import annotations

import numpy as np

from huracan_core.brain.models import PORTFOLIO_SOURCE
from huracan_core.trades import REGIME_COLUMNS, TradeRecord
from huracan_core.trading.simulator import ClosedPosition, CoinPlan

# market_regime codes (features/regime.py) -> the names trades.py gives the one-hot regime columns
REGIME_NAMES = {
    0: REGIME_COLUMNS["regime_trend"],
    1: REGIME_COLUMNS["regime_range"],
    2: REGIME_COLUMNS["regime_panic"],
    3: REGIME_COLUMNS["regime_illiquid"],
}


def _at(values: np.ndarray | None, i: int) -> float:
    if values is None or not 0 <= i < len(values):
        return 0.0
    v = float(values[i])
    return v if np.isfinite(v) else 0.0


def trade_record(
    pos: ClosedPosition,
    plan: CoinPlan,
    *,
    number: int,
    model_id: str,
    model_version: str,
    training_date: str,
    currency: str,
    capital: float = 1.0,
) -> TradeRecord:
    """One ClosedPosition of `plan`'s coin as a TradeRecord (money scaled by `capital`, the initial equity)."""
    i, j = pos.entry_index, pos.exit_index
    bars = max(j - i, 0)
    gross = pos.gross_pnl / pos.notional * 1e4
    net = pos.net_pnl / pos.notional * 1e4
    nominal = np.array(
        [
            2.0 * plan.fee_bps,
            (_at(plan.spread_bps, i) + _at(plan.spread_bps, j)) / 2.0,
            _at(plan.slippage_bps, i) + _at(plan.slippage_bps, j),
        ]
    )
    funding = pos.funding / pos.notional * 1e4  # what its side paid (negative: received), as charged
    rest = gross - net - funding
    split = nominal * (rest / nominal.sum()) if nominal.sum() > 0 else np.array([rest, 0.0, 0.0])
    parts = np.append(split, funding)
    decision = max(i - 1, 0)
    regime = _at(plan.regime, decision) if plan.regime is not None else None
    vol = float(plan.volatility[decision]) if np.isfinite(plan.volatility[decision]) else None
    return TradeRecord(
        trade_id=f"portfolio:{plan.symbol}:{training_date}#{number:05d}",
        model_id=model_id,
        model_version=model_version,
        symbol=plan.symbol,
        training_date=training_date,
        source=PORTFOLIO_SOURCE,
        side="long" if pos.side > 0 else "short",
        entry_time=pos.entry_time,
        exit_time=pos.exit_time,
        entry_price=pos.entry_price,
        exit_price=pos.exit_price,
        bars_held=bars,
        size=pos.notional * capital,
        quantity=abs(pos.quantity) * capital,
        gross_bps=gross,
        fees_bps=float(parts[0]),
        spread_bps=float(parts[1]),
        slippage_bps=float(parts[2]),
        funding_bps=float(parts[3]),
        net_bps=net,
        net_pnl=pos.net_pnl * capital,
        currency=currency,
        regime=REGIME_NAMES.get(int(regime)) if regime is not None else None,
        volatility=vol,
        is_winner=net > 0,
    )


def portfolio_records(
    trades: list[ClosedPosition],
    plans: list[CoinPlan],
    *,
    models: dict[str, tuple[str, str]],
    training_date: str,
    currency: str,
    capital: float = 1.0,
) -> list[TradeRecord]:
    """Every closed position of a simulation as TradeRecords. `models` maps a symbol to its (model_id,
    version); a coin traded without a model gets model_id "consensus:<SYMBOL>"."""
    by_symbol = {p.symbol: p for p in plans}
    out = []
    for k, pos in enumerate(trades):
        model_id, version = models.get(pos.symbol, (f"consensus:{pos.symbol}", ""))
        out.append(
            trade_record(
                pos,
                by_symbol[pos.symbol],
                number=k,
                model_id=model_id,
                model_version=version,
                training_date=training_date,
                currency=currency,
                capital=capital,
            )
        )
    return out
