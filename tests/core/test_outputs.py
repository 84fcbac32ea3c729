"""A features file is complete only when it holds every column of tonight's recipe."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from huracan_core.config import MarketSettings, Settings
from huracan_core.night_inputs import night_recipe
from huracan_core.outputs import outputs_problem
from huracan_core.paths import EngineHome

DAY = date(2026, 4, 20)


def test_features_written_before_the_cross_sectional_family_was_switched_on_are_due_again(
    tmp_path: Path,
) -> None:
    off = Settings(home=tmp_path)
    on = Settings(home=tmp_path, market=MarketSettings(cross_sectional_features=True))
    path = EngineHome(tmp_path).features(DAY, "AAA-USDT")
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({c: [0.0] for c in night_recipe(off).model_columns}).write_parquet(path)
    assert outputs_problem(off, "features", DAY, "AAA-USDT") is None
    problem = outputs_problem(on, "features", DAY, "AAA-USDT")
    assert (
        problem is not None
        and "lacks 11 column(s) of tonight's recipe" in problem
        and "mkt_breadth_20" in problem
    )
    path.write_bytes(b"not parquet")
    assert "not a readable parquet file" in (outputs_problem(off, "features", DAY, "AAA-USDT") or "")
