"""The voting engines: 23 simple, well-known strategies read off one coin's feature frame.

Why simple and many: the live bot trusts no single rule. Each engine is a textbook signal (moving-average
crosses, MACD, RSI, Bollinger, breakouts, ...) turned into a vote in [-1, 1] per bar (+1 long, -1 short,
0 no opinion). The consensus (consensus.py) learns from their trailing out-of-sample record how much to
trust each one; none of them is fitted here, so every vote is out-of-sample by construction.

Point in time: a vote at bar t reads only columns of bars <= t (the feature recipe guarantees that for
every feature column; the few values computed here use backward shifts and trailing windows only). A
missing input (warm-up, a reference coin not supplied) gives 0, never a filled-in guess.

The coin's own LightGBM model is the 23rd engine: its walk-forward OOS predictions
(`oos_predictions.parquet` in the model folder) joined on timestamp, as a vote tanh(prediction / threshold).
Outside its OOS rows it abstains.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

NORM_WINDOW = 100  # trailing bars behind the scale of an unbounded signal


def _col(f: pl.DataFrame, name: str) -> np.ndarray:
    if name not in f.columns:
        return np.full(f.height, np.nan)
    return f[name].cast(pl.Float64).fill_null(float("nan")).to_numpy()


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    out = np.full_like(x, np.nan)
    if k < len(x):
        out[k:] = x[: len(x) - k]
    return out


def _squash(x: np.ndarray, window: int = NORM_WINDOW) -> np.ndarray:
    """tanh of x over its trailing root mean square (bars <= t): an unbounded signal in [-1, 1]."""
    rms = np.sqrt(pl.Series(x * x).rolling_mean(window, min_samples=max(10, window // 5)).to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.tanh(x / rms)


def _vol_scaled(ret: np.ndarray, vol: np.ndarray, bars: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.tanh(ret / (vol * np.sqrt(bars)))


# --- trend -------------------------------------------------------------------------------------------


def sma_cross_5_20(f: pl.DataFrame) -> np.ndarray:
    """Fast SMA above slow SMA: long; below: short (strength by its trailing scale)."""
    return _squash(_col(f, "sma_5_vs_sma_20"))


def sma_cross_20_50(f: pl.DataFrame) -> np.ndarray:
    return _squash(_col(f, "sma_20_vs_sma_50"))


def ema_cross_5_20(f: pl.DataFrame) -> np.ndarray:
    """EMA(5) against EMA(20), from their close-relative forms: (1 + ema5_rel) / (1 + ema20_rel) - 1."""
    return _squash((1.0 + _col(f, "ema_5_rel")) / (1.0 + _col(f, "ema_20_rel")) - 1.0)


def price_vs_ema_20(f: pl.DataFrame) -> np.ndarray:
    """Close above its EMA(20): long (ema_20_rel = ema / close - 1 is negative then)."""
    return _squash(-_col(f, "ema_20_rel"))


def macd_histogram(f: pl.DataFrame) -> np.ndarray:
    """MACD line above its signal line: long, scaled by the histogram's trailing size."""
    return _squash(_col(f, "macd_histogram_pct"))


def macd_zero_cross(f: pl.DataFrame) -> np.ndarray:
    """The MACD line's side of zero (the classic trend filter): +1 above, -1 below."""
    return np.sign(_col(f, "macd_pct"))


def adx_trend(f: pl.DataFrame) -> np.ndarray:
    """Follow the dominant directional index only when ADX says a trend exists (ADX >= 20)."""
    adx, spread = _col(f, "adx_14"), _col(f, "di_spread_14")
    with np.errstate(invalid="ignore"):
        return np.where(
            adx >= 20.0, np.sign(spread) * np.minimum(adx / 40.0, 1.0), np.where(np.isnan(adx), np.nan, 0.0)
        )


def donchian_breakout(f: pl.DataFrame) -> np.ndarray:
    """Close beyond the previous 20-bar high (low): +1 (-1). The channel excludes the current bar."""
    close, hi, lo = _col(f, "close"), _shift(_col(f, "high_max_20"), 1), _shift(_col(f, "low_min_20"), 1)
    with np.errstate(invalid="ignore"):
        out = np.where(close > hi, 1.0, np.where(close < lo, -1.0, 0.0))
    return np.where(np.isnan(hi) | np.isnan(lo), np.nan, out)


# --- mean reversion ----------------------------------------------------------------------------------


