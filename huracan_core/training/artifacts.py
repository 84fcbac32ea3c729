"""Model folders (DESIGN §1): `models/{SYMBOL}/{YYYYMMDD_HHMMSSZ}/`, complete only once sha256.txt verifies.

Why: partials (features.parquet, split_indices.json, training_log.json) are written before training so a
crashed run leaves evidence; `sha256.txt` is written LAST over every file, so a folder without a verifying
manifest is incomplete and is never loaded, promoted or listed as a model. `load_model` verifies the
hashes before it reads a byte of the model and names the file at fault.

`models/{SYMBOL}/metadata.json` (the seed's place) describes the coin's current model, the newest complete
one by (training date, version), in the seed's fields: `model_id` (a UUID), `version`, `total_return`,
`lookback_days`, `train_test_split`, ... plus `engine_model_id` and the version folder it tells of. It is
rewritten when a newer model completes, never by a backfill of an older date.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from huracan_core.atomic import MANIFEST, IntegrityError, read_json, sha256_bytes, verify_manifest, write_json
from huracan_core.paths import EngineHome, stamp
from huracan_core.training import models
from huracan_core.training.encoder import META as ENC_META
from huracan_core.training.encoder import NPZ as ENC_NPZ
from huracan_core.training.encoder import SharedEncoder, load_shared_encoder

PARTIALS = ("features.parquet", "split_indices.json", "training_log.json")
FINALS = (
    "model.bin",
    "config.json",
    "metrics.json",
    "costs.json",
    "features.json",
    "metadata.json",
    "oos_predictions.parquet",
)
ENCODER_FILES = ("encoder/" + ENC_NPZ, "encoder/" + ENC_META, "encoder/" + MANIFEST)


class ModelRecipeMismatch(ValueError):
    """The features offered to a model were built by another recipe than the one it was trained on."""


class ModelMissing(FileNotFoundError):
    """A model folder named by a champion pointer does not exist (deleted, or the home is not synced)."""


def new_model_dir(home: EngineHome, symbol: str, now: datetime | None = None) -> Path:
    """Create a fresh, unique version folder (the stamp moves on a second if the folder already exists)."""
    root = home.model_root(symbol)
    root.mkdir(parents=True, exist_ok=True)
    moment = now or datetime.now(UTC)
    for _ in range(120):
        path = root / stamp(moment)
        try:
            path.mkdir()
            return path
        except FileExistsError:
            moment = datetime.fromtimestamp(moment.timestamp() + 1, tz=UTC)
    raise RuntimeError(f"could not allocate a model folder under {root}")


def is_complete(model_dir: Path) -> bool:
    try:
        verify_manifest(model_dir)
    except IntegrityError:
        return False
    return True


def model_training_date(model_dir: Path) -> date | None:
    """The partition date a model was trained for (`training_date` of metadata.json); None when unreadable.

    Why not the folder name: version folders are named from the wall clock of the run, so a backfill of an
    old date made today has today's stamp. Only the recorded partition date says what the model could know.
    """
    try:
        return date.fromisoformat(str(read_json(Path(model_dir) / "metadata.json")["training_date"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def complete_models(
    home: EngineHome, symbol: str, *, up_to: date | None = None, before: date | None = None
) -> list[Path]:
    """The coin's complete (verifying) model folders, ordered by (partition date, version).

    `up_to` keeps models of partition dates <= up_to, `before` those of dates < before (a model without a
    readable training_date is then left out: nothing proves it was known at that date). Without either,
    every complete folder is listed, undated ones first.
    """
    root = home.model_root(symbol)
    if not root.is_dir():
        return []
    dated: list[tuple[date, str, Path]] = []
    for p in sorted(root.iterdir()):
        if not p.is_dir():
            continue
        day = model_training_date(p)
        if (up_to is not None or before is not None) and day is None:
            continue
        if (up_to is not None and day > up_to) or (before is not None and day >= before):
            continue
        if is_complete(p):
            dated.append((day or date.min, p.name, p))
    return [p for _, _, p in sorted(dated)]


MODEL_UUID_NAMESPACE = uuid.UUID("5f0c3d2e-8a61-4c1e-9a57-6b7e2f0d4c11")  # the engine's own namespace
CURRENT_METADATA = "metadata.json"


def model_uuid(model_id: str) -> str:
    """The model's UUID (the seed's `model_id`): a UUID5 of the engine's model id, so it is the same
    wherever it is computed and needs no registry."""
    return str(uuid.uuid5(MODEL_UUID_NAMESPACE, model_id))


def current_metadata_path(home: EngineHome, symbol: str) -> Path:
    """`models/{SYMBOL}/metadata.json`: the coin's current model, in the seed's fields."""
    return home.model_root(symbol) / CURRENT_METADATA


def current_metadata(model_dir: Path, lookback_days: int, timeframe: str) -> dict[str, Any]:
    """The seed's metadata of one complete model folder (its metadata, metrics, config and split files)."""
    model_dir = Path(model_dir)
    meta = read_json(model_dir / "metadata.json")
    metrics = read_json(model_dir / "metrics.json")
    config = read_json(model_dir / "config.json")
    split = read_json(model_dir / "split_indices.json")
    rows = int(split.get("rows") or meta.get("n_samples") or 0)
    folds = split.get("folds") or []
    first_test = min((int(f["test_start"]) for f in folds), default=rows)
    pct = metrics.get("net_pnl_pct")
    params = config.get("final_params", {})
    return {
        # the seed's fields
        "model_id": meta.get("uuid") or model_uuid(meta["model_id"]),
        "symbol": meta["symbol"],
        "version": meta["version"],
        "created_at": meta.get("created_at"),
        "training_date": meta["training_date"],
        "model_type": config.get("model_type"),
        "lookback_days": lookback_days,
        "timeframe": timeframe,
        # rows before the first out-of-sample bar: the first fold trains on them, the rest is tested
        # walk-forward (each later fold also trains on what came before it)
        "train_test_split": round(first_test / rows, 6) if rows else None,
        "total_return": float(pct) / 100.0 if isinstance(pct, int | float) else None,
        "sharpe_ratio": metrics.get("sharpe"),
        "win_rate": metrics.get("hit_rate"),
        "max_drawdown": metrics.get("max_drawdown_pct") / 100.0
        if isinstance(metrics.get("max_drawdown_pct"), int | float)
        else None,
        "total_trades": metrics.get("trades"),
        "hyperparameters": params,
        "features": config.get("input_columns", []),
        "feature_count": len(config.get("input_columns", [])),
        "gates_passed": bool(meta.get("gates_passed")),
        # the engine's
        "engine_model_id": meta["model_id"],
        "model_path": str(model_dir),
        "model_sha256": meta.get("model_sha256"),
        "recipe_hash": meta.get("recipe_hash"),
        "n_samples": rows,
        "oos_start": metrics.get("oos_start"),
        "oos_end": metrics.get("oos_end"),
        "folds": len(folds),
        "net_pnl_bps": metrics.get("net_pnl_bps"),
        "evaluation": metrics.get("evaluation"),
    }


