"""`huracan research`: variants (settings overrides) run through the real night pipeline on a replay folder,
into scratch homes, one table per variant, each row deflated by every model the run compared."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from huracan_core.atomic import read_json
from huracan_core.metrics import SelectionCount, selection_deflated_sharpe
from huracan_core.research import ResearchError, deflate_rows, load_variants
from tests.support.planted import planted_candles

NIGHT = date(2026, 2, 15)
START = datetime(2025, 1, 1, tzinfo=UTC)  # 420 daily bars to 2026-02-24: all in the past
COINS = {"PLA-USDT": 0.3, "RND-USDT": 0.0}  # planted AR(1) signal, pure random walk
VARIANTS = """
variants:
  baseline:
    training: {n_trials: 2, num_boost_round: 30}
  h3:
    training: {n_trials: 2, num_boost_round: 30, horizon_bars: 3}
"""


@pytest.fixture
def replay(tmp_path: Path) -> Path:
    """Two daily coins recorded as a replay folder (the uniform CSV format of ../shared/data)."""
    folder = tmp_path / "replay"
    folder.mkdir()
    for i, (symbol, phi) in enumerate(COINS.items()):
        frame = planted_candles(40 + i, n_bars=420, phi=phi, sigma_bps=250.0, bar_seconds=86400, start=START)
        frame.with_columns(pl.col("timestamp").dt.epoch("ms")).write_csv(folder / f"{symbol}.csv")
    return folder


def _variants(tmp_path: Path, text: str = VARIANTS) -> Path:
    path = tmp_path / "research.yaml"
    path.write_text(text)
    return path


def test_research_prints_one_deflated_table_per_variant_and_writes_them(
    home: Path, replay: Path, tmp_path: Path
) -> None:
    import huracan_dagster.cli  # noqa: F401 - registers `research` on the console script's app
    from huracan_core.cli import app

    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "research",
            "--data",
            str(replay),
            "--night",
            NIGHT.isoformat(),
            "--config",
            str(_variants(tmp_path)),
            "--out",
            str(out),
            "--keep-homes",
        ],
    )
    assert result.exit_code == 0, result.output
    for title in ("baseline: training.n_trials=2", "h3: training.n_trials=2"):
        assert title in result.output
    assert "DSR sel." in result.output and "3 other models" in result.output
    assert not home.exists()  # the user's engine home was never touched
    payload = read_json(out / "research.json")
    rows = payload["rows"]
    assert {(r["variant"], r["symbol"]) for r in rows} == {(v, s) for v in ("baseline", "h3") for s in COINS}
    assert all(r["status"] == "trained" for r in rows), rows
    for r in rows:
        folder = Path(r["model_dir"])
        assert folder.is_relative_to(out / "homes" / r["variant"])  # a scratch home per variant
        metrics = read_json(folder / "metrics.json")
        assert r["trades"] == metrics["trades"] and r["net_pnl_bps"] == pytest.approx(metrics["net_pnl_bps"])
        assert r["buy_hold_return_pct"] == pytest.approx(metrics["buy_hold_return_pct"])
        # the selection count: the model's own trials + every other model of the run (2 variants x 2 coins)
        assert r["selection_candidates"] == metrics["n_trials"] + 3
        expected = selection_deflated_sharpe(metrics, SelectionCount(metrics["n_trials"], 4))["dsr"]
        assert r["dsr_selection"] == pytest.approx(expected)
        assert r["dsr_selection"] <= r["dsr"]
        assert r["gates_passed"] == metrics["gates"]["passed"]
        assert r["passed"] == bool(r["gates_passed"] and r["selection_passed"])
        horizon = read_json(folder / "config.json")["horizon_bars"]
        assert horizon == (3 if r["variant"] == "h3" else 1)  # the override reached the trainer
    with open(out / "baseline.csv") as fh:
        table = list(csv.DictReader(fh))
    assert {t["symbol"] for t in table} == set(COINS) and "dsr_selection" in table[0]
    assert json.loads((out / "research.json").read_text())["selection"]["parts"]["variants"] == 2


def test_more_variants_compared_deflate_every_row_further(home: Path, replay: Path, tmp_path: Path) -> None:
    from huracan_core.research import run_research

    variants = load_variants(_variants(tmp_path), ["baseline"])
    result = run_research(variants, [NIGHT], replay, tmp_path / "homes")
    (row,) = [r for r in result.rows if r.symbol == "PLA-USDT"]
    alone = row.dsr_selection
    assert row.selection_candidates == row.n_trials + 1 and alone <= row.dsr  # 2 coins: N = trials + 1
    # the same rows compared with nine more variants' worth of models
    more = [
        replace(r, variant=f"v{k}", failed_gates=list(r.failed_gates)) for k in range(9) for r in result.rows
    ]
    rows = [replace(r, failed_gates=list(r.failed_gates)) for r in result.rows] + more
    deflate_rows(rows, 0.95)
    assert rows[0].selection_candidates == row.n_trials + 19
    assert rows[[r.symbol for r in rows].index("PLA-USDT")].dsr_selection < alone


def test_bad_variants_are_refused_with_the_key_named(home: Path, replay: Path, tmp_path: Path) -> None:
    from huracan_core.research import run_research

    typo = load_variants(_variants(tmp_path, "variants:\n  oops: {training: {horizn_bars: 4}}\n"))
    with pytest.raises(ResearchError, match=r"oops.*training\.horizn_bars"):
        run_research(typo, [NIGHT], replay, tmp_path / "homes")
    with pytest.raises(ResearchError, match="owns it"):
        load_variants(_variants(tmp_path, "variants:\n  mine: {home: /tmp/elsewhere}\n"))
    with pytest.raises(ResearchError, match="not in"):
        load_variants(_variants(tmp_path), ["nope"])
    with pytest.raises(ResearchError, match="duplicate key"):
        load_variants(_variants(tmp_path, "variants:\n  a: {}\n  a: {}\n"))


def test_every_shipped_variant_is_valid_settings(home: Path, tmp_path: Path) -> None:
    """config/research.yaml's variants all load into settings (a renamed setting would fail here, not in a
    desk's run), and each reaches the setting it names."""
    from huracan_core.research import variant_settings

    shipped = Path(__file__).resolve().parents[2] / "config" / "research.yaml"
    variants = load_variants(shipped)
    assert variants[0].name == "baseline" and variants[0].overrides == {}
    for v in variants:
        settings = variant_settings(v, home=tmp_path / v.name, data_dir=tmp_path, n_variants=len(variants))
        assert settings.home == (tmp_path / v.name).resolve() and settings.market.source == "replay"
        assert settings.gates.selection_variants == len(variants)  # the scratch roster counts the variants
        for key, value in _flat(v.overrides).items():
            section, name = key.split(".")
            assert getattr(getattr(settings, section), name) == value, (v.name, key)


def _flat(tree: dict) -> dict:
    return {f"{s}.{k}": v for s, keys in tree.items() for k, v in keys.items()}
