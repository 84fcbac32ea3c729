"""Trade records: every OOS trade of every model, exactly as the metrics counted them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from huracan_core.atomic import read_json
from huracan_core.ledger import RunLedger
from huracan_core.trades import TRADE_FIELDS, load_model_trades, model_trades, trades_frame
from tests.core.brain.conftest import DAY, Night


def _model_dirs(night: Night):  # type: ignore[no-untyped-def]
    entries = RunLedger(night.home, DAY).entries()
    dirs = [e.output_path for e in entries.values() if e.status == "success"]
    assert len(dirs) == 5, entries
    return dirs


def _traded(night: Night) -> list[str]:
    """Model folders with at least 3 OOS trades, most trades first."""
    dirs = [(read_json(Path(d) / "metrics.json")["trades"], d) for d in _model_dirs(night)]
    out = [d for n, d in sorted(dirs, reverse=True) if n >= 3]
    assert len(out) >= 3, dirs
    return out


def test_trade_counts_and_pnl_equal_the_models_metrics(night: Night) -> None:
    settings = night.settings()
    total = 0
    for d in _model_dirs(night):
        metrics = read_json(Path(d) / "metrics.json")
        trades = model_trades(d, settings)
        assert len(trades) == metrics["trades"], d  # a model may trade nothing (costs above its edge)
        total += len(trades)
        assert sum(t.net_bps for t in trades) == pytest.approx(metrics["net_pnl_bps"], abs=1e-9)
        assert sum(t.gross_bps for t in trades) == pytest.approx(metrics["gross_pnl_bps"], abs=1e-9)
        capital = read_json(Path(d) / "costs.json").get("trade_size_usd", settings.costs.trade_size_usd)
        # money: the trades' PnL adds up to the compounding account's net change
        assert sum(t.net_pnl for t in trades) == pytest.approx(
            capital * metrics["net_pnl_pct"] / 100, rel=1e-9
        )
        assert sum(t.is_winner for t in trades) == metrics["winning_trades"]
    assert total > 100


def test_every_field_is_filled_and_costs_add_up(night: Night) -> None:
    settings = night.settings()
    mt = load_model_trades(_traded(night)[0], settings)
    config = read_json(Path(_traded(night)[0]) / "config.json")
    for t in mt.records:
        assert t.fees_bps + t.spread_bps + t.slippage_bps + t.funding_bps == pytest.approx(
            t.gross_bps - t.net_bps
        )
        assert (
            t.fees_bps > 0 and t.spread_bps > 0 and t.slippage_bps >= 0 and t.funding_bps == 0
        )  # spot: no funding
        assert t.entry_time < t.exit_time and t.bars_held >= 1
        assert t.side == "long" and t.size > 0 and t.quantity == pytest.approx(t.size / t.entry_price)
        assert t.currency == "USDT" and t.is_winner == (t.net_bps > 0)
        assert t.regime in {"trend", "range", "panic", "illiquid", None} and t.volatility is not None
        assert set(t.features) == set(config["input_columns"])
        assert t.model_version in t.model_id and t.source == "oos_backtest"
        # the grid prices are the fills
        assert mt.prices[mt.entry_index[mt.records.index(t)]] == t.entry_price
    assert any(t.regime for t in mt.records)
    frame = trades_frame(mt.records)
    assert frame.height == len(mt.records) and set(frame.columns) == set(TRADE_FIELDS) - {"features"}
    json.dumps(mt.records[0].to_row(), default=str)  # serialisable as-is


def test_an_account_in_gbp_converts_each_trade_at_the_rate_known_then(night: Night) -> None:
    """GBP (the seed's account): notional at the rate known at entry, net PnL at the rate known at exit,
    both from the synthetic market's GBP-USDT bars; bps, prices and counts stay as simulated."""
    from huracan_core.market.fx import synthetic_rates

    d = _traded(night)[0]
    usdt = model_trades(d, night.settings())
    settings = night.settings()
    settings.market.account_currency = "gbp"
    gbp = model_trades(d, settings)
    bars = synthetic_rates(
        settings.market.synthetic_seed, "GBP", "USDT", "1h", datetime(2026, 4, 21, tzinfo=UTC)
    )
    closes = dict(zip(bars.close_ms.tolist(), bars.rate.tolist(), strict=True))
    assert len(gbp) == len(usdt) >= 3
    used = set()
    for q, g in zip(usdt, gbp, strict=True):
        assert g.currency == "GBP" and q.currency == "USDT"
        assert (g.net_bps, g.gross_bps, g.entry_price, g.trade_id) == (
            q.net_bps,
            q.gross_bps,
            q.entry_price,
            q.trade_id,
        )
        # the fills are bar open times, so the rate known at a fill is the close of the bar just before it
        at_exit = closes[int(q.exit_time.timestamp() * 1000)]
        at_entry = closes[int(q.entry_time.timestamp() * 1000)]
        assert g.net_pnl == pytest.approx(q.net_pnl / at_exit, rel=1e-12)
        assert g.size == pytest.approx(q.size / at_entry, rel=1e-12)
        used.add(at_exit)
    assert len(used) > 1  # a moving rate, not one factor
    settings.market.account_currency = "usdt"
    assert model_trades(d, settings)[0].currency == "USDT"


def test_equity_path_ends_at_the_metrics_net_pnl(night: Night) -> None:
    d = _traded(night)[1]
    mt = load_model_trades(d, night.settings())
    metrics = read_json(Path(d) / "metrics.json")
    assert (mt.equity[-1] - 1) * 100 == pytest.approx(metrics["net_pnl_pct"], rel=1e-12)
    assert len(mt.grid_time) == len(mt.prices) == len(mt.equity)
    assert np.all(np.diff([t.timestamp() for t in mt.grid_time]) > 0)


def test_per_bar_spread_and_slippage_are_used_when_the_model_folder_keeps_them(
    night: Night, tmp_path: Path
) -> None:
    import shutil

    import polars as pl

    src = Path(_traded(night)[2])
    d = tmp_path / src.name
    shutil.copytree(src, d)
    feats = pl.read_parquet(d / "features.parquet")
    fee = read_json(d / "costs.json")["fee_bps"]
    # a per-bar split consistent with each bar's round trip: spread = 70 % of the variable part
    variable = (feats["round_trip_bps"] - 2 * fee).clip(lower_bound=0)
    feats.with_columns(
        (variable * 0.7).alias("cost_spread_bps"), (variable * 0.15).alias("cost_slippage_bps")
    ).write_parquet(d / "features.parquet")
    before = model_trades(src, night.settings())
    after = model_trades(d, night.settings())
    assert len(after) == len(before)
    for a, b in zip(after, before, strict=True):
        assert a.net_bps == b.net_bps and a.cost_bps == pytest.approx(b.cost_bps)
        assert a.spread_bps / a.slippage_bps == pytest.approx(0.7 / 0.3, rel=1e-6)  # half-spreads vs 2 legs
