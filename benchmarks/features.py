"""The full feature set on 1M candles: ours (Polars) against pandas + TA-Lib and against pandas-ta, in one run.

Inputs: a coin, BTC and ETH series of `--rows` 5-minute bars built by block-bootstrapping the recorded 5m
candles of SOL, BTC and ETH (one-day blocks drawn with the same seed for all three, so their co-movement is
real, each block's returns scaled by a random factor), plus the equal-weight market of the three. Every
implementation computes the same 95 columns (the default 1d recipe: indicators, stationary forms, regimes,
calendar, cross-asset correlations/betas, lags, rolling statistics and interactions):

- polars:        `build_features` (this library);
- pandas+talib:  the way a freqtrade strategy's `populate_indicators` is written: TA-Lib's abstract API on the
                 DataFrame for every indicator it has, pandas for the rest, `dataframe[name] = ...` per column;
- pandas+talib tuned: the same with TA-Lib's function API on Series and one concat of all new columns (the
                 fastest pandas form we know, shown so the ratio is not flattered by the idiom);
- pandas-ta:     pandas_ta_classic's own implementations (`talib=False`) for its indicators, pandas for the rest;
- pandas-ta+talib: pandas_ta_classic with its default when TA-Lib is installed (it then calls TA-Lib).

Each implementation runs in its own subprocess (inputs loaded before the clock starts: a pandas user already
holds a DataFrame); the wall time is the best of `--repeat` runs and memory is the process's peak RSS
(VmHWM, reset at the worker's start) and its growth over the loaded inputs. Before timing, the outputs of all implementations are
compared column by column with ours on the first 50 000 rows, so the ratio compares the same work.

    .venv/bin/python benchmarks/features.py [--rows 1000000] [--repeat 3] [--pandas-ta-rows N] [--process]

With `--process` it also times whole processes as a user runs them (interpreter start, imports, reading the
same four parquet inputs, computing, writing parquet): a script on our library, the pandas + TA-Lib peers
(their process imports pandas, NumPy and TA-Lib only), and `huracan features compute` itself.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    import polars as pl

# polars and huracan_core are imported inside the functions that run our side, so that a peer's
# whole-process worker (`--process-worker`) pays for pandas and TA-Lib only, as a user's script would.

SHARED = Path(os.environ.get("HURACAN_SHARED_DATA", ROOT.parent / "shared" / "data")) / "binance" / "5m"
BLOCK = 288  # one day of 5m bars
BAR_MS = 300_000
IMPLEMENTATIONS = ("polars", "pandas+talib", "pandas+talib tuned", "pandas-ta", "pandas-ta+talib")
CHECK_ROWS = 50_000


# ----------------------------------------------------------------------------------------------- inputs


def make_inputs(rows: int, seed: int = 7) -> dict[str, pl.DataFrame]:
    """Block-bootstrap recorded 5m candles of SOL (the coin), BTC and ETH into `rows` bars each (a seeded
    random walk with the same shape when the recorded data is absent)."""
    import polars as pl

    from huracan_core.candles.frame import conform
    from huracan_core.features import equal_weight_market

    if not all((SHARED / f"{b}-USDT.csv").is_file() for b in ("SOL", "BTC", "ETH")):
        print(f"recorded 5m candles not found under {SHARED}: using a seeded random walk instead", flush=True)
        return random_walk_inputs(rows, seed)
    frames = {b: conform(pl.read_csv(SHARED / f"{b}-USDT.csv")) for b in ("SOL", "BTC", "ETH")}
    common = frames["SOL"].select("timestamp")
    for frame in frames.values():
        common = common.join(frame.select("timestamp"), on="timestamp", how="inner")
    rng = np.random.default_rng(seed)
    n_blocks = math.ceil(rows / BLOCK)
    starts = rng.integers(1, common.height - BLOCK, n_blocks)
    scale = np.repeat(rng.uniform(0.7, 1.3, n_blocks), BLOCK)[:rows]
    index = (starts[:, None] + np.arange(BLOCK)[None, :]).ravel()[:rows]
    out = {}
    for base, frame in frames.items():
        f = common.join(frame, on="timestamp", how="left")
        o, h, lo, c, v = (f[k].to_numpy() for k in ("open", "high", "low", "close", "volume"))
        ret = np.log(c[index] / c[index - 1]) * scale
        gap = np.log(o[index] / c[index - 1]) * scale
        up = np.log(h[index] / np.maximum(o[index], c[index]))
        down = np.log(np.minimum(o[index], c[index]) / lo[index])
        close = c[0] * np.exp(np.cumsum(ret))
        prev = np.r_[c[0], close[:-1]]
        open_ = prev * np.exp(gap)
        out[base] = pl.DataFrame(
            {
                "timestamp": 1_420_070_400_000 + BAR_MS * np.arange(rows, dtype=np.int64),
                "open": open_,
                "high": np.maximum(open_, close) * np.exp(up),
                "low": np.minimum(open_, close) * np.exp(-down),
                "close": close,
                "volume": v[index] * scale,
            }
        ).pipe(conform)
    out["MARKET"] = equal_weight_market({k: out[k] for k in ("SOL", "BTC", "ETH")})
    return out


def random_walk_inputs(rows: int, seed: int = 7) -> dict[str, pl.DataFrame]:
    """Three coins driven by one market factor with Student-t shocks (fallback when no recorded data)."""
    import polars as pl

    from huracan_core.candles.frame import conform
    from huracan_core.features import equal_weight_market

    rng = np.random.default_rng(seed)
    market = rng.standard_t(4, rows) * 0.002
    out = {}
    for k, (base, beta) in enumerate((("SOL", 1.4), ("BTC", 1.0), ("ETH", 1.2))):
        ret = beta * market + rng.standard_t(4, rows) * 0.0015
        close = 100.0 * (k + 1) * np.exp(np.cumsum(ret))
        open_ = np.r_[close[0], close[:-1]]
        wick = np.abs(rng.normal(0, 0.001, (2, rows)))
        out[base] = pl.DataFrame(
            {
                "timestamp": 1_420_070_400_000 + BAR_MS * np.arange(rows, dtype=np.int64),
                "open": open_,
                "high": np.maximum(open_, close) * (1 + wick[0]),
                "low": np.minimum(open_, close) * (1 - wick[1]),
                "close": close,
                "volume": rng.lognormal(8, 1, rows),
            }
        ).pipe(conform)
    out["MARKET"] = equal_weight_market({k: out[k] for k in ("SOL", "BTC", "ETH")})
    return out


# -------------------------------------------------------------------------------- pandas implementations


def _indicators_talib(df: pd.DataFrame) -> dict[str, pd.Series]:
    import talib

    o, h, lo, c, v = (df[k] for k in ("open", "high", "low", "close", "volume"))
    out = {f"sma_{n}": talib.SMA(c, n) for n in (5, 10, 20, 50)}
    out |= {f"ema_{n}": talib.EMA(c, n) for n in (5, 10, 20)}
    out["true_range"] = talib.TRANGE(h, lo, c)
    out["atr_14"] = talib.ATR(h, lo, c, 14)
    out["bb_upper"], out["bb_middle"], out["bb_lower"] = talib.BBANDS(c, 20, 2.0, 2.0, 0)
    out["rsi_14"] = talib.RSI(c, 14)
    out["macd"], out["macd_signal"], out["macd_histogram"] = talib.MACD(c, 12, 26, 9)
    out["stoch_k"], out["stoch_d"] = talib.STOCH(h, lo, c, 14, 3, 0, 3, 0)
    out["plus_di_14"] = talib.PLUS_DI(h, lo, c, 14)
    out["minus_di_14"] = talib.MINUS_DI(h, lo, c, 14)
    out["adx_14"] = talib.ADX(h, lo, c, 14)
    out["volume_sma_5"], out["volume_sma_20"] = talib.SMA(v, 5), talib.SMA(v, 20)
    out["on_balance_volume"] = talib.OBV(c, v)
    out["price_volume_trend"] = (c.pct_change() * v).fillna(0.0).cumsum()  # TA-Lib has no PVT
    out["trend_strength"] = (c - c.shift(20)).abs() / c.diff().abs().rolling(20).sum()
    lv = np.log1p(v)
    out["volume_z_20"] = (lv - lv.rolling(20).mean()) / lv.rolling(20).std()
    return out


def _indicators_pandas_ta(df: pd.DataFrame, use_talib: bool) -> dict[str, pd.Series]:
    import pandas_ta_classic as ta

    t = use_talib
    h, lo, c, v = (df[k] for k in ("high", "low", "close", "volume"))
    out = {f"sma_{n}": ta.sma(c, n, talib=t) for n in (5, 10, 20, 50)}
    out |= {f"ema_{n}": ta.ema(c, n, talib=t) for n in (5, 10, 20)}
    out["true_range"] = ta.true_range(h, lo, c, talib=t)
    out["atr_14"] = ta.atr(h, lo, c, 14, talib=t)
    bb = ta.bbands(c, 20, 2.0, talib=t)
    out["bb_lower"], out["bb_middle"], out["bb_upper"] = bb.iloc[:, 0], bb.iloc[:, 1], bb.iloc[:, 2]
    out["rsi_14"] = ta.rsi(c, 14, talib=t)
    macd = ta.macd(c, 12, 26, 9, talib=t)
    out["macd"], out["macd_histogram"], out["macd_signal"] = macd.iloc[:, 0], macd.iloc[:, 1], macd.iloc[:, 2]
    stoch = ta.stoch(h, lo, c, 14, 3, 3, talib=t)
    out["stoch_k"], out["stoch_d"] = stoch.iloc[:, 0], stoch.iloc[:, 1]
    adx = ta.adx(h, lo, c, 14, talib=t)
    out["adx_14"], out["plus_di_14"], out["minus_di_14"] = adx.iloc[:, 0], adx.iloc[:, 1], adx.iloc[:, 2]
    out["volume_sma_5"], out["volume_sma_20"] = ta.sma(v, 5, talib=t), ta.sma(v, 20, talib=t)
    out["on_balance_volume"] = ta.obv(c, v, talib=t)
    out["price_volume_trend"] = ta.pvt(c, v) / 100.0  # pandas-ta's PVT is in percent
    out["trend_strength"] = ta.er(c, 20)
    out["volume_z_20"] = ta.zscore(np.log1p(v), 20)
    return out


def round_sig_figs(x: pd.Series, digits: int) -> pd.Series:
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.floor(np.log10(np.abs(x.to_numpy())))
        factor = 10.0 ** (digits - 1 - np.where(np.isfinite(magnitude), magnitude, 0.0))
        return pd.Series(np.round(x.to_numpy() * factor) / factor, index=x.index)


def _pandas_features(
    df: pd.DataFrame,
    ind: dict[str, pd.Series],
    btc: pd.DataFrame,
    eth: pd.DataFrame,
    market: pd.DataFrame,
    into_frame: bool = False,
) -> pd.DataFrame:
    """Everything around the indicators, in pandas, in the recipe's column order.

    into_frame=False (tuned): columns collected in a dict and concatenated once.
    into_frame=True (freqtrade style): `dataframe[name] = ...` one column at a time, as populate_indicators does.
    """
    o, h, lo, c, v = (df[k] for k in ("open", "high", "low", "close", "volume"))
    f = df.copy() if into_frame else {}
    for k in (1, 5, 20):
        f[f"ret_{k}"] = c.pct_change(k)
    for k in (1, 5):
        f[f"log_ret_{k}"] = np.log(c / c.shift(k))
    f["price_change"] = c.diff()
    f["high_low_ratio"], f["close_open_ratio"] = h / lo, c / o
    for n in (5, 10, 20, 50):
        f[f"sma_{n}"] = ind[f"sma_{n}"]
    for n in (5, 10, 20):
        f[f"ema_{n}"] = ind[f"ema_{n}"]
    for ma in ("sma_5", "sma_10", "sma_50", "ema_5", "ema_10", "ema_20"):
        f[f"{ma}_rel"] = f[ma] / c - 1
    f["price_vs_sma_20"] = c / f["sma_20"] - 1
    f["sma_5_vs_sma_20"] = f["sma_5"] / f["sma_20"] - 1
    f["sma_20_vs_sma_50"] = f["sma_20"] / f["sma_50"] - 1
    lr = f["log_ret_1"]
    f["volatility_5"], f["volatility_20"] = lr.rolling(5).std(), lr.rolling(20).std()
    f["volatility_ratio_5_20"] = f["volatility_5"] / f["volatility_20"]
    f["true_range"], f["atr_14"] = ind["true_range"], ind["atr_14"]
    f["atr_14_pct"] = f["atr_14"] / c
    for band in ("upper", "middle", "lower"):
        f[f"bb_{band}"] = ind[f"bb_{band}"]
    f["bb_width"] = (f["bb_upper"] - f["bb_lower"]) / f["bb_middle"]
    f["price_vs_bb"] = (c - f["bb_lower"]) / (f["bb_upper"] - f["bb_lower"])
    f["parkinson_vol_20"] = np.sqrt((np.log(h / lo) ** 2).rolling(20).mean() / (4 * math.log(2)))
    f["rsi_14"] = ind["rsi_14"]
    for name in ("macd", "macd_signal", "macd_histogram"):
        f[name] = ind[name]
    for name in ("macd", "macd_signal", "macd_histogram"):
        f[f"{name}_pct"] = f[name] / c
    f["stoch_k"], f["stoch_d"] = ind["stoch_k"], ind["stoch_d"]
    f["plus_di_14"], f["minus_di_14"], f["adx_14"] = ind["plus_di_14"], ind["minus_di_14"], ind["adx_14"]
    f["di_spread_14"] = (f["plus_di_14"] - f["minus_di_14"]) / 100
    f["volume_sma_5"], f["volume_sma_20"] = ind["volume_sma_5"], ind["volume_sma_20"]
    f["volume_ratio"] = v / f["volume_sma_20"]
    f["volume_ratio_5_20"] = f["volume_sma_5"] / f["volume_sma_20"]
    f["on_balance_volume"], f["price_volume_trend"] = ind["on_balance_volume"], ind["price_volume_trend"]
    vsum = v.rolling(20).sum()
    f["obv_flow_20"] = (f["on_balance_volume"] - f["on_balance_volume"].shift(20)) / vsum
    f["pvt_flow_20"] = (f["price_volume_trend"] - f["price_volume_trend"].shift(20)) / vsum
    f["volume_z_20"] = ind["volume_z_20"]
    f["trend_strength"] = ind["trend_strength"]
    f["volatility_percentile"] = (round_sig_figs(f["volatility_20"], 10).rolling(100).rank() - 1) / 99
    vp = f["volatility_percentile"]
    f["volatility_regime"] = pd.Series(
        np.select([vp < 1 / 3, vp < 2 / 3, vp.notna()], [0.0, 1.0, 2.0], np.nan), index=df.index
    )
    vr, lr5, vol20, adx = f["volume_ratio"], f["log_ret_5"], f["volatility_20"], f["adx_14"]
    known = vr.notna() & lr5.notna() & vol20.notna() & adx.notna()
    regime = np.select(
        [~known, vr < 0.25, lr5 < -2 * vol20 * math.sqrt(5), adx >= 25], [np.nan, 3.0, 2.0, 0.0], 1.0
    )
    f["market_regime"] = pd.Series(regime, index=df.index)
    for label, code in (("trend", 0), ("range", 1), ("panic", 2), ("illiquid", 3)):
        f[f"regime_{label}"] = (f["market_regime"] == code).astype(float).where(f["market_regime"].notna())
    ts = df["date"]
    f["hour_of_day"] = ts.dt.hour.astype(float)
    f["day_of_week"] = (ts.dt.day_of_week + 1).astype(float)
    f["is_weekend"] = (ts.dt.day_of_week >= 5).astype(float)
    # cross-asset: merge references on the timestamp, returns on the coin's grid
    merged = df[["date"]].merge(
        btc[["date", "close"]].rename(columns={"close": "btc"}), on="date", how="left"
    )
    merged = merged.merge(eth[["date", "close"]].rename(columns={"close": "eth"}), on="date", how="left")
    merged = merged.merge(market[["date", "market_ret"]], on="date", how="left")
    refs = {
        "btc": np.log(merged["btc"] / merged["btc"].shift(1)),
        "eth": np.log(merged["eth"] / merged["eth"].shift(1)),
        "market": merged["market_ret"],
    }
    refs = {k: pd.Series(r.to_numpy(), index=df.index) for k, r in refs.items()}
    for ref in ("btc", "eth", "market"):
        f[f"{ref}_correlation"] = lr.rolling(30).corr(refs[ref])
    for ref in ("btc", "market"):
        paired = refs[ref].where(lr.notna())
        f[f"{ref}_beta"] = lr.rolling(30).cov(refs[ref]) / paired.rolling(30).var()
        f[f"{ref}_excess_ret_20"] = (lr - refs[ref]).rolling(20).sum()
    for k in (1, 2, 3, 5):
        f[f"ret_1_lag_{k}"] = f["ret_1"].shift(k)
    f["rsi_14_lag_1"] = f["rsi_14"].shift(1)
    f["volume_ratio_lag_1"] = f["volume_ratio"].shift(1)
    roll = lr.rolling(10)
    f["log_ret_1_mean_10"], f["log_ret_1_min_10"] = roll.mean(), roll.min()
    f["log_ret_1_max_10"], f["log_ret_1_std_10"] = roll.max(), roll.std()
    f["high_max_20"], f["low_min_20"] = h.rolling(20).max(), lo.rolling(20).min()
    f["close_pos_20"] = (c - f["low_min_20"]) / (f["high_max_20"] - f["low_min_20"])
    f["close_vs_high_20"] = c / f["high_max_20"] - 1
    f["close_vs_low_20"] = c / f["low_min_20"] - 1
    f["rsi_x_volume_ratio"] = (f["rsi_14"] - 50) / 50 * f["volume_ratio"]
    f["ret_1_x_volume_ratio"] = f["ret_1"] * f["volume_ratio"]
    f["adx_x_di_spread"] = f["adx_14"] / 100 * f["di_spread_14"]
    f["trend_x_ret_20"] = f["trend_strength"] * f["ret_20"]
    if into_frame:
        return f
    return pd.concat([df, pd.DataFrame(f, index=df.index)], axis=1)


def _indicators_talib_abstract(df: pd.DataFrame) -> dict[str, pd.Series]:
    """TA-Lib's abstract API on the whole DataFrame, the idiom of freqtrade strategies (`ta.RSI(dataframe)`)."""
    import talib.abstract as ta

    out = {f"sma_{n}": ta.SMA(df, timeperiod=n) for n in (5, 10, 20, 50)}
    out |= {f"ema_{n}": ta.EMA(df, timeperiod=n) for n in (5, 10, 20)}
    out["true_range"] = ta.TRANGE(df)
    out["atr_14"] = ta.ATR(df, timeperiod=14)
    bb = ta.BBANDS(df, timeperiod=20, nbdevup=2.0, nbdevdn=2.0, matype=0)
    out["bb_upper"], out["bb_middle"], out["bb_lower"] = bb["upperband"], bb["middleband"], bb["lowerband"]
    out["rsi_14"] = ta.RSI(df, timeperiod=14)
    macd = ta.MACD(df, fastperiod=12, slowperiod=26, signalperiod=9)
    out["macd"], out["macd_signal"], out["macd_histogram"] = (
        macd["macd"],
        macd["macdsignal"],
        macd["macdhist"],
    )
    stoch = ta.STOCH(df, fastk_period=14, slowk_period=3, slowk_matype=0, slowd_period=3, slowd_matype=0)
    out["stoch_k"], out["stoch_d"] = stoch["slowk"], stoch["slowd"]
    out["plus_di_14"] = ta.PLUS_DI(df, timeperiod=14)
    out["minus_di_14"] = ta.MINUS_DI(df, timeperiod=14)
    out["adx_14"] = ta.ADX(df, timeperiod=14)
    out["volume_sma_5"] = ta.SMA(df, timeperiod=5, price="volume")
    out["volume_sma_20"] = ta.SMA(df, timeperiod=20, price="volume")
    out["on_balance_volume"] = ta.OBV(df)
    c, v = df["close"], df["volume"]
    out["price_volume_trend"] = (c.pct_change() * v).fillna(0.0).cumsum()  # TA-Lib has no PVT
    out["trend_strength"] = (c - c.shift(20)).abs() / c.diff().abs().rolling(20).sum()
    lv = np.log1p(v)
    out["volume_z_20"] = (lv - lv.rolling(20).mean()) / lv.rolling(20).std()
    return out


