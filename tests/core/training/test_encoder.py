"""Shared encoder: pooled, point-in-time (no future statistics), saved with hashes, tamper-evident."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from huracan_core.atomic import IntegrityError
from huracan_core.features import build_features
from huracan_core.training.encoder import fit_shared_encoder, load_shared_encoder, resolve_encoder
from tests.support.planted import planted_candles, random_walk_candles

AS_OF = datetime(2026, 4, 21, tzinfo=UTC)


@pytest.fixture(scope="module")
def feats(recipe) -> dict[str, pl.DataFrame]:
    return {
        "AAA-USDT": build_features(planted_candles(11, n_bars=2400), recipe),
        "BBB-USDT": build_features(random_walk_candles(12, n_bars=2400), recipe),
    }


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
    assert (
        fit_shared_encoder(feats, recipe, AS_OF, tmp_path / "again", n_components=6).content_hash
        == info.content_hash
    )


def test_past_codes_do_not_depend_on_future_data(tmp_path, feats, recipe) -> None:
    """Changing every bar after a date must not change the encoding of any row that closed before it."""
    cut = feats["AAA-USDT"]["timestamp"][1500]
    changed = {
        s: f.with_columns(
            pl.when(pl.col("timestamp") > cut).then(pl.col(c) * 3 + 1).otherwise(pl.col(c)).alias(c)
            for c in recipe.model_columns
        )
        for s, f in feats.items()
    }
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


def test_the_code_at_t_uses_only_data_closed_by_t(tmp_path, feats, recipe) -> None:
    """Perturb every bar that closes after row t (all coins): row t's codes must not move. Catches an encoder
    that applies the next (future) snapshot, or a snapshot fitted on rows closed after its cutoff."""
    base_dir = tmp_path / "base"
    fit_shared_encoder(feats, recipe, AS_OF, base_dir, refit_days=10)
    base = load_shared_encoder(base_dir).transform(feats["AAA-USDT"], bar_seconds=3600)
    cols = [c for c in base.columns if c.startswith("enc_")]
    encoded = np.flatnonzero(base["enc_0"].is_not_null().to_numpy())
    assert len(encoded) > 500
    for i in (encoded[len(encoded) // 4], encoded[(3 * len(encoded)) // 4]):
        t = feats["AAA-USDT"]["timestamp"][int(i)]
        later = {
            s: f.with_columns(
                pl.when(pl.col("timestamp") > t).then(pl.col(c) * 3 + 1).otherwise(pl.col(c)).alias(c)
                for c in recipe.model_columns
            )
            for s, f in feats.items()
        }
        fit_shared_encoder(later, recipe, AS_OF, tmp_path / f"cut{i}", refit_days=10)
        moved = load_shared_encoder(tmp_path / f"cut{i}").transform(feats["AAA-USDT"], bar_seconds=3600)
        upto = pl.col("timestamp") <= t
        assert base.filter(upto).select(cols).equals(moved.filter(upto).select(cols)), f"row {i} ({t})"


def test_a_small_universe_gets_fewer_components_not_a_failure(tmp_path, feats, recipe) -> None:
    one = {"AAA-USDT": feats["AAA-USDT"].tail(700)}
    # min_rows above the rows it has forces the reduced mode
    rows = fit_shared_encoder(one, recipe, AS_OF, tmp_path / "probe", min_rows=10**6)
    assert rows.fitted and rows.mode == "reduced" and rows.snapshots >= 2
    assert 1 <= rows.n_components <= 8 and "Marchenko-Pastur" in rows.reason
    assert resolve_encoder(tmp_path / "probe") == (tmp_path / "probe", rows.reason)
    out = load_shared_encoder(tmp_path / "probe").transform(one["AAA-USDT"], bar_seconds=3600)
    assert out.columns[-rows.n_components :] == [f"enc_{j}" for j in range(rows.n_components)]
    assert out["enc_0"].null_count() < out.height


def test_too_few_rows_give_no_encoder_with_the_reason(tmp_path, feats, recipe) -> None:
    out = tmp_path / "enc"
    fit_shared_encoder(feats, recipe, AS_OF, out)  # yesterday's full encoder in the same folder
    tiny = {"AAA-USDT": feats["AAA-USDT"].tail(100)}
    info = fit_shared_encoder(tiny, recipe, AS_OF, out)
    assert not info.fitted and info.mode == "none" and info.n_components == 0
    assert (
        "complete feature rows of 1 coin(s)" in info.reason and "even a reduced encoder needs" in info.reason
    )
    assert not (out / "shared_encoder.npz").exists()  # the stale encoder is gone, not silently reused
    meta = json.loads((out / "shared_encoder.json").read_text())
    assert meta["fitted"] is False and meta["reason"] == info.reason
    folder, why = resolve_encoder(out)
    assert folder is None and info.reason in why
    with pytest.raises(ValueError, match="shared_encoder.json: no shared encoder was fitted"):
        load_shared_encoder(out)
    # the record is tamper-evident like an encoder: flipping it on fails loudly
    (out / "shared_encoder.json").write_text(json.dumps({**meta, "fitted": True}))
    with pytest.raises(IntegrityError, match="shared_encoder.json"):
        resolve_encoder(out)
