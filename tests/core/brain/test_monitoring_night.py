"""The night's monitoring JSON at its start and end: error rate from status.json, data gaps from the candle
cache, model load times of the models the bot would load, each measured on a copy of a real night."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from huracan_core.atomic import read_json
from huracan_core.ledger import RunLedger
from huracan_core.monitoring import night_monitoring
from huracan_core.roster import publish_latest
from huracan_core.stages import failed_entry
from tests.core.brain.conftest import DAY, Night


@pytest.fixture
def copy(night: Night, tmp_path: Path) -> Night:
    root = tmp_path / "home"
    shutil.copytree(night.root, root)
    for path in [*root.glob("runs/**/*.json"), *root.glob("champions/**/*.json")]:
        path.write_text(path.read_text().replace(str(night.root), str(root)))
    return Night(root, night.symbols)


def _component(record: dict, name: str) -> dict:
    return next(c for c in record["components"] if c["component"] == name)


def test_the_end_of_a_night_reports_its_error_rate_gaps_and_model_load_times(copy: Night) -> None:
    settings = copy.settings()
    clean = night_monitoring(settings, DAY, "end")
    assert clean["error_rate"] == 0.0 and clean["data_gaps"] == 0 and clean["status"] == "healthy"
    models = _component(clean, "models")
    assert models["metrics"]["loaded"] == 5 and clean["model_load_time_ms"] > 0
    assert clean["model_load_time_ms"] == models["model_load_time_ms"]
    # one coin failed, three bars cut out of another coin's cache, a third coin's model corrupted
    ledger = RunLedger(copy.home, DAY)
    entries = ledger.entries()
    failed, holed, broken = copy.symbols[:3]
    entries[failed] = failed_entry("model", "boom")
    ledger.write(entries)
    path = copy.home.candles(holed, "1h")
    bars = pl.read_parquet(path)
    tail = bars.filter(pl.col("timestamp") < bars["timestamp"].max())  # inside the lookback window
    cut = tail["timestamp"].sort()[-10:-7].to_list()
    bars.filter(~pl.col("timestamp").is_in(cut)).write_parquet(path)
    roster = read_json(copy.home.roster_on(DAY))
    relative = next(c["model_path"] for c in roster["coins"] if c["symbol"] == broken)
    model_bin = copy.root / relative / "model.bin"  # the roster names model folders inside the home
    model_bin.write_bytes(model_bin.read_bytes()[:-1] + b"x")
    record = night_monitoring(settings, DAY, "end")
    assert record["error_rate"] == pytest.approx(1 / 5)
    assert record["data_gaps"] == 3 and _component(record, "candles")["metrics"]["by_symbol"][holed] == 3
    models = _component(record, "models")
    assert models["status"] == "unhealthy" and broken in models["metrics"]["errors"]
    assert "model.bin" in models["metrics"]["errors"][broken]
    assert record["status"] == "unhealthy"
    written = [Path(p) for p in record["files"]]
    assert [p.name for p in written] == [f"monitoring_{DAY:%Y%m%d}_end.json", "monitoring_latest.json"]
    on_disk = read_json(written[0])
    assert on_disk["error_rate"] == record["error_rate"] and on_disk["phase"] == "end"


def test_the_start_of_a_night_loads_the_bots_champions(copy: Night) -> None:
    settings = copy.settings()
    later = DAY + timedelta(days=1)
    first = night_monitoring(settings, later, "start")  # no night published yet: no champion to load
    assert _component(first, "models")["status"] == "not_applicable" and first["error_rate"] is None
    assert publish_latest(copy.home, DAY)
    champions = [c for c in read_json(copy.home.roster())["coins"] if c.get("model_path")]
    record = night_monitoring(settings, later, "start")
    assert _component(record, "models")["metrics"]["loaded"] == len(champions) > 0
    assert record["model_load_time_ms"] > 0 and record["phase"] == "start"
    assert (copy.home.root / "monitoring" / f"monitoring_{later:%Y%m%d}_start.json").is_file()
