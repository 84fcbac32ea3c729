"""The trade record: one closed round trip, as simulated. Defined once; every producer fills the same record.

Producers: `model_trades` (here) turns a model folder's out-of-sample predictions into the trades its
metrics.json counts, with the very backtest that produced those metrics (`training.evaluate`), so the
counts and the summed net PnL agree exactly. The portfolio simulator (huracan_core/trading/) fills the same
record with `source="portfolio"`.

Costs: the backtest charges one leg cost per entry and per exit (fee + half that bar's spread + that bar's
slippage, as a fraction of notional; costs are point in time, one per bar) and funding per bar held, by
side (huracan_core.funding). A trade's total cost is exactly `gross_bps - net_bps`: `funding_bps` is the
funding its side paid while it was held (negative when a short received it), and the rest is split into
fees, spread and slippage in proportion to their nominal bps (2 × fee, entry + exit half-spreads, entry +
exit slippage), so the four parts always add up to the cost the account paid (see `_leg_spread_slippage`).

Money: the OOS account starts with `costs.trade_size_usd` of the quote currency and compounds (all-in),
so `net_pnl = capital × (equity_after - equity_before)` and, in the quote, the trades' net PnL sums to the
account's net change (`capital × net_pnl_pct / 100` of metrics.json). With `market.account_currency` set to
another currency (the seed's GBP) each record's `size` and `net_pnl` are converted at the point-in-time rate
(`huracan_core.market.fx`) known at entry and at exit respectively, and `currency` names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from huracan_core.atomic import read_json
from huracan_core.config import Settings
from huracan_core.symbols import normalise_symbol

if TYPE_CHECKING:
    from huracan_core.market.fx import RateSeries

REGIME_COLUMNS = {
    "regime_trend": "trend",
    "regime_range": "range",
    "regime_panic": "panic",
    "regime_illiquid": "illiquid",
}


@dataclass
class TradeRecord:
    trade_id: str
    model_id: str
    model_version: str
    symbol: str
    training_date: str
    source: str  # "oos_backtest" (a model's walk-forward OOS trades) or "portfolio" (the simulator)
    side: str  # "long" | "short"
    entry_time: datetime
    exit_time: datetime
    entry_price: float
    exit_price: float
    bars_held: int
    size: float  # notional at entry, in `currency`
    quantity: float  # coins bought (long) or sold short at entry
    gross_bps: float
    fees_bps: float
    spread_bps: float
    slippage_bps: float
    funding_bps: float
    net_bps: float
    net_pnl: float  # in `currency`
    currency: str
    regime: str | None
    volatility: float | None  # per-bar volatility (std of log returns) at the decision bar
    is_winner: bool
    fold: int | None = None
    features: dict[str, float | None] = field(default_factory=dict)

    @property
    def cost_bps(self) -> float:
        return self.fees_bps + self.spread_bps + self.slippage_bps + self.funding_bps

    def to_row(self, with_features: bool = True) -> dict[str, Any]:
        # the fields one level deep (every field but `features` is immutable): `dataclasses.asdict`
        # deep-copies each feature value, ~0.6 ms a trade, thousands of trades a night
        row = {name: getattr(self, name) for name in TRADE_FIELDS if name != "features"}
        if with_features:
            row["features"] = dict(self.features)  # the last field, as in asdict
        return row


TRADE_FIELDS = tuple(f.name for f in fields(TradeRecord))


def quote_currency(settings: Settings) -> str:
    """The currency every price and every simulated PnL is measured in: the market's quote (USDT)."""
    return settings.market.quote.upper()


def account_currency(settings: Settings) -> str:
    """The currency the trade records' money is reported in: `market.account_currency`, default the quote.

    Another currency than the quote (the seed's GBP) is converted with the market source's point-in-time
    rate series (`huracan_core.market.fx`): see `to_account_currency`."""
    wanted = getattr(settings.market, "account_currency", None)
    return wanted.upper() if wanted else quote_currency(settings)


def account_rates_for(settings: Settings, as_of: datetime) -> RateSeries | None:
    """The rates converting quote money into the account currency as known at `as_of`; None when the
    account is kept in the quote (nothing to convert)."""
    currency = account_currency(settings)
    if currency == quote_currency(settings):
        return None
    from huracan_core.market.fx import account_rates

    return account_rates(settings, currency, as_of)