def rsi_reversion(f: pl.DataFrame) -> np.ndarray:
    """RSI below 30 (oversold): long, growing to +1 at 10; above 70: short, to -1 at 90."""
    rsi = _col(f, "rsi_14")
    return np.clip((30.0 - rsi) / 20.0, 0.0, 1.0) - np.clip((rsi - 70.0) / 20.0, 0.0, 1.0)


def bollinger_reversion(f: pl.DataFrame) -> np.ndarray:
    """Close under the lower band: long; over the upper band: short (linear inside, by position in the band)."""
    pos = _col(f, "price_vs_bb")
    return np.clip((0.5 - pos) * 2.0, -1.0, 1.0)


def stochastic_reversion(f: pl.DataFrame) -> np.ndarray:
    """Slow %K under 20 and turning up through %D: long; over 80 and turning down: short."""
    k, d = _col(f, "stoch_k"), _col(f, "stoch_d")
    with np.errstate(invalid="ignore"):
        out = np.where((k < 20.0) & (k > d), 1.0, np.where((k > 80.0) & (k < d), -1.0, 0.0))
    return np.where(np.isnan(k) | np.isnan(d), np.nan, out)


def zscore_reversion(f: pl.DataFrame) -> np.ndarray:
    """Distance of close from its SMA(20) in units of 20-bar volatility: fade it."""
    dev, vol = _col(f, "price_vs_sma_20"), _col(f, "volatility_20")
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.tanh(dev / (vol * np.sqrt(20.0)) / 2.0)


# --- momentum ----------------------------------------------------------------------------------------


def momentum_5(f: pl.DataFrame) -> np.ndarray:
    return _vol_scaled(_col(f, "ret_5"), _col(f, "volatility_20"), 5)


def momentum_20(f: pl.DataFrame) -> np.ndarray:
    return _vol_scaled(_col(f, "ret_20"), _col(f, "volatility_20"), 20)


def roc_10(f: pl.DataFrame) -> np.ndarray:
    """Rate of change over 10 bars, close / close[t-10] - 1, scaled by volatility."""
    close = _col(f, "close")
    with np.errstate(divide="ignore", invalid="ignore"):
        return _vol_scaled(close / _shift(close, 10) - 1.0, _col(f, "volatility_20"), 10)


# --- volume ------------------------------------------------------------------------------------------


def obv_trend(f: pl.DataFrame) -> np.ndarray:
    """On-balance-volume flow over 20 bars (in [-1, 1]): buying pressure long, selling pressure short."""
    return np.clip(_col(f, "obv_flow_20") * 2.0, -1.0, 1.0)


def volume_spike(f: pl.DataFrame) -> np.ndarray:
    """A volume spike (z > 2 on log volume) confirms the bar's move: follow it."""
    z, ret = _col(f, "volume_z_20"), _col(f, "ret_1")
    with np.errstate(invalid="ignore"):
        out = np.where(z > 2.0, np.sign(ret) * np.minimum(0.5 + (z - 2.0) / 2.0, 1.0), 0.0)
    return np.where(np.isnan(z) | np.isnan(ret), np.nan, out)


# --- volatility --------------------------------------------------------------------------------------


def atr_breakout(f: pl.DataFrame) -> np.ndarray:
    """A close-to-close move beyond one previous-bar ATR: follow it."""
    close = _col(f, "close")
    atr_prev = _shift(_col(f, "atr_14"), 1)
    move = close - _shift(close, 1)
    with np.errstate(invalid="ignore"):
        out = np.where(move > atr_prev, 1.0, np.where(move < -atr_prev, -1.0, 0.0))
    return np.where(np.isnan(atr_prev) | np.isnan(move), np.nan, out)


def volatility_regime(f: pl.DataFrame) -> np.ndarray:
    """Calm markets trend, wild ones revert: follow 20-bar momentum when volatility ranks low (< 1/3),
    fade 5-bar momentum when it ranks high (> 2/3), abstain in between."""
    pct = _col(f, "volatility_percentile")
    follow = momentum_20(f)
    fade = -momentum_5(f)
    with np.errstate(invalid="ignore"):
        out = np.where(pct < 1 / 3, follow, np.where(pct > 2 / 3, fade, 0.0))
    return np.where(np.isnan(pct), np.nan, out)


# --- cross-asset -------------------------------------------------------------------------------------


def _btc_sum_20(f: pl.DataFrame) -> np.ndarray:
    """BTC's 20-bar log return, recovered from the coin's: ln(c/c[t-20]) - btc_excess_ret_20."""
    close = _col(f, "close")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(close / _shift(close, 20)) - _col(f, "btc_excess_ret_20")