def freqtrade_style(
    df: pd.DataFrame, btc: pd.DataFrame, eth: pd.DataFrame, market: pd.DataFrame
) -> pd.DataFrame:
    return _pandas_features(df, _indicators_talib_abstract(df), btc, eth, market, into_frame=True)


def pandas_talib(
    df: pd.DataFrame, btc: pd.DataFrame, eth: pd.DataFrame, market: pd.DataFrame
) -> pd.DataFrame:
    return _pandas_features(df, _indicators_talib(df), btc, eth, market)


def pandas_ta(df: pd.DataFrame, btc: pd.DataFrame, eth: pd.DataFrame, market: pd.DataFrame) -> pd.DataFrame:
    return _pandas_features(df, _indicators_pandas_ta(df, use_talib=False), btc, eth, market)


def pandas_ta_talib(
    df: pd.DataFrame, btc: pd.DataFrame, eth: pd.DataFrame, market: pd.DataFrame
) -> pd.DataFrame:
    return _pandas_features(df, _indicators_pandas_ta(df, use_talib=True), btc, eth, market)


PANDAS: dict[str, Callable[..., pd.DataFrame]] = {
    "pandas+talib": freqtrade_style,
    "pandas+talib tuned": pandas_talib,
    "pandas-ta": pandas_ta,
    "pandas-ta+talib": pandas_ta_talib,
}


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    return frame.rename({"timestamp": "date"}).to_pandas()