def to_account_currency(records: list[TradeRecord], rates: RateSeries | None) -> list[TradeRecord]:
    """Records in the quote currency, with their money in the account currency of `rates`: the notional
    (`size`) at the rate known at entry, the net PnL at the rate known at exit (when it was realised).
    Records already in the account currency are kept as they are; any other currency is refused by name."""
    if rates is None:
        return records
    out = []
    for t in records:
        if t.currency == rates.currency:
            out.append(t)
            continue
        if t.currency != rates.quote:
            raise ValueError(
                f"trade {t.trade_id} of {t.symbol} is in {t.currency}, neither the quote {rates.quote} "
                f"nor the account currency {rates.currency}"
            )
        out.append(
            replace(
                t,
                size=rates.to_account(t.size, t.entry_time),
                net_pnl=rates.to_account(t.net_pnl, t.exit_time),
                currency=rates.currency,
            )
        )
    return out


def _regime(row: dict[str, Any]) -> str | None:
    best, label = None, None
    for col, name in REGIME_COLUMNS.items():
        value = row.get(col)
        if value is not None and np.isfinite(value) and (best is None or value > best):
            best, label = value, name
    return label if best is not None and best > 0 else None


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _leg_spread_slippage(
    oos: pl.DataFrame, feats: pl.DataFrame, fee: float, avg_spread: float, avg_slip: float, funding_rt: float
) -> tuple[np.ndarray, np.ndarray]:
    """Half-spread and slippage (bps) of one leg at each grid bar (the last grid bar repeats the last row).

    Each bar's round trip is 2 × fee + spread + 2 × slippage + funding (DESIGN §3). Where the model folder
    keeps the per-bar spread and slippage (`cost_spread_bps`, `cost_slippage_bps` in features.parquet) they
    are used as they are; otherwise the bar's variable part (round trip - fees - funding) is split between
    spread and slippage in the ratio of their out-of-sample averages in costs.json.
    """
    rt = oos["round_trip_bps"].to_numpy().astype(float)
    if {"cost_spread_bps", "cost_slippage_bps"} <= set(feats.columns):
        per_row = oos.select("row").join(
            feats.select("row", "cost_spread_bps", "cost_slippage_bps"), on="row", how="left"
        )
        spread = per_row["cost_spread_bps"].to_numpy().astype(float)
        slip = per_row["cost_slippage_bps"].to_numpy().astype(float)
    else:
        variable = np.maximum(rt - 2 * fee - funding_rt, 0.0)
        total = avg_spread + 2 * avg_slip
        spread = variable * (avg_spread / total) if total > 0 else np.zeros_like(rt)
        slip = (variable - spread) / 2.0
    spread_leg, slip_leg = np.append(spread, spread[-1]) / 2.0, np.append(slip, slip[-1])
    return spread_leg, slip_leg


@dataclass
class ModelTrades:
    """A model's OOS trades plus the path they came from (for post-exit tracking, regimes and reports)."""

    records: list[TradeRecord]
    prices: np.ndarray  # execution price grid of the OOS backtest
    grid_time: list[datetime]  # fill time of each grid price
    equity: np.ndarray  # account after each grid bar (start = 1), after costs
    entry_index: list[int]
    exit_index: list[int]
    bar_regimes: list[str | None]  # regime of each OOS decision bar
    capital: float


def model_trades(model_dir: Path, settings: Settings, source: str = "oos_backtest") -> list[TradeRecord]:
    """Every OOS trade of one model folder, as its metrics.json counted them (see module doc)."""
    return load_model_trades(model_dir, settings, source).records


