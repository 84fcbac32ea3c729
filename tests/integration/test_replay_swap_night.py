"""A perps night on recorded USDT-M daily bars (replay): BTC's funding is charged from its recorded
settlements (by side, per settlement held), a perp without recorded funding pays the named constant, and
shorts are taken. Skips when ../shared/data/binance-usdm is absent."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from huracan_core.atomic import read_json
from huracan_core.config import Settings
from huracan_core.market.factory import build_source
from huracan_core.market.replay import ReplayMarket
from huracan_core.training.dataset import as_of_for

NIGHT = date(2025, 5, 20)
COINS = ("BTC-USDT", "ETH-USDT")
DAY_MS = 86_400_000


@pytest.fixture
def usdm(shared_data: Path) -> Path:
    folder = shared_data / "binance-usdm"
    if not (folder / "1d" / "BTC-USDT.csv").is_file() or not (folder / "funding" / "BTC-USDT.csv").is_file():
        pytest.skip(f"recorded USDT-M perps (1d bars and BTC funding) not found at {folder}")
    return folder


def settings_for(root: Path, usdm: Path) -> Settings:
    replay = root / "perps" / "1d"  # the recorded layout: 1d/ beside funding/
    replay.mkdir(parents=True)
    for coin in COINS:
        os.symlink(usdm / "1d" / f"{coin}.csv", replay / f"{coin}.csv")
    os.symlink(usdm / "funding", root / "perps" / "funding")
    return Settings(
        home=root / "home",
        market={"source": "replay", "replay_dir": str(replay), "timeframe": "1d", "lookback_days": 450},
        universe={"market_type": "swap", "min_quote_volume_usd": 0, "min_age_days": 0},
        costs={"safety_margin_bps": 0, "funding_bps_per_8h": 1.0},
        training={
            "n_trials": 1,
            "num_boost_round": 20,
            "folds": 3,
            "min_train_bars": 100,
            "mode": "sequential",
        },
        gates={"min_trades": 1, "min_sharpe": -100, "min_hit_rate": 0, "min_net_pnl_bps": -1e9},
        database={"url": f"sqlite:///{root / 'brain.sqlite'}"},
    )


def test_replay_serves_perps_and_their_recorded_funding(tmp_path: Path, usdm: Path) -> None:
    settings = settings_for(tmp_path, usdm)
    source = build_source(settings, as_of_for(NIGHT))
    assert isinstance(source, ReplayMarket) and source.funding_dir == tmp_path / "perps" / "funding"
    assert {m.market_type for m in source.markets()} == {"swap"}
    btc = source.fetch_funding_rates("BTC-USDT", as_of_for(date(2025, 5, 1)), as_of_for(date(2026, 1, 1)))
    assert btc is not None and btc["timestamp"].max() < as_of_for(NIGHT)  # nothing after the as-of
    assert source.fetch_funding_rates("ETH-USDT", as_of_for(date(2025, 5, 1)), as_of_for(NIGHT)) is None


@pytest.mark.slow
def test_a_swap_night_charges_recorded_funding_by_side(tmp_path: Path, usdm: Path) -> None:
    from huracan_core import stages

    settings = settings_for(tmp_path, usdm)
    coins = stages.prepare_day(settings, NIGHT, symbols=list(COINS))
    assert sorted(coins) == sorted(COINS)
    outcomes = {c: stages.model_stage(settings, NIGHT, c) for c in COINS}
    btc_dir, eth_dir = (outcomes[c].result.model_dir for c in COINS)

    btc = read_json(btc_dir / "costs.json")
    assert btc["funding_source"] == "recorded" and "funding/BTC-USDT.csv" in btc["funding"]["origin"]
    # by hand: each OOS row decided at t's close pays the settlements in (close, close + 1 day]
    oos = pl.read_parquet(btc_dir / "oos_predictions.parquet")
    rates = pl.read_csv(usdm / "funding" / "BTC-USDT.csv")
    ts, rate = rates["timestamp"].to_numpy(), rates["funding_rate"].to_numpy()
    decided = oos["timestamp"].dt.epoch("ms").to_numpy() + DAY_MS
    by_hand = np.array([rate[(ts > d) & (ts <= d + DAY_MS)].sum() for d in decided])
    assert oos["funding_long"].to_numpy() == pytest.approx(by_hand, abs=1e-15)
    assert oos["funding_short"].to_numpy() == pytest.approx(-by_hand, abs=1e-15)
    assert btc["funding"]["long_pays_bps_total"] == pytest.approx(by_hand.sum() * 1e4)
    assert by_hand.sum() > 0  # BTC's funding was positive on balance: longs paid, shorts received

    eth = read_json(eth_dir / "costs.json")
    assert eth["funding_source"] == "constant funding_bps_per_8h"
    assert "no recorded funding for ETH-USDT" in eth["funding"]["note"]
    eth_oos = pl.read_parquet(eth_dir / "oos_predictions.parquet")
    assert eth_oos["funding_long"].to_numpy() == pytest.approx(np.full(eth_oos.height, 3.0 / 1e4))  # 3 x 8 h

    from huracan_core.trades import model_trades

    trades = [t for c in COINS for t in model_trades(outcomes[c].result.model_dir, settings)]
    assert any(t.side == "short" for t in trades)
    btc_trades = [t for t in trades if t.symbol == "BTC-USDT"]
    longs = [t.funding_bps for t in btc_trades if t.side == "long"]
    shorts = [t.funding_bps for t in btc_trades if t.side == "short"]
    assert not longs or sum(longs) > 0  # rates were positive on balance: longs paid them
    assert not shorts or sum(shorts) < 0  # and shorts received them
