"""`features compute`: one coin's candle file in, an atomic parquet of the full recipe out."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from huracan_core.features import default_recipe
from huracan_core.features.cli import features_app
from tests.core.features.helpers import random_candles

RUNNER = CliRunner()


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    frame.with_columns(pl.col("timestamp").dt.epoch("ms")).write_csv(path)
    return path


def test_compute_csv_without_references(tmp_path: Path) -> None:
    candles = random_candles(200, 1)
    source = write_csv(candles, tmp_path / "coin.csv")
    out = tmp_path / "out" / "features.parquet"
    result = RUNNER.invoke(features_app, ["compute", "--input", str(source), "--output", str(out)])
    assert result.exit_code == 0, result.output
    recipe = default_recipe("1d")
    frame = pl.read_parquet(out)
    assert frame.shape == (200, 6 + len(recipe.features))
    assert f"wrote 200 rows x {frame.width} columns" in result.output
    assert frame.select(candles.columns).equals(candles)
    assert frame["btc_correlation"].null_count() == 200 and frame["eth_correlation"].null_count() == 200
    assert [p.name for p in out.parent.iterdir()] == ["features.parquet"]  # no temp file left behind


def test_compute_parquet_with_btc_and_eth_on_hourly_bars(tmp_path: Path) -> None:
    hour = 3_600_000
    coin, btc, eth = (random_candles(150, seed, step_ms=hour) for seed in (1, 2, 3))
    coin.write_parquet(tmp_path / "coin.parquet")
    args = ["compute", "--input", str(tmp_path / "coin.parquet"), "--output", str(tmp_path / "f.parquet")]
    args += ["--timeframe", "1h", "--btc", str(write_csv(btc, tmp_path / "btc.csv"))]
    args += ["--eth", str(write_csv(eth, tmp_path / "eth.csv"))]
    result = RUNNER.invoke(features_app, args)
    assert result.exit_code == 0, result.output
    frame = pl.read_parquet(tmp_path / "f.parquet")
    assert frame["btc_correlation"].null_count() == 30 and frame["eth_correlation"].null_count() == 30
    assert frame["hour_of_day"].n_unique() == 24


def test_bad_timeframe_is_a_usage_error(tmp_path: Path) -> None:
    source = write_csv(random_candles(50), tmp_path / "coin.csv")
    args = ["compute", "--input", str(source), "--output", str(tmp_path / "f.parquet"), "--timeframe", "2d"]
    result = RUNNER.invoke(features_app, args)
    assert result.exit_code == 2
    assert "unknown timeframe" in result.output
    assert not (tmp_path / "f.parquet").exists()
