"""The shared encoder: a point-in-time PCA fitted on the pooled, standardised features of all the day's coins.

Why PCA by numpy SVD: it is deterministic, needs no extra dependency, stores as plain arrays (npz/json,
never pickle) and captures the market-wide structure every coin shares (common factor, volatility regime),
which a single coin's history estimates poorly.

Why point-in-time snapshots: an encoder fitted once on data up to the training date would let every
out-of-sample row be encoded with statistics of its own future. So the encoder is refitted at cutoffs
`as_of, as_of − refit_days, …`; each snapshot uses only rows whose bar had CLOSED by its cutoff, and a row
is encoded with the latest snapshot whose cutoff is at or before that row's close. Rows older than the
first snapshot get null codes. Component signs are aligned with the previous snapshot so enc_j keeps its
meaning over time. Live predictions at the date use the last snapshot (cutoff = as_of).

Standardisation is pooled (one mean/std per column over all coins) and z-scores are clipped at ±5 so a
single wild print cannot own a component.

Why it adapts to the rows it has: a day of one or two pinned coins has too few pooled rows for the full
encoder (`min_rows`, 5 rows per encoded column in the stages). Such a day is not a failure: the encoder is
then fitted in a reduced mode where a snapshot needs only 2 rows per column, and it keeps only the
components whose eigenvalue stands above the Marchenko-Pastur noise edge λ+ = mean·(1 + √(columns/rows))²
of the as-of snapshot (components below it are indistinguishable from sampling noise at that row count).
When even that is impossible (too few rows, no component above noise, or a single snapshot so that no
training row could be encoded point-in-time), NO encoder is fitted and the reason is written in the day's
`shared_encoder.json` (`fitted: false`); the trainer then trains without codes and records the reason in
each model's metadata.json.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from huracan_core.atomic import (
    IntegrityError,
    read_json,
    verify_manifest,
    write_bytes,
    write_json,
    write_manifest,
)
from huracan_core.candles.frame import to_ms

NPZ = "shared_encoder.npz"
META = "shared_encoder.json"
CLIP = 5.0
MAX_MISSING = 0.5  # a column null in more than this share of pooled rows is left out of the encoder
MIN_PRESENT = 0.8  # a row is encoded when at least this share of encoder inputs is present (rest imputed)
REDUCED_ROWS_PER_COLUMN = 2  # smallest snapshot of the reduced mode: the covariance keeps full rank with room
METHOD = "pooled z-score (clip ±5) + PCA (numpy SVD of the z-score covariance), point-in-time snapshots"


@dataclass(frozen=True)
class EncoderInfo:
    """What `fit_shared_encoder` wrote: where, its hash, and how much data each snapshot saw."""

    out_dir: Path
    content_hash: str
    n_components: int
    columns: list[str]
    snapshots: int
    rows: int
    symbols: list[str]
    recipe_hash: str
    fitted: bool = True
    mode: str = "full"  # "full", "reduced" (fewer rows: fewer components) or "none" (no encoder, see reason)
    rows_needed: int = 0
    reason: str | None = None


def _bar_ms(frame: pl.DataFrame) -> int:
    ts = frame["timestamp"].dt.epoch("ms").to_numpy()
    if len(ts) < 2:
        raise ValueError("cannot infer the bar length from fewer than 2 rows; pass bar_seconds")
    return int(np.median(np.diff(ts)))


def _content_hash(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode())
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()


def _pca(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std = np.where(std > 1e-12, std, 1.0)
    z = np.clip((x - mean) / std, -CLIP, CLIP)
    z = z - z.mean(axis=0)
    # SVD of the (features × features) covariance: same components as the SVD of z, at O(n f²) once
    cov = (z.T @ z) / max(len(z) - 1, 1)
    _, var, vt = np.linalg.svd(cov)
    explained = var[:k] / var.sum() if var.sum() > 0 else np.zeros(k)
    comps = vt[:k]
    # deterministic sign: largest-magnitude loading positive
    signs = np.sign(comps[np.arange(len(comps)), np.argmax(np.abs(comps), axis=1)])
    return mean, std, comps * np.where(signs == 0, 1.0, signs)[:, None], explained


def _above_noise(x: np.ndarray) -> int:
    """Components of the pooled z-scores whose eigenvalue exceeds the Marchenko-Pastur edge for x's shape."""
    n, f = x.shape
    _, _, _, ratio = _pca(x, f)  # eigenvalue / sum of eigenvalues, largest first
    edge = (1.0 + np.sqrt(f / n)) ** 2 / f  # λ+ relative to the total (= f × mean eigenvalue)
    return int(np.sum(ratio > edge))


def _write_no_encoder(out_dir: Path, meta: dict[str, Any], reason: str) -> str:
    """Record in the day's encoder folder that no encoder was fitted, and why (a stale npz is removed)."""
    meta = {**meta, "fitted": False, "mode": "none", "reason": reason}
    content_hash = _content_hash(meta, {})
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / NPZ).unlink(missing_ok=True)
    write_json(out_dir / META, {**meta, "content_hash": content_hash})
    write_manifest(out_dir, [META])
    return content_hash


