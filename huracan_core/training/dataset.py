"""One coin's training matrix: features (+ shared encoder codes), label, per-bar costs and fill prices.

Why separate: everything the walk-forward needs is computed once, up front, from data closed by the
training date — the label from the next bar's open (the configured target: a forward return or a triple
barrier whose sigma is the same trailing `volatility` column, labels.py), the point-in-time cost of every
bar (spread from a high-low estimator, ADV from rolling quote volume, volatility from trailing closed-bar
returns: all from candles closed by that bar, see costs.point_in_time_inputs), the signal threshold (round
trip + safety margin), and the execution grid (open[t+1], open[t+2]) — so every fold, the hyperparameter
search and the final refit read the same, leak-checked arrays. `cost_report` is costs.json: which estimator
priced which period, per-bar statistics, and the averages over the out-of-sample bars that the roster reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from huracan_core.config import Settings
from huracan_core.costs import (
    ADV_FALLBACK,
    SPREAD_FALLBACK,
    CostInputs,
    cost_breakdown,
    leg_cost_fraction,
    point_in_time_inputs,
)
from huracan_core.funding import BarFunding, FundingSeries, bar_funding
from huracan_core.labels import LABEL, SIDE, add_target_label, bar_volatility, label_span
from huracan_core.spread import default_min_pairs
from huracan_core.training.encoder import load_shared_encoder
from huracan_core.training.evaluate import FUNDING_COLUMNS, PRED_COLUMNS
from huracan_core.training.splits import Fold


def as_of_for(training_date: date) -> datetime:
    """Bars must have closed by the end of the training date (00:00 UTC the next day)."""
    return datetime.combine(training_date + timedelta(days=1), dtime(0), tzinfo=UTC)


@dataclass
class Prepared:
    frame: pl.DataFrame  # usable rows: after warm-up, labelled
    inputs: list[str]
    x: np.ndarray
    y: np.ndarray
    threshold: np.ndarray
    round_trip: np.ndarray
    leg: np.ndarray
    exec_price: np.ndarray
    next_exec: np.ndarray
    funding_per_bar: float
    breakdown: dict[str, float]  # averages over every usable bar
    dropped_future_rows: int
    encoder_hash: str | None
    as_of: datetime | None = None
    vol_window: int = 24
    live_volatility: float = 0.0  # trailing volatility at the last closed bar: prices the live quote
    funding: BarFunding | None = None  # per row: funding each side pays while it holds, threshold term
    span: int = 1  # bars of future each label reads (labels.label_span): the purge is span + 1 rows
    side: np.ndarray | None = None  # per row: +1 / -1 / 0, the side the label touched (labels.SIDE)


VOL_TRAILING = "trailing_std_log_returns"
VOL_EXPANDING = "expanding_std_log_returns (volatility window warming up)"
VOL_UNKNOWN = "none (fewer than 2 returns): 0"


def trailing_volatility(close: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-bar volatility known at each bar's close, and what gave it: the trailing std of `window`
    returns (labels.bar_volatility); while that warms up, the std of every return so far; 0 before 2."""
    c = np.asarray(close, dtype=float)
    vol = bar_volatility(c, window)
    ret = np.full(len(c), np.nan)
    if len(c) > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            ret[1:] = np.log(c[1:] / c[:-1])
    expanding = (
        pl.Series(ret)
        .fill_nan(None)
        .rolling_std(window_size=max(len(c), 1), min_samples=2)
        .cast(pl.Float64)
        .fill_null(np.nan)
        .to_numpy()
    )
    source = np.where(
        np.isfinite(vol), VOL_TRAILING, np.where(np.isfinite(expanding), VOL_EXPANDING, VOL_UNKNOWN)
    )
    vol = np.where(np.isfinite(vol), vol, np.where(np.isfinite(expanding), expanding, 0.0))
    return vol, source