def btc_lead(f: pl.DataFrame) -> np.ndarray:
    """BTC leads the market: follow BTC's 20-bar trend in proportion to the coin's correlation with it."""
    corr = np.clip(_col(f, "btc_correlation"), 0.0, 1.0)
    return _vol_scaled(_btc_sum_20(f), _col(f, "volatility_20"), 20) * corr


def beta_residual(f: pl.DataFrame) -> np.ndarray:
    """Fade the coin's idiosyncratic 20-bar move: its return minus beta x BTC's, in volatility units."""
    close = _col(f, "close")
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.log(close / _shift(close, 20))
    resid = own - _col(f, "btc_beta") * _btc_sum_20(f)
    return -_vol_scaled(resid, _col(f, "volatility_20"), 20) / 2.0


# --- regime-aware ------------------------------------------------------------------------------------


def regime_switch(f: pl.DataFrame) -> np.ndarray:
    """By the bar's market regime: TREND follows the directional spread, RANGE fades RSI extremes,
    PANIC leans short, ILLIQUID abstains."""
    regime = _col(f, "market_regime")
    trend = np.sign(_col(f, "di_spread_14"))
    rng = rsi_reversion(f)
    out = np.select([regime == 0, regime == 1, regime == 2], [trend, rng, np.full(f.height, -0.5)], 0.0)
    return np.where(np.isnan(regime), np.nan, out)


ENGINES: dict[str, Callable[[pl.DataFrame], np.ndarray]] = {
    "sma_cross_5_20": sma_cross_5_20,
    "sma_cross_20_50": sma_cross_20_50,
    "ema_cross_5_20": ema_cross_5_20,
    "price_vs_ema_20": price_vs_ema_20,
    "macd_histogram": macd_histogram,
    "macd_zero_cross": macd_zero_cross,
    "adx_trend": adx_trend,
    "donchian_breakout": donchian_breakout,
    "rsi_reversion": rsi_reversion,
    "bollinger_reversion": bollinger_reversion,
    "stochastic_reversion": stochastic_reversion,
    "zscore_reversion": zscore_reversion,
    "momentum_5": momentum_5,
    "momentum_20": momentum_20,
    "roc_10": roc_10,
    "obv_trend": obv_trend,
    "volume_spike": volume_spike,
    "atr_breakout": atr_breakout,
    "volatility_regime": volatility_regime,
    "btc_lead": btc_lead,
    "beta_residual": beta_residual,
    "regime_switch": regime_switch,
}
MODEL_ENGINE = "lightgbm_model"
ENGINE_NAMES = (*ENGINES, MODEL_ENGINE)


def model_votes(frame: pl.DataFrame, oos: pl.DataFrame | None) -> np.ndarray:
    """The coin's model as an engine: tanh(prediction_bps / threshold_bps) on its OOS rows, NaN elsewhere.

    `oos` is the model folder's `oos_predictions.parquet` (walk-forward test predictions, made by models that
    never saw those rows). Joined on timestamp, so a missing row is a missing vote, never a shifted one.
    """
    if oos is None or oos.is_empty():
        return np.full(frame.height, np.nan)
    joined = frame.select("timestamp").join(
        oos.select("timestamp", "prediction_bps", "threshold_bps"), on="timestamp", how="left"
    )
    pred = joined["prediction_bps"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
    thr = joined["threshold_bps"].cast(pl.Float64).fill_null(float("nan")).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.tanh(pred / np.maximum(thr, 1e-9))


def compute_votes(frame: pl.DataFrame, oos: pl.DataFrame | None = None) -> np.ndarray:
    """Votes of every engine (columns in `ENGINE_NAMES` order) for every bar of a sorted feature frame.

    Values lie in [-1, 1]; NaN means the engine could not vote at that bar (warm-up, missing input).
    """
    if frame.height > 1 and not frame["timestamp"].is_sorted():
        raise ValueError("the feature frame must be sorted by timestamp before computing votes")
    cols = [np.asarray(fn(frame), dtype=float) for fn in ENGINES.values()]
    cols.append(model_votes(frame, oos))
    votes = np.column_stack(cols)
    bad = np.isfinite(votes) & (np.abs(votes) > 1.0 + 1e-12)
    if bad.any():
        name = ENGINE_NAMES[int(np.flatnonzero(bad.any(axis=0))[0])]
        raise ValueError(f"engine {name} produced a vote outside [-1, 1]")
    return np.where(np.isfinite(votes), votes, np.nan)
