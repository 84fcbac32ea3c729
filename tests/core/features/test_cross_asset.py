"""Cross-asset features join references on timestamp (never row position) and are null without them."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from huracan_core.features import (
    CrossAssetInputs,
    build_features,
    default_recipe,
    drop_warmup,
    equal_weight_market,
)
from tests.core.features.helpers import DAY_MS, START_MS, random_candles

RECIPE = default_recipe("1d")
CROSS = RECIPE.columns_of("cross_asset")


def log_returns(frame: pl.DataFrame) -> dict[object, float]:
    close = frame["close"].to_list()
    return {
        ts: math.log(close[i] / close[i - 1]) for i, ts in enumerate(frame["timestamp"].to_list()) if i > 0
    }


def test_correlation_and_beta_use_timestamp_alignment() -> None:
    coin = random_candles(120, 1)
    # BTC starts 10 days earlier, misses two days inside, and arrives shuffled
    btc = random_candles(130, 2, start_ms=START_MS - 10 * DAY_MS)
    missing = [coin["timestamp"][70], coin["timestamp"][75]]
    btc = btc.filter(~pl.col("timestamp").is_in(missing)).sample(fraction=1.0, shuffle=True, seed=3)
    frame = build_features(coin, RECIPE, CrossAssetInputs(btc=btc))
    coin_ret, btc_ret = log_returns(coin), log_returns(btc.sort("timestamp"))
    stamps = coin["timestamp"].to_list()
    t = 60
    window = stamps[t - 29 : t + 1]
    a = np.array([coin_ret[s] for s in window])
    b = np.array([btc_ret[s] for s in window])
    assert math.isclose(frame["btc_correlation"][t], float(np.corrcoef(a, b)[0, 1]), rel_tol=1e-9)
    beta = float(np.cov(a, b, ddof=1)[0, 1] / np.var(b, ddof=1))
    assert math.isclose(frame["btc_beta"][t], beta, rel_tol=1e-9)
    # BTC returns are taken on the coin's bar grid: a missing BTC bar nulls the returns at t and t+1, so
    # every 30-bar window touching bars 70-71 or 75-76 is null, and the windows before and after are not
    assert frame["btc_correlation"][69] is not None
    assert frame["btc_correlation"][70:106].null_count() == 36
    assert frame["btc_correlation"][106] is not None
    # no ETH / market given: their columns are entirely null
    for column in ("eth_correlation", "market_beta", "market_correlation", "market_excess_ret_20"):
        assert frame[column].null_count() == coin.height


def test_btc_against_itself() -> None:
    btc = random_candles(200, 5)
    frame = build_features(btc, RECIPE, CrossAssetInputs(btc=btc))
    valid = frame["btc_correlation"].drop_nulls()
    assert valid.len() == 200 - 30
    assert (valid - 1.0).abs().max() < 1e-9
    assert (frame["btc_beta"].drop_nulls() - 1.0).abs().max() < 1e-9
    assert frame["btc_excess_ret_20"].drop_nulls().abs().max() == 0.0


def test_equal_weight_market_uses_available_coins_per_timestamp() -> None:
    a = random_candles(10, 1)
    b = random_candles(6, 2, start_ms=START_MS + 4 * DAY_MS)  # listed later
    market = equal_weight_market({"A": a, "B": b})
    ra, rb = log_returns(a), log_returns(b)
    assert market.columns == ["timestamp", "market_ret", "n_coins"]
    assert market.height == 9  # the first bar of A has no return
    for ts, ret, n in market.iter_rows():
        expected = [r[ts] for r in (ra, rb) if ts in r]
        assert n == len(expected)
        assert math.isclose(ret, sum(expected) / len(expected), rel_tol=1e-12)
    assert market["n_coins"].to_list() == [1, 1, 1, 1, 2, 2, 2, 2, 2]


def test_equal_weight_market_skips_returns_across_a_gap() -> None:
    a = random_candles(10, 1)
    gappy = random_candles(10, 2).filter(pl.int_range(pl.len()) != 5)
    market = equal_weight_market({"A": a, "G": gappy})
    # bar 6 of G follows bar 4 while the market traded bar 5: its two-day return is left out
    assert market["n_coins"].to_list() == [2, 2, 2, 2, 1, 1, 2, 2, 2]
    # an exchange-wide outage (both coins miss bar 5) still gives a return across it
    outage = equal_weight_market({"A": a.filter(pl.int_range(pl.len()) != 5), "G": gappy})
    assert outage["n_coins"].to_list() == [2, 2, 2, 2, 2, 2, 2, 2]
    assert equal_weight_market({}).height == 0


def test_market_reference_and_drop_warmup() -> None:
    coins = {f"C{i}": random_candles(200, i) for i in range(4)}
    market = equal_weight_market(coins)
    recipe = RECIPE
    with_market = build_features(coins["C0"], recipe, CrossAssetInputs(market=market))
    assert with_market["market_beta"].null_count() == 30
    kept = drop_warmup(with_market, recipe)
    # btc/eth columns are null throughout and ignored; market columns are required
    assert kept.height > 0 and kept["market_beta"].null_count() == 0
    without = drop_warmup(build_features(coins["C0"], recipe), recipe)
    assert without.height == kept.height