# ---------------------------------------------------------------------------------------------- running


def _status_mb(field: str) -> float:
    """VmHWM (peak RSS) or VmRSS (current RSS) of this process, in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak_rss() -> None:
    """Linux keeps the parent's RSS high-water mark across fork/exec; writing 5 to clear_refs resets it, so the
    peak we report is this worker's own. (getrusage's ru_maxrss cannot be reset and would show the parent's.)"""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def worker(impl: str, folder: Path, repeat: int) -> dict[str, float]:
    """Runs in a subprocess: load the inputs, then time `repeat` runs and report peak memory."""
    import polars as pl

    from huracan_core.features import CrossAssetInputs, build_features, default_recipe

    _reset_peak_rss()
    data = {k: pl.read_parquet(folder / f"{k}.parquet") for k in ("SOL", "BTC", "ETH", "MARKET")}
    recipe = default_recipe("1d")
    if impl == "polars":
        cross = CrossAssetInputs(btc=data["BTC"], eth=data["ETH"], market=data["MARKET"])

        def run() -> int:
            return build_features(data["SOL"], recipe, cross).width
    else:
        frames = {k: to_pandas(v) for k, v in data.items()}
        fn = PANDAS[impl]

        def run() -> int:
            return fn(frames["SOL"], frames["BTC"], frames["ETH"], frames["MARKET"]).shape[1]

    base = _status_mb("VmRSS")
    times, cpu, width = [], [], 0
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        width = run()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "seconds": min(times),
        "cpu_seconds": cpu[times.index(min(times))],
        "mean_seconds": sum(times) / len(times),
        "peak_rss_mb": _status_mb("VmHWM"),
        "input_rss_mb": base,
        "columns": width,
    }


