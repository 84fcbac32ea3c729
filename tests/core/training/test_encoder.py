"""Shared encoder: pooled, point-in-time (no future statistics), saved with hashes, tamper-evident."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from huracan_core.atomic import IntegrityError
from huracan_core.features import build_features
from huracan_core.training.encoder import fit_shared_encoder, load_shared_encoder
from tests.support.planted import planted_candles, random_walk_candles

AS_OF = datetime(2026, 4, 21, tzinfo=UTC)


@pytest.fixture(scope="module")
def feats(recipe) -> dict[str, pl.DataFrame]:
    return {"AAA-USDT": build_features(planted_candles(11, n_bars=2400), recipe),
            "BBB-USDT": build_features(random_walk_candles(12, n_bars=2400), recipe)}


def test_fit_save_load_transform(tmp_path, feats, recipe) -> None:
    info = fit_shared_encoder(feats, recipe, AS_OF, tmp_path, n_components=6)
    assert info.n_components == 6 and info.snapshots >= 2 and info.symbols == ["AAA-USDT", "BBB-USDT"]
    assert info.recipe_hash == recipe.content_hash
    assert {"shared_encoder.npz", "shared_encoder.json", "sha256.txt"} <= {p.name for p in tmp_path.iterdir()}
    enc = load_shared_encoder(tmp_path)
    assert enc.content_hash == info.content_hash
    out = enc.transform(feats["AAA-USDT"])
    assert out.columns[-6:] == [f"enc_{j}" for j in range(6)]
    assert out["enc_0"].null_count() < out.height and np.isfinite(out["enc_0"].drop_nulls().to_numpy()).all()
    # deterministic: the same inputs give the same hash
    assert fit_shared_encoder(feats, recipe, AS_OF, tmp_path / "again", n_components=6).content_hash == info.content_hash


def test_past_codes_do_not_depend_on_future_data(tmp_path, feats, recipe) -> None:
    """Changing every bar after a date must not change the encoding of any row that closed before it."""
    cut = feats["AAA-USDT"]["timestamp"][1500]
    changed = {s: f.with_columns(pl.when(pl.col("timestamp") > cut).then(pl.col(c) * 3 + 1).otherwise(pl.col(c))
                                 .alias(c) for c in recipe.model_columns) for s, f in feats.items()}
    fit_shared_encoder(feats, recipe, AS_OF, tmp_path / "a", refit_days=10)
    fit_shared_encoder(changed, recipe, AS_OF, tmp_path / "b", refit_days=10)
    a = load_shared_encoder(tmp_path / "a").transform(feats["AAA-USDT"])
    b = load_shared_encoder(tmp_path / "b").transform(feats["AAA-USDT"])
    early = pl.col("timestamp") < cut - pl.duration(days=10)
    cols = [c for c in a.columns if c.startswith("enc_")]
    assert a.filter(early).select(cols).equals(b.filter(early).select(cols))
    assert not a.select(cols).equals(b.select(cols))


def test_rows_closed_after_as_of_are_not_used(tmp_path, feats, recipe) -> None:
    as_of = feats["AAA-USDT"]["timestamp"][1200].replace(tzinfo=UTC)
    info = fit_shared_encoder(feats, recipe, as_of, tmp_path / "x")
    truncated = {s: f.filter(pl.col("timestamp") < as_of) for s, f in feats.items()}
    again = fit_shared_encoder(truncated, recipe, as_of, tmp_path / "y")
    assert again.rows == info.rows and again.content_hash == info.content_hash


def test_tampering_is_detected(tmp_path, feats, recipe) -> None:
    fit_shared_encoder(feats, recipe, AS_OF, tmp_path)
    path = tmp_path / "shared_encoder.json"
    path.write_text(path.read_text().replace('"clip": 5.0', '"clip": 4.0'))
    with pytest.raises(IntegrityError, match="shared_encoder.json"):
        load_shared_encoder(tmp_path)
