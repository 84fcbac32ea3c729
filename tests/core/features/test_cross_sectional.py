"""The opt-in cross-sectional family: point in time across coins, joined on timestamp, and wired into a night."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from huracan_core.config import MarketSettings, Settings, TrainingSettings
from huracan_core.features import CrossAssetInputs, build_features, default_recipe, drop_warmup
from huracan_core.features.cross_sectional import FAMILY, MIN_COINS, coin_rows, universe_table
from tests.core.features.helpers import random_candles

HOUR_MS = 3_600_000
RECIPE = default_recipe("1h", cross_sectional_family=True)
XS = RECIPE.columns_of(FAMILY)


def _universe(n: int = 260, coins: int = 5) -> dict[str, pl.DataFrame]:
    return {f"C{i}-USDT": random_candles(n, 10 + i, step_ms=HOUR_MS) for i in range(coins)}


def _features(frames: dict[str, pl.DataFrame], symbol: str) -> pl.DataFrame:
    table = universe_table(frames, RECIPE.features)
    return build_features(frames[symbol], RECIPE, CrossAssetInputs(universe=coin_rows(table, symbol)))


def test_default_recipe_is_unchanged_and_the_family_is_opt_in() -> None:
    plain = default_recipe("1h")
    assert not plain.columns_of(FAMILY) and len(plain.features) == 95
    assert len(XS) == 11 and RECIPE.names[: len(plain.names)] == plain.names
    assert RECIPE.content_hash != plain.content_hash


def test_changing_any_coins_bars_after_t_leaves_every_coins_features_at_t_unchanged() -> None:
    frames = _universe()
    cut = frames["C0-USDT"]["timestamp"][180]
    rng = np.random.default_rng(0)
    spoiled = {}
    for i, (sym, f) in enumerate(frames.items()):
        later = f["timestamp"] > cut
        k = rng.uniform(0.2, 5.0, f.height)
        f = f.with_columns(
            *(pl.when(later).then(pl.col(c) * k).otherwise(pl.col(c)).alias(c) for c in ("open", "close")),
            pl.when(later).then(pl.col("high") * k * 1.5).otherwise(pl.col("high")).alias("high"),
            pl.when(later).then(pl.col("low") * k / 1.5).otherwise(pl.col("low")).alias("low"),
            pl.when(later).then(pl.col("volume") * k[::-1]).otherwise(pl.col("volume")).alias("volume"),
        )
        if i == 1:  # a coin also loses bars after t
            f = f.filter(~later | (pl.int_range(pl.len()) % 3 != 0))
        spoiled[sym] = f
    before = universe_table(frames, RECIPE.features).filter(pl.col("timestamp") <= cut)
    after = universe_table(spoiled, RECIPE.features).filter(pl.col("timestamp") <= cut)
    assert before.height == 181 * len(frames) and before.drop_nulls().height > 100 * len(frames)
    assert before.equals(after)
    for sym in frames:  # and the coin's own feature frame, through the timestamp join
        a = _features(frames, sym).filter(pl.col("timestamp") <= cut).select(XS)
        b = _features(spoiled, sym).filter(pl.col("timestamp") <= cut).select(XS)
        assert a.equals(b), sym
    truncated = {s: f.filter(pl.col("timestamp") <= cut) for s, f in frames.items()}  # what a night saw
    assert universe_table(truncated, RECIPE.features).equals(before)


def _reference_ret_1(frames: dict[str, pl.DataFrame]) -> dict[tuple[int, str], float]:
    """1-bar log returns by (timestamp ms, symbol), on the union grid: the coin must have the grid's
    previous bar too."""
    closes = {
        s: dict(zip(f["timestamp"].dt.epoch("ms").to_list(), f["close"].to_list(), strict=True))
        for s, f in frames.items()
    }
    grid = sorted({t for c in closes.values() for t in c})
    out = {}
    for prev, t in zip(grid, grid[1:], strict=False):
        for s, c in closes.items():
            if t in c and prev in c:
                out[(t, s)] = float(np.log(c[t] / c[prev]))
    return out


def test_a_coin_missing_a_bar_is_left_out_of_that_bars_ranking_not_misaligned() -> None:
    frames = _universe(n=120, coins=4)
    gap = frames["C2-USDT"]["timestamp"][60]
    frames["C2-USDT"] = frames["C2-USDT"].filter(pl.col("timestamp") != gap)
    ret = _reference_ret_1(frames)
    by_ts: dict[int, dict[str, float]] = {}
    for (t, s), r in ret.items():
        by_ts.setdefault(t, {})[s] = r
    checked = 0
    for sym in frames:
        feats = _features(frames, sym)
        for t, rank, excess in zip(
            feats["timestamp"].dt.epoch("ms").to_list(),
            feats["xs_rank_ret_1"].to_list(),
            feats["xs_excess_ret_1"].to_list(),
            strict=True,
        ):
            section = by_ts.get(t, {})
            if sym not in section or len(section) < MIN_COINS:
                assert rank is None and excess is None, (sym, t)
                continue
            values = np.array(list(section.values()))
            mine = section[sym]
            want = ((values < mine).sum() + ((values == mine).sum() - 1) / 2) / (len(values) - 1)
            assert rank == pytest.approx(want, abs=1e-12), (sym, t)
            assert excess == pytest.approx(mine - values.mean(), abs=1e-12), (sym, t)
            checked += 1
    gap_ms = int(frames["C0-USDT"].filter(pl.col("timestamp") == gap)["timestamp"].dt.epoch("ms")[0])
    assert "C2-USDT" not in by_ts[gap_ms] and len(by_ts[gap_ms]) == 3  # ranked among the other three
    assert "C2-USDT" not in by_ts[gap_ms + HOUR_MS]  # its next return spans two bars: left out too
    assert checked > 4 * 110


def test_warmups_hold_on_a_gap_free_universe_and_a_tiny_universe_is_null_throughout() -> None:
    frames = _universe(n=120, coins=4)
    feats = _features(frames, "C1-USDT")
    for spec in RECIPE.features:
        if spec.family == FAMILY:
            first = int(feats[spec.name].is_not_null().arg_max())
            assert first == spec.warmup, spec.name
    pair = {s: frames[s] for s in ("C0-USDT", "C1-USDT")}  # fewer than MIN_COINS coins
    small = _features(pair, "C0-USDT")
    cross_sectional = [c for c in XS if not c.startswith("mkt_volatility")]
    assert all(small[c].null_count() == small.height for c in cross_sectional)
    assert small["mkt_volatility_20"].null_count() == 20  # the market's own history still counts
    assert drop_warmup(small, RECIPE).height > 0


def test_the_setting_works_in_a_night(tmp_path: Path) -> None:
    """market.cross_sectional_features: the market context writes the table, every coin's features file
    carries the family from it, the encoder and a model are fitted on that recipe, and the live decision's
    inputs rebuild the night's features bit for bit."""
    from huracan_core import stages
    from huracan_core.night_inputs import load_candles, night_recipe
    from huracan_core.trading.live import context_inputs

    settings = Settings(
        home=tmp_path / "home",
        market=MarketSettings(
            timeframe="1d",
            lookback_days=300,
            synthetic_coins=10,
            synthetic_planted=0,
            cross_sectional_features=True,
        ),
        training=TrainingSettings(
            n_trials=1, num_boost_round=10, folds=3, min_train_bars=60, mode="sequential"
        ),
    )
    day = date(2025, 3, 1)
    coins = stages.prepare_day(settings, day, top_n=5)
    recipe = night_recipe(settings)
    assert recipe.content_hash == default_recipe("1d", cross_sectional_family=True).content_hash
    assert recipe.columns_of(FAMILY) == XS and len(coins) >= MIN_COINS
    assert stages.engine_home(settings).cross_sectional(day).is_file()
    frames = {c: load_candles(settings, day, c) for c in coins}
    for coin in coins:
        night = stages.load_features(settings, day, coin)
        assert night.select(XS).drop_nulls().height > 250, coin
        rebuilt = build_features(frames[coin], recipe, context_inputs(frames, recipe, coin))
        assert rebuilt.equals(night), coin
    outcome = stages.model_stage(settings, day, coins[0])
    assert outcome.result.skipped_reason is None
    model = Path(outcome.result.model_dir)
    assert set(XS) <= set(pl.read_parquet(model / "features.parquet").columns)


def test_huracan_research_has_a_cross_sectional_variant(tmp_path: Path) -> None:
    from huracan_core.night_inputs import night_recipe
    from huracan_core.research import load_variants, variant_settings

    [variant] = load_variants(Path(__file__).parents[3] / "config" / "research.yaml", ["cross_sectional"])
    data = tmp_path / "data"  # a replay folder of hourly bars (market.timeframe auto reads their spacing)
    data.mkdir()
    start = 1_700_006_400_000
    rows = "\n".join(f"{start + i * 3_600_000},1,1,1,1,1" for i in range(30))
    (data / "AAA-USDT.csv").write_text(f"timestamp,open,high,low,close,volume\n{rows}\n")
    settings = variant_settings(variant, home=tmp_path / "home", data_dir=data, n_variants=2)
    assert settings.market.cross_sectional_features
    assert night_recipe(settings).columns_of(FAMILY) == default_recipe(
        "1h", cross_sectional_family=True
    ).columns_of(FAMILY)
