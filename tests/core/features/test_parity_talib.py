"""Exactness: our indicators against TA-Lib on recorded Binance candles (1d BTC-USDT, 1h ETH-USDT).

After each indicator's warm-up (TA-Lib's lookback), every value must match TA-Lib within a relative
difference of 1e-6 (the measured maxima are ~1e-12: both sides run the same recursions in float64).
The relative difference is |ours - talib| / |talib|, with the denominator floored at 1e-9 x the series'
median magnitude so that a value crossing zero (MACD histogram) is not divided by ~0.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from huracan_core.features import build_features, default_recipe
from tests.core.features.helpers import read_real

talib = pytest.importorskip("talib")
TOLERANCE = 1e-6
DATASETS = [("1d", "BTC"), ("1h", "ETH")]

Arrays = dict[str, np.ndarray]
# feature column -> (TA-Lib call on the OHLCV arrays, TA-Lib lookback)
PARITY: dict[str, tuple[Callable[[Arrays], np.ndarray], int]] = {
    "sma_5": (lambda a: talib.SMA(a["close"], 5), 4),
    "sma_20": (lambda a: talib.SMA(a["close"], 20), 19),
    "sma_50": (lambda a: talib.SMA(a["close"], 50), 49),
    "ema_5": (lambda a: talib.EMA(a["close"], 5), 4),
    "ema_10": (lambda a: talib.EMA(a["close"], 10), 9),
    "ema_20": (lambda a: talib.EMA(a["close"], 20), 19),
    "rsi_14": (lambda a: talib.RSI(a["close"], 14), 14),
    "true_range": (lambda a: talib.TRANGE(a["high"], a["low"], a["close"]), 1),
    "atr_14": (lambda a: talib.ATR(a["high"], a["low"], a["close"], 14), 14),
    "bb_upper": (lambda a: talib.BBANDS(a["close"], 20, 2.0, 2.0, 0)[0], 19),
    "bb_middle": (lambda a: talib.BBANDS(a["close"], 20, 2.0, 2.0, 0)[1], 19),
    "bb_lower": (lambda a: talib.BBANDS(a["close"], 20, 2.0, 2.0, 0)[2], 19),
    "macd": (lambda a: talib.MACD(a["close"], 12, 26, 9)[0], 33),
    "macd_signal": (lambda a: talib.MACD(a["close"], 12, 26, 9)[1], 33),
    "macd_histogram": (lambda a: talib.MACD(a["close"], 12, 26, 9)[2], 33),
    "stoch_k": (lambda a: talib.STOCH(a["high"], a["low"], a["close"], 14, 3, 0, 3, 0)[0], 17),
    "stoch_d": (lambda a: talib.STOCH(a["high"], a["low"], a["close"], 14, 3, 0, 3, 0)[1], 17),
    "plus_di_14": (lambda a: talib.PLUS_DI(a["high"], a["low"], a["close"], 14), 14),
    "minus_di_14": (lambda a: talib.MINUS_DI(a["high"], a["low"], a["close"], 14), 14),
    "adx_14": (lambda a: talib.ADX(a["high"], a["low"], a["close"], 14), 27),
    "on_balance_volume": (lambda a: talib.OBV(a["close"], a["volume"]), 0),
    "volume_sma_20": (lambda a: talib.SMA(a["volume"], 20), 19),
}


def relative_difference(ours: np.ndarray, reference: np.ndarray) -> np.ndarray:
    floor = 1e-9 * float(np.median(np.abs(reference)))
    return np.abs(ours - reference) / np.maximum(np.abs(reference), max(floor, 1e-300))


@pytest.fixture(scope="module", params=DATASETS, ids=lambda d: f"{d[0]}-{d[1]}")
def dataset(request: pytest.FixtureRequest, shared_data: Path) -> tuple[Arrays, pl.DataFrame]:
    timeframe, base = request.param
    candles = read_real(shared_data, timeframe, base)
    features = build_features(candles, default_recipe(timeframe))
    arrays = {c: candles[c].to_numpy() for c in ("open", "high", "low", "close", "volume")}
    return arrays, features


@pytest.mark.parametrize("column", list(PARITY))
def test_matches_talib_after_warmup(dataset: tuple[Arrays, pl.DataFrame], column: str) -> None:
    arrays, features = dataset
    call, lookback = PARITY[column]
    reference = call(arrays)
    ours = features[column].to_numpy()
    assert len(ours) == len(reference) > lookback + 100
    assert not np.isnan(reference[lookback:]).any()
    assert np.isnan(reference[:lookback]).all()
    # we never publish a value where TA-Lib has none yet... except where TA-Lib hides a valid one (MACD, STOCH)
    warmup = default_recipe().spec(column).warmup
    assert warmup <= lookback
    assert features[column][:warmup].null_count() == warmup
    assert features[column][warmup:].null_count() == 0
    diff = relative_difference(ours[lookback:], reference[lookback:])
    assert diff.max() <= TOLERANCE, (
        f"{column}: max relative difference {diff.max():.3e} at bar {diff.argmax()}"
    )
