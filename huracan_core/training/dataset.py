"""One coin's training matrix: features (+ shared encoder codes), label, per-bar costs and fill prices.

Why separate: everything the walk-forward needs is computed once, up front, from data closed by the
training date — the label from the next bar's open, trailing volatility for size-dependent slippage,
the signal threshold (round trip + safety margin), and the execution grid (open[t+1], open[t+2]) — so
every fold, the hyperparameter search and the final refit read the same, leak-checked arrays.
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
from huracan_core.costs import CostInputs, cost_breakdown, leg_cost_fraction
from huracan_core.labels import LABEL, add_label, bar_volatility
from huracan_core.training.encoder import load_shared_encoder
from huracan_core.training.evaluate import PRED_COLUMNS
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
    breakdown: dict[str, float]
    dropped_future_rows: int
    encoder_hash: str | None


def prepare(features: pl.DataFrame, recipe: Any, encoder_dir: Path | None, cost_inputs: CostInputs,
             settings: Settings, training_date: date, bar_seconds: int, vol_window: int) -> Prepared:
    columns = list(recipe.model_columns)
    missing = [c for c in ["timestamp", "open", "close", *columns] if c not in features.columns]
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
            raise ValueError(f"shared encoder {encoder_dir} was fitted on recipe {enc.recipe_hash[:12]}…, "
                             f"features come from {str(recipe.content_hash)[:12]}…")
        frame = enc.transform(frame, bar_seconds=bar_seconds)
        inputs += enc.output_columns
        encoder_hash = enc.content_hash
    h = settings.training.horizon_bars
    frame = add_label(frame, h)
    open_ = frame["open"].to_numpy()
    frame = frame.with_columns(
        pl.Series("volatility", bar_volatility(frame["close"].to_numpy(), vol_window)).fill_nan(None),
        pl.Series("exec_price", np.append(open_[1:], np.nan)).fill_nan(None),
        pl.Series("next_exec_price", np.append(open_[2:], [np.nan, np.nan])[: len(open_)]).fill_nan(None),
    )
    # warm-up ends at the first row where every model column is present; a column null throughout (a
    # cross-asset reference that was not supplied) is ignored here and left as missing for the model
    present = [c for c in columns if frame[c].null_count() < frame.height]
    complete = frame.select(pl.all_horizontal(pl.col(c).is_not_null() & pl.col(c).cast(pl.Float64).is_finite()
                                              for c in present)).to_series().to_numpy()
    first = int(np.argmax(complete)) if complete.any() else frame.height
    usable = frame.slice(first).filter(pl.col(LABEL).is_not_null())
    usable = usable.with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))
    vol = usable["volatility"].to_numpy().astype(float)
    fallback = float(np.nanmedian(vol)) if np.isfinite(vol).any() else 0.0
    vol = np.where(np.isfinite(vol), vol, fallback)
    parts = cost_breakdown(cost_inputs, settings.costs, vol, h, bar_seconds)
    rt = np.asarray(parts.total_bps, dtype=float) * np.ones(len(vol))
    funding_per_bar = parts.funding_bps / h / 1e4
    usable = usable.with_columns(pl.Series("round_trip_bps", rt))
    return Prepared(
        frame=usable,
        inputs=inputs,
        x=usable.select(pl.col(c).cast(pl.Float64) for c in inputs).to_numpy(),
        y=usable[LABEL].to_numpy().astype(float),
        threshold=rt + settings.costs.safety_margin_bps,
        round_trip=rt,
        leg=np.asarray(leg_cost_fraction(rt, parts.funding_bps), dtype=float),
        exec_price=usable["exec_price"].to_numpy().astype(float),
        next_exec=usable["next_exec_price"].to_numpy().astype(float),
        funding_per_bar=funding_per_bar,
        breakdown=parts.summary(),
        dropped_future_rows=later,
        encoder_hash=encoder_hash,
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
            raise LeakError(f"input {name!r} correlates {corr:+.3f} with the forward label (limit {limit}): "
                            "it is computed from future prices; fix the feature before training")



def oos_table(p: Prepared, fold: Fold, pred: np.ndarray) -> pl.DataFrame:
    sl = slice(fold.test_start, fold.test_end)
    part = p.frame.slice(fold.test_start, fold.test_size)
    return pl.DataFrame({
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
    }).select(PRED_COLUMNS)