def prepare(
    features: pl.DataFrame,
    recipe: Any,
    encoder_dir: Path | None,
    cost_inputs: CostInputs,
    settings: Settings,
    training_date: date,
    bar_seconds: int,
    vol_window: int,
    funding: FundingSeries | None = None,
    funding_note: str = "",
) -> Prepared:
    """The training matrix of one coin. `funding`: the coin's recorded settlements (perpetuals), which
    replace the constant `costs.funding_bps_per_8h` on the bars they cover (huracan_core.funding)."""
    columns = list(recipe.model_columns)
    missing = [
        c
        for c in ["timestamp", "open", "high", "low", "close", "volume", *columns]
        if c not in features.columns
    ]
    if missing:
        raise ValueError(f"features frame lacks columns {missing[:8]}")
    frame = features.sort("timestamp")
    cutoff = as_of_for(training_date) - timedelta(seconds=bar_seconds)
    later = frame.filter(pl.col("timestamp") > cutoff).height
    frame = frame.filter(pl.col("timestamp") <= cutoff)  # never a bar that closed after the date
    inputs = list(columns)
    encoder_hash = None
    if encoder_dir is not None:
        enc = load_shared_encoder(Path(encoder_dir))
        if enc.recipe_hash != str(recipe.content_hash):
            raise ValueError(
                f"shared encoder {encoder_dir} was fitted on recipe {enc.recipe_hash[:12]}…, "
                f"features come from {str(recipe.content_hash)[:12]}…"
            )
        frame = enc.transform(frame, bar_seconds=bar_seconds)
        inputs += enc.output_columns
        encoder_hash = enc.content_hash
    t = settings.training
    h = t.horizon_bars
    close = frame["close"].to_numpy().astype(float)
    vol_all, vol_source = trailing_volatility(close, vol_window)  # known at each bar's close
    frame = add_target_label(
        frame, t.target, h, vol_all, t.barrier_bars, t.barrier_upper_k, t.barrier_lower_k
    )
    open_ = frame["open"].to_numpy()
    # costs of bar t from candles closed by t only (computed before the warm-up cut, so windows are full)
    pit = point_in_time_inputs(
        frame["high"].to_numpy(),
        frame["low"].to_numpy(),
        close,
        frame["volume"].to_numpy(),
        settings.costs,
        bar_seconds,
    )
    frame = frame.with_columns(
        pl.Series("volatility", vol_all),
        pl.Series("exec_price", np.append(open_[1:], np.nan)).fill_nan(None),
        pl.Series("next_exec_price", np.append(open_[2:], [np.nan, np.nan])[: len(open_)]).fill_nan(None),
        pl.Series("cost_spread_bps", pit.spread_bps),
        pl.Series("cost_adv_usd", pit.adv_usd),
        pl.Series("cost_spread_source", pit.spread_source.astype(str)),
        pl.Series("cost_adv_source", pit.adv_source.astype(str)),
        pl.Series("cost_vol_source", vol_source.astype(str)),
    )
    # warm-up ends at the first row where every model column is present; a column null throughout (a
    # cross-asset reference that was not supplied) is ignored here and left as missing for the model
    present = [c for c in columns if frame[c].null_count() < frame.height]
    complete = (
        frame.select(
            pl.all_horizontal(
                pl.col(c).is_not_null() & pl.col(c).cast(pl.Float64).is_finite() for c in present
            )
        )
        .to_series()
        .to_numpy()
    )
    first = int(np.argmax(complete)) if complete.any() else frame.height
    usable = frame.slice(first).filter(pl.col(LABEL).is_not_null())
    usable = usable.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    vol = usable["volatility"].to_numpy().astype(float)
    parts = cost_breakdown(
        cost_inputs,
        settings.costs,
        vol,
        h,
        bar_seconds,
        spread_bps=usable["cost_spread_bps"].to_numpy(),
        adv_usd=usable["cost_adv_usd"].to_numpy(),
    )
    decision_ms = usable["timestamp"].dt.epoch("ms").to_numpy() + bar_seconds * 1000  # t's close = fill
    bf = bar_funding(
        decision_ms, bar_seconds, h, settings.costs, cost_inputs.market_type, funding, funding_note
    )
    # the constant funding term of cost_breakdown is replaced by each row's point-in-time expectation
    rt = (np.asarray(parts.total_bps, dtype=float) - parts.funding_bps + bf.expected_bps) * np.ones(len(vol))
    usable = usable.with_columns(
        pl.Series("round_trip_bps", rt),
        pl.Series("cost_slippage_bps", np.asarray(parts.slippage_bps, float) * np.ones(len(vol))),
        pl.Series("funding_long", bf.long),
        pl.Series("funding_short", bf.short),
        pl.Series("cost_funding_source", bf.source),
    )
    breakdown = parts.summary()
    breakdown["funding_bps"] = float(np.mean(bf.expected_bps)) if len(vol) else 0.0
    breakdown["round_trip_bps"] = float(np.mean(rt)) if len(vol) else 0.0
    return Prepared(
        frame=usable,
        inputs=inputs,
        x=usable.select(pl.col(c).cast(pl.Float64) for c in inputs).to_numpy(),
        y=usable[LABEL].to_numpy().astype(float),
        threshold=rt + settings.costs.safety_margin_bps,
        round_trip=rt,
        leg=np.asarray(leg_cost_fraction(rt, bf.expected_bps), dtype=float),
        exec_price=usable["exec_price"].to_numpy().astype(float),
        next_exec=usable["next_exec_price"].to_numpy().astype(float),
        funding_per_bar=0.0,  # charged per row, by side: `funding` (and the funding_* columns)
        breakdown=breakdown,
        dropped_future_rows=later,
        encoder_hash=encoder_hash,
        as_of=as_of_for(training_date),
        vol_window=vol_window,
        live_volatility=float(vol_all[-1]) if len(vol_all) else 0.0,
        funding=bf,
        span=label_span(t.target, h, t.barrier_bars),
        side=usable[SIDE].to_numpy().astype(int),
    )


