"""After-cost, all-in, compounding backtest of a target position path on a grid of execution prices.

Why this accounting: it is the one a real account follows (and the one vectorbt's `from_signals` with
`size=inf` follows), so our PnL can be checked against a peer to 1e-9 (benchmarks/backtest.py):

* Flat, the account holds cash. Entering at price P_a with leg cost f_a buys notional N = E / (1 + f_a)
  (the fee is paid on the notional bought with all the cash).
* Long: the position is worth N × P_t / P_a. Exiting at P_b pays f_b on the proceeds: E' = N P_b/P_a (1 - f_b).
* Short: the collateral N plus the short's PnL, N × (2 - P_t / P_a); covering at P_b pays f_b on the
  bought-back notional N P_b / P_a. A short that loses everything is floored at (almost) zero: liquidated.
* Perpetual funding is charged per bar held, as a fraction of the account value, by side: `funding_long[i]`
  is what a long held into bar i pays over (grid i-1, grid i], `funding_short[i]` what a short pays. With
  recorded rates a short pays the negative of the long (a positive rate: the long pays, the short receives);
  with the configured constant (`costs.funding_bps_per_8h`, a cost assumption) both sides pay it.

Inputs are on the execution grid: `prices[i]` is the fill price of bar i (the next bar's OPEN after the
decision, see labels.py) and `target[i]` the position held from i to i+1. `value[i]` is the account after
trading at i, marked at `prices[i]`; per-period returns are value[i] / value[i-1] - 1 (value[-1] = 1).
Everything is vectorised numpy (segment-wise cumulative sums), no Python loop over bars.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_FLOOR = 1e-12


@dataclass(frozen=True)
class BacktestResult:
    """The account path and its round-trip trades (entry/exit indices on the price grid)."""

    value: np.ndarray
    returns: np.ndarray
    gross_returns: np.ndarray
    position: np.ndarray
    trade_entry: np.ndarray
    trade_exit: np.ndarray
    trade_side: np.ndarray
    trade_return: np.ndarray
    trade_gross_return: np.ndarray
    legs: int

    @property
    def n_trades(self) -> int:
        return int(len(self.trade_entry))


def funding_grid(
    n: int,
    funding_per_bar: float = 0.0,
    funding_long: np.ndarray | None = None,
    funding_short: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(long, short) funding paid per grid bar: the arrays when given, else the constant for both sides."""
    if (funding_long is None) != (funding_short is None):
        raise ValueError("funding_long and funding_short must be given together")
    if funding_long is None or funding_short is None:
        return np.full(n, float(funding_per_bar)), np.full(n, float(funding_per_bar))
    fl = np.asarray(funding_long, dtype=float)
    fs = np.asarray(funding_short, dtype=float)
    if fl.shape != (n,) or fs.shape != (n,):
        raise ValueError(
            f"funding arrays must have one value per grid bar ({n}), got {fl.shape} and {fs.shape}"
        )
    if not (np.all(np.isfinite(fl)) and np.all(np.isfinite(fs))):
        raise ValueError("funding arrays must be finite (0 where nothing settles)")
    return fl, fs