def load_model_trades(
    model_dir: Path, settings: Settings, source: str = "oos_backtest", rates: RateSeries | None = None
) -> ModelTrades:
    """`model_trades` with the OOS price grid, equity path and per-bar regimes it was simulated on. The
    money of each record is in the account currency: converted with `rates` (default: the market source's
    rates as known at the end of the model's training date) when that is not the quote."""
    from huracan_core.training.evaluate import oos_trade_details

    model_dir = Path(model_dir)
    meta = read_json(model_dir / "metadata.json")
    config = read_json(model_dir / "config.json")
    costs = read_json(model_dir / "costs.json")
    oos = pl.read_parquet(model_dir / "oos_predictions.parquet")
    feats = pl.read_parquet(model_dir / "features.parquet")
    market_type = config.get("market_type", "spot")
    horizon = int(config.get("horizon_bars", 1))
    funding_rt = float(costs.get("funding_bps", 0.0))
    funding_per_bar = funding_rt / horizon / 1e4
    fee = float(costs.get("fee_bps", 0.0))
    spread = float(costs.get("spread_bps", 0.0))
    capital = float(costs.get("trade_size_usd", settings.costs.trade_size_usd))
    currency = quote_currency(settings)
    symbol = normalise_symbol(meta["symbol"])

    bt, detail, prices, grid_ts = oos_trade_details(oos, market_type, funding_per_bar)
    n = oos.height
    spread_leg, slip_leg = _leg_spread_slippage(
        oos, feats, fee, spread, float(costs.get("avg_slip_bps", 0.0)), funding_rt
    )
    inputs = [c for c in config.get("input_columns", []) if c in feats.columns]
    keep = [
        "row",
        *inputs,
        *(c for c in ("volatility", *REGIME_COLUMNS) if c in feats.columns and c not in inputs),
    ]
    by_row = feats.select(list(dict.fromkeys(keep))).join(oos.select("row"), on="row", how="semi")
    lookup = {r["row"]: r for r in by_row.iter_rows(named=True)}
    rows = oos["row"].to_list()
    folds = oos["fold"].to_list()

    records = []
    for k in range(bt.n_trades):
        i, j = int(bt.trade_entry[k]), int(bt.trade_exit[k])
        gross = float(bt.trade_gross_return[k] * 1e4)
        net = float(bt.trade_return[k] * 1e4)
        bars = int(detail.bars_held[k])
        # funding is what the trade's side paid (negative: a short received a positive rate), taken as
        # it is; the rest of the cost is split between fees, spread and slippage by their nominal bps
        funding = float(detail.funding_fraction[k] * 1e4)
        nominal = np.array([2 * fee, spread_leg[i] + spread_leg[j], slip_leg[i] + slip_leg[j]])
        rest = gross - net - funding
        parts = np.append(nominal * (rest / nominal.sum()) if nominal.sum() > 0 else np.zeros(3), funding)
        row = lookup.get(rows[i], {}) if i < n else {}
        equity = float(detail.equity_before[k]) * capital
        size = equity / (1.0 + float(detail.entry_leg_cost[k]))
        records.append(
            TradeRecord(
                trade_id=f"{meta['model_id']}#{k:05d}",
                model_id=meta["model_id"],
                model_version=meta.get("version", model_dir.name),
                symbol=symbol,
                training_date=meta["training_date"],
                source=source,
                side="long" if bt.trade_side[k] > 0 else "short",
                entry_time=datetime.fromtimestamp(grid_ts[i] / 1000, tz=UTC),
                exit_time=datetime.fromtimestamp(grid_ts[j] / 1000, tz=UTC),
                entry_price=float(prices[i]),
                exit_price=float(prices[j]),
                bars_held=bars,
                size=size,
                quantity=size / float(prices[i]),
                gross_bps=gross,
                fees_bps=float(parts[0]),
                spread_bps=float(parts[1]),
                slippage_bps=float(parts[2]),
                funding_bps=float(parts[3]),
                net_bps=net,
                net_pnl=capital * float(detail.equity_after[k] - detail.equity_before[k]),
                currency=currency,
                regime=_regime(row),
                volatility=_finite(row.get("volatility")),
                is_winner=net > 0,
                fold=int(folds[i]) if i < n else None,
                features={c: _finite(row.get(c)) for c in inputs},
            )
        )
    if account_currency(settings) != currency:
        if rates is None:
            from huracan_core.dates import as_of_for

            rates = account_rates_for(settings, as_of_for(date.fromisoformat(meta["training_date"])))
        records = to_account_currency(records, rates)
    return ModelTrades(
        records=records,
        prices=prices,
        grid_time=[datetime.fromtimestamp(ms / 1000, tz=UTC) for ms in grid_ts.tolist()],
        equity=bt.value,
        entry_index=[int(i) for i in bt.trade_entry],
        exit_index=[int(j) for j in bt.trade_exit],
        bar_regimes=[_regime(lookup.get(r, {})) for r in rows],
        capital=capital,
    )


def trades_frame(records: list[TradeRecord], with_features: bool = False) -> pl.DataFrame:
    """The records as a table (feature values as one JSON-able struct column when asked)."""
    if not records:
        schema = {name: pl.Utf8 for name in TRADE_FIELDS if with_features or name != "features"}
        return pl.DataFrame(schema=schema)
    return pl.DataFrame([r.to_row(with_features) for r in records], infer_schema_length=None)