def run_worker(impl: str, folder: Path, repeat: int) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--worker", impl, "--data", str(folder), "--repeat", str(repeat)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{impl} worker failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


INPUTS = ("SOL", "BTC", "ETH", "MARKET")
PROCESS_ROWS = ("polars", "pandas+talib", "pandas+talib tuned", "huracan features compute")


OURS_SCRIPT = """
import sys
import polars as pl
from huracan_core.features import CrossAssetInputs, build_features, default_recipe
folder, out = sys.argv[1], sys.argv[2]
d = {k: pl.read_parquet(f"{folder}/{k}.parquet") for k in ("SOL", "BTC", "ETH", "MARKET")}
cross = CrossAssetInputs(btc=d["BTC"], eth=d["ETH"], market=d["MARKET"])
build_features(d["SOL"], default_recipe("1d"), cross).write_parquet(out)
"""


def process_worker(impl: str, folder: Path, out: Path) -> None:
    """A peer's whole process as a user runs it: read the parquet inputs with pandas, compute, write parquet
    (this module imports only pandas and NumPy at the top; TA-Lib is imported by the implementation)."""
    frames = {
        k: pd.read_parquet(folder / f"{k}.parquet").rename(columns={"timestamp": "date"}) for k in INPUTS
    }
    PANDAS[impl](frames["SOL"], frames["BTC"], frames["ETH"], frames["MARKET"]).to_parquet(out)


