"""Universe filters with a reason for every coin; a past date reproduced from recorded candles."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from huracan_core.config import UniverseSettings
from huracan_core.dates import as_of_for
from huracan_core.market.replay import ReplayMarket
from huracan_core.market.synthetic import SyntheticMarket
from huracan_core.universe import Universe, is_leveraged_token, select_universe


def test_synthetic_universe_filters_and_reasons(tmp_path: Path) -> None:
    m = SyntheticMarket(datetime(2026, 11, 21, tzinfo=UTC))
    u = select_universe(m, UniverseSettings(top_n=10))
    assert len(u.selected) == 10
    ranks = [u.row(s).rank for s in u.selected]
    assert ranks == list(range(1, 11))
    vols = [u.row(s).quote_volume_usd for s in u.selected]
    assert vols == sorted(vols, reverse=True)
    for row in u.excluded:
        assert row.reason
    assert any("rank" in r.reason for r in u.excluded)
    assert any("inactive" in r.reason for r in u.excluded)
    for s in u.selected:
        assert u.row(s).age_days >= 30 and u.row(s).quote_volume_usd >= 1_000_000
    path = u.save(tmp_path / "u.json")
    assert Universe.load(path).selected == u.selected


def test_explicit_symbols_are_pinned() -> None:
    m = SyntheticMarket(datetime(2026, 11, 21, tzinfo=UTC))
    u = select_universe(m, UniverseSettings(), symbols=["bravo/usdt", "ALFA-USDT", "NOPE-USDT"])
    assert sorted(u.selected) == ["ALFA-USDT", "BRAVO-USDT"]
    assert u.row("NOPE-USDT").reason == "not listed at the source"


def test_leveraged_tokens() -> None:
    bases = {"BTC", "ETH", "BNB", "J"}
    assert is_leveraged_token("BTCUP", bases) and is_leveraged_token("ETHBEAR", bases)
    assert not is_leveraged_token("JUP", bases) and not is_leveraged_token("SUPER", bases)


def test_top250_at_2025_06_01_excludes_young_coins(shared_data: Path) -> None:
    folder = shared_data / "binance" / "1d-top250"
    as_of = as_of_for(date(2025, 6, 1))
    u = select_universe(ReplayMarket(folder, as_of), UniverseSettings())
    assert len(u.selected) == 20
    young = [r for r in u.rows if r.age_days is not None and r.age_days < 30]
    assert young, "the recorded set has coins listed in May 2025"
    for row in young:
        assert not row.selected and row.reason
    for s in u.selected:
        assert u.row(s).age_days >= 30
    # coins not yet listed on 2025-06-01 are not in the universe at all
    listed = {r.symbol for r in u.rows}
    import polars as pl

    first = {p.stem: pl.read_csv(p, n_rows=1)["timestamp"][0] for p in folder.glob("*.csv")}
    later = {s for s, ts in first.items() if ts >= as_of.timestamp() * 1000}
    assert later and not (later & listed)