class LeakError(ValueError):
    """An input column tracks the forward label too closely to be computed from the past."""


LEAK_CORRELATION = 0.9


def check_no_leak(x: np.ndarray, y: np.ndarray, names: list[str], limit: float = LEAK_CORRELATION) -> None:
    """Refuse inputs that correlate with the FORWARD label beyond `limit` (|Pearson|).

    Why: an honest feature of a liquid market predicts the next bars' return with a correlation of a
    few percent (a strong planted signal reaches ~0.3); 0.9 only happens when the column was computed
    with future prices (a negative shift, a centred window, a backward fill). Training on it would
    produce a spectacular and entirely false OOS record, so it is a genuine error, not a skip.
    """
    ok_y = np.isfinite(y)
    for j, name in enumerate(names):
        col = x[:, j]
        ok = ok_y & np.isfinite(col)
        if ok.sum() < 30 or np.std(col[ok]) == 0 or np.std(y[ok]) == 0:
            continue
        corr = float(np.corrcoef(col[ok], y[ok])[0, 1])
        if abs(corr) > limit:
            raise LeakError(
                f"input {name!r} correlates {corr:+.3f} with the forward label (limit {limit}): "
                "it is computed from future prices; fix the feature before training"
            )


def oos_table(p: Prepared, fold: Fold, pred: np.ndarray) -> pl.DataFrame:
    sl = slice(fold.test_start, fold.test_end)
    part = p.frame.slice(fold.test_start, fold.test_size)
    return pl.DataFrame(
        {
            "row": part["row"],
            "timestamp": part["timestamp"],
            "fold": pl.Series([fold.index] * fold.test_size, dtype=pl.Int64),
            "prediction_bps": pred,
            "label_bps": p.y[sl],
            "threshold_bps": p.threshold[sl],
            "round_trip_bps": p.round_trip[sl],
            "leg_cost": p.leg[sl],
            "exec_price": p.exec_price[sl],
            "next_exec_price": p.next_exec[sl],
            "funding_long": part["funding_long"],
            "funding_short": part["funding_short"],
        }
    ).select(*PRED_COLUMNS, *FUNDING_COLUMNS)


_REFERENCES = {  # the papers behind huracan_core/spread.py
    "abdi_ranaldo": "Abdi & Ranaldo (2017), Review of Financial Studies 30(12): close-high-low estimator",
    "corwin_schultz": "Corwin & Schultz (2012), Journal of Finance 67(2): high-low estimator",
}


def _stats(x: np.ndarray) -> dict[str, float] | None:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return None
    p10, p50, p90 = np.percentile(x, [10, 50, 90])
    return {
        "mean": float(x.mean()),
        "median": float(p50),
        "p10": float(p10),
        "p90": float(p90),
        "min": float(x.min()),
        "max": float(x.max()),
    }


def _spread_method(source: str, settings: Settings) -> dict[str, Any]:
    c = settings.costs
    if source == SPREAD_FALLBACK:
        why = (
            "costs.spread_estimator is 'default'"
            if c.spread_estimator == "default"
            else f"{c.spread_estimator} window warming up (< {default_min_pairs(c.spread_window_bars)} bar pairs)"
        )
        return {"estimator": SPREAD_FALLBACK, "spread_bps": c.default_spread_bps, "why": why}
    return {
        "estimator": source,
        "reference": _REFERENCES[source],
        "window_bars": c.spread_window_bars,
        "min_pairs": default_min_pairs(c.spread_window_bars),
        "floor_bps": c.spread_floor_bps,
        "negative_estimates": "set to 0, as the paper does, then raised to the floor",
        "inputs": "high, low, close of bars closed by the bar",
    }


def _adv_method(source: str, settings: Settings) -> dict[str, Any]:
    if source == ADV_FALLBACK:
        return {"estimator": ADV_FALLBACK, "adv_usd": settings.costs.trade_size_usd}
    return {
        "estimator": source,
        "window_bars": settings.costs.adv_window_bars,
        "formula": "mean(close x volume) over the trailing window x bars per day",
    }