def _log_factors(
    prices: np.ndarray,
    target: np.ndarray,
    leg_cost: np.ndarray,
    funding: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-bar log growth split into (mark-to-market + funding, exit leg, entry leg)."""
    n = len(prices)
    prev = np.concatenate([[0.0], target[:-1]])
    changed = target != prev
    entry = changed & (target != 0)
    exit_ = changed & (prev != 0)
    idx = np.arange(n)
    # price at which the position held at bar i was entered (forward-filled entry index)
    last_entry = np.maximum.accumulate(np.where(entry, idx, 0))
    p_entry = prices[last_entry]
    p_entry_prev = np.concatenate([[prices[0]], p_entry[:-1]])  # entry price of the position held into bar i
    p_prev = np.concatenate([[prices[0]], prices[:-1]])

    mark = np.zeros(n)
    long_held = prev > 0
    short_held = prev < 0
    mark[long_held] = np.log(prices[long_held] / p_prev[long_held])
    s_now = np.maximum(2.0 - prices[short_held] / p_entry_prev[short_held], _FLOOR)
    s_before = np.maximum(2.0 - p_prev[short_held] / p_entry_prev[short_held], _FLOOR)
    mark[short_held] = np.log(s_now / s_before)
    fl, fs = funding
    mark[long_held] += np.log1p(-fl[long_held])
    mark[short_held] += np.log1p(-fs[short_held])

    exit_log = np.zeros(n)
    long_exit = exit_ & (prev > 0)
    short_exit = exit_ & (prev < 0)
    exit_log[long_exit] = np.log1p(-leg_cost[long_exit])
    ratio = prices[short_exit] / p_entry_prev[short_exit]
    collateral = np.maximum(2.0 - ratio, _FLOOR)
    exit_log[short_exit] = np.log(np.maximum(1.0 - ratio * leg_cost[short_exit] / collateral, _FLOOR))

    entry_log = np.zeros(n)
    entry_log[entry] = -np.log1p(leg_cost[entry])
    return mark, exit_log, entry_log


def _path(
    prices: np.ndarray, target: np.ndarray, leg_cost: np.ndarray, funding: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Log account value after each bar, and between the exit and entry legs of each bar (in cash)."""
    mark, exit_log, entry_log = _log_factors(prices, target, leg_cost, funding)
    log_value = np.cumsum(mark + exit_log + entry_log)
    before = np.concatenate([[0.0], log_value[:-1]])
    return log_value, before + mark + exit_log


def _checked_grid(prices: np.ndarray, leg_cost: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fill prices and per-bar leg costs as float arrays, refused when unusable."""
    prices = np.asarray(prices, dtype=float)
    if prices.ndim != 1 or len(prices) == 0:
        raise ValueError(f"the price grid must be 1-D and non-empty, got shape {prices.shape}")
    if not np.all(np.isfinite(prices)) or np.any(prices <= 0):
        raise ValueError("execution prices must be finite and > 0")
    cost = np.broadcast_to(np.asarray(leg_cost, dtype=float), prices.shape).copy()
    if np.any(~np.isfinite(cost)) or np.any(cost < 0):
        raise ValueError("leg costs must be finite and >= 0")
    return prices, cost


def _checked_target(target: np.ndarray, prices: np.ndarray, close_at_end: bool) -> np.ndarray:
    """Positions as −1/0/+1, one per grid bar; the last forced flat with `close_at_end`."""
    target = np.sign(np.asarray(target, dtype=float))
    if target.shape != prices.shape:
        raise ValueError(
            f"prices and target must be 1-D of equal length, got {prices.shape} and {target.shape}"
        )
    if np.any(~np.isfinite(target)):
        raise ValueError("target positions must be finite (use 0 for flat)")
    if close_at_end:
        target = target.copy()
        target[-1] = 0.0
    return target


def _round_trips(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(entry bars, exit bars) of the closed trades: an entry without an exit is open, not counted."""
    prev = np.concatenate([[0.0], target[:-1]])
    changed = target != prev
    entries = np.flatnonzero(changed & (target != 0))
    exits = np.flatnonzero(changed & (prev != 0))
    closed = min(len(entries), len(exits))
    return entries[:closed], exits[:closed]


def run_backtest(
    prices: np.ndarray,
    target: np.ndarray,
    leg_cost: float | np.ndarray,
    funding_per_bar: float = 0.0,
    close_at_end: bool = True,
    *,
    funding_long: np.ndarray | None = None,
    funding_short: np.ndarray | None = None,
) -> BacktestResult:
    """Backtest `target` (−1, 0, +1 per bar) filled at `prices` with `leg_cost` (fraction) per leg.

    Funding: `funding_long` / `funding_short` (one value per grid bar, see the module doc) or, without them,
    the constant `funding_per_bar` paid by either side.

    With `close_at_end` the last bar's target is forced flat, so every trade is a closed round trip
    (what an out-of-sample evaluation must report: no open PnL counted as realised).
    """
    prices, cost = _checked_grid(prices, leg_cost)
    target = _checked_target(target, prices, close_at_end)
    funding = funding_grid(len(prices), funding_per_bar, funding_long, funding_short)
    zero = np.zeros(len(prices))
    log_value, in_cash = _path(prices, target, cost, funding)
    g_log_value, g_in_cash = _path(prices, target, np.zeros_like(cost), (zero, zero))

    value = np.exp(log_value)
    returns = np.expm1(np.diff(np.concatenate([[0.0], log_value])))
    gross_returns = np.expm1(np.diff(np.concatenate([[0.0], g_log_value])))
    entries, exits = _round_trips(target)
    trade_ret = np.expm1(in_cash[exits] - in_cash[entries])
    trade_gross = np.expm1(g_in_cash[exits] - g_in_cash[entries])
    return BacktestResult(
        value=value,
        returns=returns,
        gross_returns=gross_returns,
        position=target,
        trade_entry=entries,
        trade_exit=exits,
        trade_side=target[entries].astype(int),
        trade_return=trade_ret,
        trade_gross_return=trade_gross,
        legs=int(np.abs(np.diff(np.concatenate([[0.0], target]))).sum()),
    )


def trade_sum_bps(
    prices: np.ndarray,
    leg_cost: float | np.ndarray,
    funding_per_bar: float = 0.0,
    funding_long: np.ndarray | None = None,
    funding_short: np.ndarray | None = None,
) -> Callable[[np.ndarray], float]:
    """`target -> sum(run_backtest(prices, target, leg_cost, ...).trade_return) x 1e4` for one fixed grid.

    Why: the search's early stopping scores every boosting round on the same validation grid, so the
    grid's checks and arrays are made once, and each call runs only the after-cost account path and the
    round trips that run_backtest itself runs (the same code, so the same float), not its gross path and
    per-bar returns, which the score does not read."""
    prices, cost = _checked_grid(prices, leg_cost)
    funding = funding_grid(len(prices), funding_per_bar, funding_long, funding_short)

    def score(target: np.ndarray) -> float:
        t = _checked_target(target, prices, close_at_end=True)
        _, in_cash = _path(prices, t, cost, funding)
        entries, exits = _round_trips(t)
        return float(np.sum(np.expm1(in_cash[exits] - in_cash[entries])) * 1e4)

    return score


def signal_positions(
    prediction_bps: np.ndarray, threshold_bps: float | np.ndarray, market_type: str = "spot"
) -> np.ndarray:
    """DESIGN §3 signal rule: long when prediction > threshold; short when < −threshold (swap only).

    `threshold_bps` is round-trip cost + safety margin. NaN predictions are flat.
    """
    pred = np.asarray(prediction_bps, dtype=float)
    thr = np.asarray(threshold_bps, dtype=float)
    pos = np.where(pred > thr, 1.0, 0.0)
    if market_type == "swap":
        pos = np.where(pred < -thr, -1.0, pos)
    return np.where(np.isfinite(pred), pos, 0.0)


@dataclass(frozen=True)
class TradeDetail:
    """Per-trade accounting of a `BacktestResult` (one entry per closed round trip, same order).

    `equity_before` / `equity_after` are the account (start = 1) in cash just before the entry leg and just
    after the exit leg, so `equity_after / equity_before - 1` is the trade's net return and the trades'
    `equity_after - equity_before` sum to the account's net change when every trade is closed.
    """

    equity_before: np.ndarray
    equity_after: np.ndarray
    entry_leg_cost: np.ndarray
    exit_leg_cost: np.ndarray
    bars_held: np.ndarray
    funding_fraction: np.ndarray  # of the position's value paid in funding (negative: received)

    @property
    def net_return(self) -> np.ndarray:
        return self.equity_after / self.equity_before - 1.0


def trade_details(
    bt: BacktestResult,
    prices: np.ndarray,
    leg_cost: float | np.ndarray,
    funding_per_bar: float = 0.0,
    *,
    funding_long: np.ndarray | None = None,
    funding_short: np.ndarray | None = None,
) -> TradeDetail:
    """Re-trace `bt`'s account path (same `_path` as `run_backtest`) and report each trade's accounting."""
    prices = np.asarray(prices, dtype=float)
    cost = np.broadcast_to(np.asarray(leg_cost, dtype=float), prices.shape)
    fl, fs = funding_grid(len(prices), funding_per_bar, funding_long, funding_short)
    _, in_cash = _path(prices, bt.position, cost, (fl, fs))
    bars = (bt.trade_exit - bt.trade_entry).astype(int)
    # funding settled while each trade was held: bars entry+1 .. exit, by its side (compounded)
    funding = np.array(
        [
            1.0 - np.prod(1.0 - (fl if side > 0 else fs)[i + 1 : j + 1])
            for i, j, side in zip(bt.trade_entry, bt.trade_exit, bt.trade_side, strict=True)
        ],
        dtype=float,
    )
    return TradeDetail(
        equity_before=np.exp(in_cash[bt.trade_entry]),
        equity_after=np.exp(in_cash[bt.trade_exit]),
        entry_leg_cost=cost[bt.trade_entry].copy(),
        exit_leg_cost=cost[bt.trade_exit].copy(),
        bars_held=bars,
        funding_fraction=funding,
    )