def write_current_metadata(
    home: EngineHome, model_dir: Path, lookback_days: int, timeframe: str
) -> Path | None:
    """Point `models/{SYMBOL}/metadata.json` at `model_dir` if it is the coin's newest complete model by
    (training date, version); None (nothing written) when a newer one is already named there."""
    payload = current_metadata(model_dir, lookback_days, timeframe)
    path = current_metadata_path(home, payload["symbol"])
    if path.is_file():
        try:
            held = read_json(path)
            newer = (str(held["training_date"]), str(held["version"])) > (
                payload["training_date"],
                payload["version"],
            )
        except (OSError, ValueError, KeyError):
            newer = False  # an unreadable pointer is replaced by a sound one
        if newer:
            return None
    return write_json(path, payload)


def recipe_payload(recipe: Any) -> dict[str, Any]:
    """The recipe as stored in features.json: its own JSON plus its content hash."""
    raw = recipe.to_json()
    body = json.loads(raw) if isinstance(raw, str | bytes) else raw
    return {"content_hash": str(recipe.content_hash), "recipe": body}


@dataclass
class LoadedModel:
    """A verified model folder, ready to predict expected forward returns (bps) from a features frame."""

    model_dir: Path
    model_type: models.ModelType
    booster: Any
    input_columns: list[str]
    recipe_hash: str
    encoder: SharedEncoder | None
    metadata: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    meta_booster: Any = None  # the meta-labelling gate (meta_model.bin), when the model was trained with one

    @property
    def model_id(self) -> str:
        return str(self.metadata.get("model_id", ""))

    @cached_property
    def oos_predictions(self) -> pl.DataFrame:
        """The walk-forward out-of-sample predictions of the folder (listed in, and verified with, its
        sha256.txt), sorted by time; read once per loaded model."""
        return pl.read_parquet(self.model_dir / "oos_predictions.parquet").sort("timestamp")

    def predict(
        self, features: pl.DataFrame, recipe_hash: str | None = None, num_threads: int = 1
    ) -> np.ndarray:
        """Predictions (bps) for every row of `features` (rows with missing inputs give NaN-aware output)."""
        if recipe_hash is not None and recipe_hash != self.recipe_hash:
            raise ModelRecipeMismatch(
                f"{self.model_dir}: trained on recipe {self.recipe_hash[:12]}…, features built by {recipe_hash[:12]}…"
            )
        frame = features
        if self.encoder is not None:
            frame = self.encoder.transform(frame, bar_seconds=self.config.get("bar_seconds"))
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise ModelRecipeMismatch(f"{self.model_dir}: features lack model inputs {missing[:5]}")
        x = frame.select(pl.col(c).cast(pl.Float64) for c in self.input_columns).to_numpy()
        # the expected edge in bps under the folder's config.json `target` (classifier, meta gate)
        return models.predict_bps(
            self.model_type, self.booster, x, self.config, self.meta_booster, num_threads
        )