def _vol_method(source: str, window: int) -> dict[str, Any]:
    if source == VOL_TRAILING:
        return {"estimator": source, "window_bars": window}
    return {"estimator": source}


def cost_report(
    p: Prepared, settings: Settings, cost_inputs: CostInputs, oos_rows: np.ndarray, bar_seconds: int
) -> dict[str, Any]:
    """costs.json: which estimator priced which period, per-bar statistics, and headline numbers.

    The headline keys the roster reads (`spread_bps`, `fee_bps`, `avg_slip_bps`, `round_trip_bps`,
    `inputs.adv_usd`) are averages over the out-of-sample bars, i.e. the costs the reported metrics were
    earned against. `live` is today's quote (order book / ticker at the as-of time), which prices only
    bars traded after the date; no historical bar was priced with it.
    """
    frame = p.frame
    oos = np.asarray(oos_rows, dtype=int)
    if not len(oos):
        oos = np.arange(frame.height)
    spread = frame["cost_spread_bps"].to_numpy()
    adv = frame["cost_adv_usd"].to_numpy()
    slip = frame["cost_slippage_bps"].to_numpy()
    fee = cost_inputs.maker_fee_bps if settings.costs.use_maker else cost_inputs.taker_fee_bps
    keys = list(
        zip(
            frame["cost_spread_source"].to_list(),
            frame["cost_adv_source"].to_list(),
            frame["cost_vol_source"].to_list(),
            strict=True,
        )
    )
    ts = frame["timestamp"]
    periods: list[dict[str, Any]] = []
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            s_src, a_src, v_src = keys[start]
            periods.append(
                {
                    "role": "history",
                    "from": ts[start].isoformat(),
                    "to": ts[i - 1].isoformat(),
                    "bars": i - start,
                    "spread": _spread_method(s_src, settings),
                    "adv": _adv_method(a_src, settings),
                    "volatility": _vol_method(v_src, p.vol_window),
                }
            )
            start = i
    h = settings.training.horizon_bars
    live_parts = cost_breakdown(cost_inputs, settings.costs, p.live_volatility, h, bar_seconds)
    live = {
        "role": "live",
        "from": p.as_of.isoformat() if p.as_of else None,
        "to": None,
        "spread": {"estimator": cost_inputs.spread_source, "spread_bps": cost_inputs.spread_bps},
        "adv": {
            "estimator": "24 h quote volume at the as-of time (universe)",
            "adv_usd": cost_inputs.adv_usd,
        },
        "volatility": {"estimator": VOL_TRAILING, "window_bars": p.vol_window, "value": p.live_volatility},
        "round_trip_bps": float(live_parts.total_bps),
        "avg_slip_bps": float(live_parts.slippage_bps),
    }
    return {
        "inputs": {
            "spread_bps": float(np.mean(spread[oos])),
            "adv_usd": float(np.mean(adv[oos])),
            "maker_fee_bps": cost_inputs.maker_fee_bps,
            "taker_fee_bps": cost_inputs.taker_fee_bps,
            "market_type": cost_inputs.market_type,
        },
        "fee_bps": float(fee),
        "spread_bps": float(np.mean(spread[oos])),
        "avg_slip_bps": float(np.mean(slip[oos])),
        "funding_bps": float(np.mean(p.funding.expected_bps[oos])) if p.funding is not None else 0.0,
        **(
            {"funding_source": "none (spot)"}
            if p.funding is None
            else {
                "funding_source": p.funding.report(oos, settings.costs)["funding_source"],
                "funding": p.funding.report(oos, settings.costs),
            }
        ),
        "round_trip_bps": float(np.mean(p.round_trip[oos])),
        "averaged_over": {
            "bars": "out-of-sample",
            "n": int(len(oos)),
            "from": ts[int(oos.min())].isoformat(),
            "to": ts[int(oos.max())].isoformat(),
        },
        "point_in_time": "each historical bar is priced only from candles closed by it; the live quote "
        "prices only bars after the date",
        "periods": [*periods, live],
        "per_bar": {
            name: {"all": _stats(values), "oos": _stats(values[oos])}
            for name, values in (
                ("spread_bps", spread),
                ("adv_usd", adv),
                ("slippage_bps", slip),
                ("round_trip_bps", p.round_trip),
            )
        },
        "live": live,
        "safety_margin_bps": settings.costs.safety_margin_bps,
        "use_maker": settings.costs.use_maker,
        "trade_size_usd": settings.costs.trade_size_usd,
    }