def fit_shared_encoder(
    features_by_symbol: dict[str, pl.DataFrame],
    recipe: Any,
    as_of: datetime,
    out_dir: Path,
    n_components: int = 8,
    refit_days: float = 30.0,
    bar_seconds: int | None = None,
    min_rows: int | None = None,
) -> EncoderInfo:
    """Fit the point-in-time snapshots on the pooled features of the day's coins and save them in `out_dir`."""
    if not features_by_symbol:
        raise ValueError("fit_shared_encoder needs at least one coin's features")
    recipe_columns = list(recipe.model_columns)
    as_of = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    for symbol, frame in features_by_symbol.items():
        missing = [c for c in recipe_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{symbol} features lack recipe columns {missing[:5]}")
    # a column missing in most pooled rows (e.g. a cross-asset reference nobody supplied) cannot be encoded
    total = sum(f.height for f in features_by_symbol.values())
    nulls = {c: sum(f[c].null_count() for f in features_by_symbol.values()) for c in recipe_columns}
    columns = [c for c in recipe_columns if total and nulls[c] <= MAX_MISSING * total]
    symbols = sorted(features_by_symbol)
    base = {
        "method": METHOD,
        "recipe_hash": str(recipe.content_hash),
        "as_of": as_of.isoformat(),
        "symbols": symbols,
    }

    def none(reason: str, rows: int, needed: int) -> EncoderInfo:
        meta = {**base, "columns": columns, "rows": rows, "rows_needed": needed}
        digest = _write_no_encoder(out_dir, meta, reason)
        return EncoderInfo(
            out_dir, digest, 0, columns, 0, rows, symbols, base["recipe_hash"], False, "none", needed, reason
        )

    if not columns:
        return none(
            f"no recipe column is present in at least {1 - MAX_MISSING:.0%} of the {total} pooled rows", 0, 0
        )
    pooled_x, pooled_close = [], []
    for _, frame in sorted(features_by_symbol.items()):
        bar_ms = bar_seconds * 1000 if bar_seconds else _bar_ms(frame)
        close_ms = frame["timestamp"].dt.epoch("ms").to_numpy() + bar_ms
        x = frame.select(pl.col(c).cast(pl.Float64) for c in columns).to_numpy()
        ok = np.isfinite(x).all(axis=1) & (close_ms <= to_ms(as_of))
        pooled_x.append(x[ok])
        pooled_close.append(close_ms[ok])
    x_all = np.concatenate(pooled_x)
    close_all = np.concatenate(pooled_close)
    need = min_rows if min_rows is not None else max(10 * len(columns), 200)
    mode, k, snapshot_rows = "full", min(n_components, len(columns)), need
    where = (
        f"{len(x_all)} complete feature rows of {len(symbols)} coin(s) closed by {as_of:%Y-%m-%d %H:%M} "
        f"(the full encoder needs {need})"
    )
    if len(x_all) < need:
        mode, snapshot_rows = "reduced", min(need, REDUCED_ROWS_PER_COLUMN * len(columns))
        if len(x_all) < snapshot_rows:
            return none(
                f"{where}; even a reduced encoder needs {snapshot_rows} "
                f"({REDUCED_ROWS_PER_COLUMN} per encoded column)",
                int(len(x_all)),
                snapshot_rows,
            )

    cutoffs: list[int] = []
    step = int(timedelta(days=refit_days).total_seconds() * 1000)
    cut = to_ms(as_of)
    while np.sum(close_all <= cut) >= snapshot_rows:
        cutoffs.append(cut)
        cut -= step
    cutoffs.reverse()
    if mode == "reduced":
        if len(cutoffs) < 2:
            return none(
                f"{where}; only the as-of snapshot has the {snapshot_rows} rows a reduced snapshot needs, "
                "so no training row could be encoded point-in-time",
                int(len(x_all)),
                snapshot_rows,
            )
        k = min(k, _above_noise(x_all[close_all <= cutoffs[-1]]))
        if k == 0:
            return none(
                f"{where}; no principal component stands above the Marchenko-Pastur noise edge",
                int(len(x_all)),
                snapshot_rows,
            )
    means, stds, comps, explained, rows = [], [], [], [], []
    for c in cutoffs:
        sel = x_all[close_all <= c]
        m, s, v, e = _pca(sel, k)
        if comps:  # keep enc_j's meaning: align signs with the previous snapshot
            v = v * np.where(np.sum(v * comps[-1], axis=1) < 0, -1.0, 1.0)[:, None]
        means.append(m)
        stds.append(s)
        comps.append(v)
        explained.append(e)
        rows.append(len(sel))
    arrays = {
        "cutoffs_ms": np.asarray(cutoffs, dtype=np.int64),
        "mean": np.asarray(means),
        "std": np.asarray(stds),
        "components": np.asarray(comps),
        "explained_variance_ratio": np.asarray(explained),
    }
    meta: dict[str, Any] = {
        "method": METHOD,
        "columns": columns,
        "n_components": k,
        "recipe_hash": str(recipe.content_hash),
        "as_of": as_of.isoformat(),
        "refit_days": refit_days,
        "symbols": symbols,
        "rows_per_snapshot": rows,
        "clip": CLIP,
        "fitted": True,
        "mode": mode,
        "rows_needed": snapshot_rows,
    }
    if mode == "reduced":
        meta["reason"] = (
            f"{where}: reduced mode, snapshots of >= {snapshot_rows} rows, {k} of "
            f"{min(n_components, len(columns))} components above the Marchenko-Pastur noise edge"
        )
    content_hash = _content_hash(meta, arrays)
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_bytes(out_dir / NPZ, buf.getvalue())
    write_json(out_dir / META, {**meta, "content_hash": content_hash})
    write_manifest(out_dir, [NPZ, META])
    return EncoderInfo(
        out_dir,
        content_hash,
        k,
        columns,
        len(cutoffs),
        int(len(x_all)),
        symbols,
        meta["recipe_hash"],
        True,
        mode,
        snapshot_rows,
        meta.get("reason"),
    )


def resolve_encoder(encoder_dir: Path | None) -> tuple[Path | None, str | None]:
    """(folder, note) when `encoder_dir` holds a fitted encoder (note: why a reduced one has fewer components,
    else None); (None, why) when the day has none.

    A folder whose sha256.txt does not verify raises IntegrityError naming the file: a tampered
    "no encoder" record must not silently turn the encoder off."""
    if encoder_dir is None:
        return None, "no shared encoder was given to the trainer"
    encoder_dir = Path(encoder_dir)
    if not (encoder_dir / META).is_file():
        return None, f"no shared encoder at {encoder_dir} (shared_encoder not materialised for that day)"
    verify_manifest(encoder_dir)
    meta = read_json(encoder_dir / META)
    if meta.get("fitted", True) is False:
        return None, f"no shared encoder for that day: {meta.get('reason', 'no reason recorded')}"
    return encoder_dir, meta.get("reason")  # a reduced encoder says why it has fewer components


class SharedEncoder:
    """Loaded, verified encoder. `transform` appends enc_0..enc_{k-1} (point-in-time by default)."""

    def __init__(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.meta = meta
        self.columns: list[str] = list(meta["columns"])
        self.n_components = int(meta["n_components"])
        self.recipe_hash: str = meta["recipe_hash"]
        self.content_hash: str = meta["content_hash"]
        self._cutoffs = arrays["cutoffs_ms"]
        self._mean = arrays["mean"]
        self._std = arrays["std"]
        self._components = arrays["components"]

    @property
    def output_columns(self) -> list[str]:
        return [f"enc_{j}" for j in range(self.n_components)]

    def transform(
        self, frame: pl.DataFrame, point_in_time: bool = True, bar_seconds: int | None = None
    ) -> pl.DataFrame:
        """`frame` plus enc_* columns. Rows older than the first snapshot, or missing more than 20 % of the
        inputs, are null; a few missing inputs are imputed at the pooled mean (z = 0)."""
        x = frame.select(pl.col(c).cast(pl.Float64) for c in self.columns).to_numpy()
        n = len(x)
        out = np.full((n, self.n_components), np.nan)
        if n:
            if point_in_time:
                bar_ms = bar_seconds * 1000 if bar_seconds else (_bar_ms(frame) if n > 1 else 0)
                close_ms = frame["timestamp"].dt.epoch("ms").to_numpy() + bar_ms
                snap = np.searchsorted(self._cutoffs, close_ms, side="right") - 1
            else:
                snap = np.full(n, len(self._cutoffs) - 1)
            finite = np.isfinite(x)
            ok = (finite.mean(axis=1) >= MIN_PRESENT) & (snap >= 0)
            for s in np.unique(snap[ok]):
                rows = ok & (snap == s)
                z = np.clip((x[rows] - self._mean[s]) / self._std[s], -CLIP, CLIP)
                z = np.where(finite[rows], z, 0.0)  # a missing input sits at the pooled mean
                out[rows] = z @ self._components[s].T
        return frame.with_columns(
            pl.Series(name, out[:, j]).fill_nan(None) for j, name in enumerate(self.output_columns)
        )


def load_shared_encoder(out_dir: Path) -> SharedEncoder:
    """Verify `sha256.txt` (IntegrityError naming the file) and the content hash, then load."""
    verify_manifest(out_dir)
    meta = read_json(out_dir / META)
    if meta.get("fitted", True) is False:
        raise ValueError(f"{out_dir / META}: no shared encoder was fitted for that day: {meta.get('reason')}")
    with np.load(out_dir / NPZ, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    stored = meta.pop("content_hash")
    if _content_hash(meta, arrays) != stored:
        raise IntegrityError(f"{out_dir / NPZ}: encoder content hash does not match {META}")
    meta["content_hash"] = stored
    return SharedEncoder(meta, arrays)
