"""`models/{SYMBOL}/metadata.json`: the coin's current model in the seed's fields, from its version folder."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from huracan_core.atomic import read_json, verify_manifest, write_json
from huracan_core.ledger import RunLedger
from huracan_core.paths import EngineHome
from huracan_core.training.artifacts import current_metadata_path, write_current_metadata
from tests.core.brain.conftest import DAY, Night

SEED_FIELDS = ("model_id", "version", "total_return", "lookback_days", "train_test_split")


def test_each_coin_names_its_current_model_in_the_seeds_fields(night: Night) -> None:
    entries = RunLedger(night.home, DAY).entries()
    assert len(night.symbols) == 5
    for symbol in night.symbols:
        folder = Path(entries[symbol].output_path)
        current = read_json(current_metadata_path(night.home, symbol))
        assert current_metadata_path(night.home, symbol) == night.root / "models" / symbol / "metadata.json"
        assert set(SEED_FIELDS) <= set(current)
        meta, metrics = read_json(folder / "metadata.json"), read_json(folder / "metrics.json")
        assert uuid.UUID(current["model_id"]).version == 5 and current["model_id"] == meta["uuid"]
        assert current["engine_model_id"] == meta["model_id"] and current["version"] == folder.name
        assert current["model_path"] == str(folder) and current["model_sha256"] == meta["model_sha256"]
        assert current["total_return"] == pytest.approx(metrics["net_pnl_pct"] / 100, rel=1e-12)
        assert current["lookback_days"] == 40 and current["timeframe"] == "1h"
        split = read_json(folder / "split_indices.json")
        assert current["train_test_split"] == pytest.approx(split["folds"][0]["test_start"] / split["rows"])
        assert 0.2 < current["train_test_split"] < 0.95
        assert current["total_trades"] == metrics["trades"] and current["sharpe_ratio"] == metrics["sharpe"]
        verify_manifest(folder)  # the coin-level file is outside the version folder's manifest


def test_an_older_model_never_replaces_a_newer_one(night: Night, tmp_path: Path) -> None:
    symbol = night.symbols[0]
    folder = Path(RunLedger(night.home, DAY).entries()[symbol].output_path)
    home = EngineHome(tmp_path / "home")
    copy = home.model_root(symbol) / folder.name
    shutil.copytree(folder, copy)
    path = current_metadata_path(home, symbol)
    write_json(path, {"symbol": symbol, "training_date": "2099-01-01", "version": "20990101_000000Z"})
    assert write_current_metadata(home, copy, 40, "1h") is None  # a backfill of an older date
    assert read_json(path)["training_date"] == "2099-01-01"
    write_json(path, {"symbol": symbol, "training_date": "2001-01-01", "version": "20010101_000000Z"})
    assert write_current_metadata(home, copy, 40, "1h") == path
    assert read_json(path)["version"] == folder.name