def load_model(model_dir: Path, expected_recipe_hash: str | None = None) -> LoadedModel:
    """Verify sha256.txt first (IntegrityError naming the file), check the recipe hash, then load.

    A folder that does not exist is `ModelMissing` (naming it); one that exists but lacks or fails its
    manifest, or whose model.bin / features.json disagree with metadata.json, is `IntegrityError`."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelMissing(f"model folder {model_dir} does not exist")
    verify_manifest(model_dir)
    metadata = read_json(model_dir / "metadata.json")
    config = read_json(model_dir / "config.json")
    stored = read_json(model_dir / "features.json")
    recipe_hash = str(stored["content_hash"])
    if recipe_hash != metadata.get("recipe_hash"):
        raise IntegrityError(f"{model_dir / 'features.json'}: recipe hash differs from metadata.json")
    if expected_recipe_hash is not None and expected_recipe_hash != recipe_hash:
        raise ModelRecipeMismatch(
            f"{model_dir}: trained on recipe {recipe_hash[:12]}…, expected {expected_recipe_hash[:12]}…"
        )
    model_bytes = (model_dir / "model.bin").read_bytes()
    if sha256_bytes(model_bytes) != metadata.get("model_sha256"):
        raise IntegrityError(f"{model_dir / 'model.bin'}: sha256 differs from metadata.json")
    encoder = load_shared_encoder(model_dir / "encoder") if (model_dir / "encoder").is_dir() else None
    meta_path = model_dir / models.META_MODEL_FILE  # verified with the manifest above when it is listed
    meta_booster = (
        models.from_bytes(config["model_type"], meta_path.read_bytes())
        if ((config.get("target") or {}).get("meta") or {}).get("fitted")
        else None
    )
    return LoadedModel(
        model_dir=model_dir,
        model_type=config["model_type"],
        booster=models.from_bytes(config["model_type"], model_bytes),
        input_columns=list(config["input_columns"]),
        recipe_hash=recipe_hash,
        encoder=encoder,
        metadata=metadata,
        config=config,
        meta_booster=meta_booster,
    )


_LOADED: dict[Path, tuple[tuple[tuple[str, str], ...], LoadedModel]] = {}


def load_model_cached(model_dir: Path, expected_recipe_hash: str | None = None) -> LoadedModel:
    """`load_model` for a process that asks again and again (a bot deciding every bar): sha256.txt is
    verified on every call (a few ms: every file hashed), the model is parsed once per manifest.

    Why: hashing is cheap and catches a folder corrupted under a running bot; parsing the booster and
    the encoder is what costs. A folder whose manifest changed is loaded again."""
    model_dir = Path(model_dir).resolve()
    if not model_dir.is_dir():
        raise ModelMissing(f"model folder {model_dir} does not exist")
    key = tuple(sorted(verify_manifest(model_dir).items()))
    hit = _LOADED.get(model_dir)
    if hit is None or hit[0] != key:
        loaded = load_model(model_dir)
        _LOADED[model_dir] = (key, loaded)
    else:
        loaded = hit[1]
    if expected_recipe_hash is not None and expected_recipe_hash != loaded.recipe_hash:
        raise ModelRecipeMismatch(
            f"{model_dir}: trained on recipe {loaded.recipe_hash[:12]}…, expected {expected_recipe_hash[:12]}…"
        )
    return loaded