def run_process(impl: str, folder: Path, repeat: int) -> dict[str, float]:
    """Best wall time of `repeat` fresh processes (interpreter start to exit) and the best one's peak RSS."""
    out = folder / "out.parquet"
    if impl == "huracan features compute":
        cmd = [
            str(Path(sys.executable).with_name("huracan")),
            "features",
            "compute",
            "--timeframe",
            "1d",
            "--input",
            str(folder / "SOL.parquet"),
            "--output",
            str(out),
            "--btc",
            str(folder / "BTC.parquet"),
            "--eth",
            str(folder / "ETH.parquet"),
        ]
    elif impl == "polars":  # a user's script on our library (nothing of this module is imported)
        cmd = [sys.executable, "-c", OURS_SCRIPT, str(folder), str(out)]
    else:
        cmd = [sys.executable, __file__, "--process-worker", impl, "--data", str(folder), "--out", str(out)]
    # peak RSS through /usr/bin/time: a child forked straight from this (large) process would report
    # this process's RSS from before its exec
    rss_file = folder / "rss.txt"
    timer = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file)] if Path("/usr/bin/time").is_file() else []
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run([*timer, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            raise RuntimeError(f"{impl} process failed: {proc.stderr.decode()[-3000:]}")
        rss = float(rss_file.read_text().split()[-1]) / 1024 if timer else float("nan")
        runs.append((wall, rss))
    best = min(runs)
    return {"seconds": best[0], "mean_seconds": sum(r[0] for r in runs) / len(runs), "peak_rss_mb": best[1]}


def compare(inputs: dict[str, pl.DataFrame], rows: int) -> dict[str, tuple[int, int, list[str]]]:
    """Columns of each pandas implementation equal to ours (<= 1e-6 relative, same nulls after warm-up)."""
    import polars as pl

    from huracan_core.features import CrossAssetInputs, build_features, default_recipe

    recipe = default_recipe("1d")
    head = {k: v.head(rows) for k, v in inputs.items()}
    head["MARKET"] = inputs["MARKET"].filter(pl.col("timestamp") <= head["SOL"]["timestamp"].max())
    ours = build_features(
        head["SOL"], recipe, CrossAssetInputs(btc=head["BTC"], eth=head["ETH"], market=head["MARKET"])
    )
    skip = max(s.warmup for s in recipe.features) + 100  # compare after every warm-up (and pandas-ta's own)
    frames = {k: to_pandas(v) for k, v in head.items()}
    out = {}
    for impl, fn in PANDAS.items():
        theirs = fn(frames["SOL"], frames["BTC"], frames["ETH"], frames["MARKET"])
        differ = []
        for name in recipe.names:
            a = ours[name].to_numpy()[skip:].astype(float)
            b = theirs[name].to_numpy()[skip:].astype(float)
            # relative to the value, floored at the column's median magnitude: columns that cross zero
            # (x / y - 1, mean returns) carry absolute rounding that is meaningless relative to ~0
            scale = np.maximum(np.abs(a), np.nanmedian(np.abs(a)) + 1e-300)
            same_nan = np.array_equal(np.isnan(a), np.isnan(b))
            rel = np.nanmax(np.abs(a - b) / scale) if same_nan else np.inf
            if not rel <= 1e-6:
                differ.append(f"{name} ({rel:.1e})" if np.isfinite(rel) else f"{name} (nulls differ)")
        out[impl] = (len(recipe.names) - len(differ), len(recipe.names), differ)
    return out


def main() -> int:
    import polars as pl

    from huracan_core.features import default_recipe

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--pandas-ta-rows",
        type=int,
        default=None,
        help="run pandas-ta on fewer rows and extrapolate linearly (stated in the output)",
    )
    ap.add_argument("--only", choices=IMPLEMENTATIONS, action="append", help="run only these implementations")
    ap.add_argument("--worker", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    ap.add_argument(
        "--process",
        action="store_true",
        help="also time whole processes (start, imports, read, compute, write) of ours and the pandas peers",
    )
    ap.add_argument("--process-worker", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.process_worker:
        process_worker(args.process_worker, args.data, args.out)
        return 0
    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.repeat)))
        return 0

    print(f"building {args.rows:,} rows x 3 coins from recorded 5m candles (block bootstrap) …", flush=True)
    inputs = make_inputs(args.rows)
    print(
        f"polars {pl.__version__} ({pl.thread_pool_size()} threads), pandas {pd.__version__}, "
        f"{os.cpu_count()} CPUs visible",
        flush=True,
    )
    print(f"checking that all implementations compute the same columns on the first {CHECK_ROWS:,} rows …")
    for impl, (same, total, differ) in compare(inputs, min(CHECK_ROWS, args.rows)).items():
        note = "" if not differ else f"; differ: {', '.join(differ)}"
        print(f"  {impl:18s} {same}/{total} columns equal to ours within 1e-6{note}")

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for impl in args.only or IMPLEMENTATIONS:
            rows = args.rows
            if impl.startswith("pandas-ta") and args.pandas_ta_rows:
                rows = min(rows, args.pandas_ta_rows)
            for k, frame in inputs.items():
                part = (
                    frame.head(rows)
                    if k != "MARKET"
                    else frame.filter(pl.col("timestamp") <= inputs["SOL"]["timestamp"][rows - 1])
                )
                part.write_parquet(folder / f"{k}.parquet")
            print(f"timing {impl} on {rows:,} rows (best of {args.repeat}) …", flush=True)
            res = run_worker(impl, folder, args.repeat)
            res["rows"] = rows
            if rows != args.rows:
                res["measured_seconds"] = res["seconds"]
                res["seconds"] *= args.rows / rows
                res["mean_seconds"] *= args.rows / rows
                res["cpu_seconds"] *= args.rows / rows
            results[impl] = res

    print(
        f"\nfull feature set ({len(default_recipe('1d').names)} columns) on {args.rows:,} rows of 5m candles"
    )
    print(
        f"{'implementation':18s} {'wall s':>9s} {'mean s':>9s} {'cpu s':>7s} {'ours x faster':>14s} {'peak RSS MB':>12s} "
        f"{'RSS over inputs MB':>19s}"
    )
    ours = results.get("polars", {}).get("seconds")
    for impl, r in results.items():
        ratio = f"{r['seconds'] / ours:.1f}x" if ours else "-"
        extrap = ""
        if "measured_seconds" in r:
            extrap = f"  (measured {r['measured_seconds']:.2f} s on {r['rows']:,} rows, scaled linearly)"
        print(
            f"{impl:18s} {r['seconds']:9.2f} {r['mean_seconds']:9.2f} {r['cpu_seconds']:7.2f} "
            f"{ratio:>14s} {r['peak_rss_mb']:12.0f} {r['peak_rss_mb'] - r['input_rss_mb']:19.0f}{extrap}"
        )
    print(
        "wall s: best run; mean s: mean of the runs; cpu s: process CPU time of the best run (pandas and TA-Lib"
    )
    print("use one core; Polars spreads a dependency level's expressions over its thread pool)")
    if args.process:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for k in INPUTS:
                inputs[k].write_parquet(folder / f"{k}.parquet")
            procs = {}
            for impl in PROCESS_ROWS:
                print(f"timing {impl} as a whole process (best of {args.repeat}) …", flush=True)
                procs[impl] = run_process(impl, folder, args.repeat)
        print(
            f"\nwhole process on {args.rows:,} rows: interpreter start, imports, read parquet, compute, write parquet"
        )
        print(f"{'process':26s} {'wall s':>8s} {'mean s':>8s} {'ours x faster':>14s} {'peak RSS MB':>12s}")
        mine = procs["polars"]["seconds"]
        for impl, r in procs.items():
            ratio = f"{r['seconds'] / mine:.2f}x" if impl != "huracan features compute" else "-"
            print(
                f"{impl:26s} {r['seconds']:8.2f} {r['mean_seconds']:8.2f} {ratio:>14s} {r['peak_rss_mb']:12.0f}"
            )
        print(
            "polars: a script on huracan_core.features with the same four inputs as the peers; "
            "huracan features compute: the CLI (BTC and ETH only: the market columns stay null)"
        )
        ratio = procs["pandas+talib"]["seconds"] / mine
        print(
            f"goal >= 1.5x vs pandas+talib (whole process): {ratio:.2f}x {'MET' if ratio >= 1.5 else 'NOT MET'}"
        )
    if ours:
        goals = {"pandas+talib": 3.0, "pandas-ta": 20.0}
        for impl, goal in goals.items():
            if impl in results:
                ratio = results[impl]["seconds"] / ours
                print(f"goal >= {goal:.0f}x vs {impl}: {ratio:.1f}x {'MET' if ratio >= goal else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
