"""Gates: every check reported; missing or non-finite metrics fail; each verdict follows its configured
threshold; the gate and purge defaults are pinned."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from huracan_core.config import GateSettings, TrainingSettings, load_settings
from huracan_core.gates import DEFAULT_MIN_DEFLATED_SHARPE, GateReport, evaluate_gates
from huracan_core.training.trainer import TrainOptions

GOOD = {
    "sharpe": 1.2,
    "hit_rate": 0.52,
    "net_pnl_bps": 300.0,
    "max_drawdown_pct": 8.0,
    "trades": 150,
    "deflated_sharpe": 0.99,
}


def test_all_gates_pass_on_good_metrics() -> None:
    report = evaluate_gates(GOOD, GateSettings())
    assert report.passed and not report.failures
    assert [c.name for c in report.checks] == [
        "sharpe",
        "hit_rate",
        "net_pnl_bps",
        "max_drawdown_pct",
        "trades",
        "deflated_sharpe",
    ]


def test_each_threshold_is_strict_and_named() -> None:
    for key, bad in [
        ("sharpe", 0.5),
        ("hit_rate", 0.45),
        ("net_pnl_bps", 0.0),
        ("max_drawdown_pct", 20.0),
        ("trades", 100),
        ("deflated_sharpe", 0.95),
    ]:
        report = evaluate_gates({**GOOD, key: bad}, GateSettings())
        assert not report.passed
        assert [c.name for c in report.failures] == [key]
        assert key in report.summary()


def test_missing_or_nan_metrics_fail() -> None:
    report = evaluate_gates({**GOOD, "sharpe": math.nan, "trades": None}, GateSettings())
    assert {c.name for c in report.failures} == {"sharpe", "trades"}
    assert "missing" in report.summary()


def test_thresholds_come_from_settings_and_report_round_trips() -> None:
    report = evaluate_gates(GOOD, GateSettings(min_trades=200), min_deflated_sharpe=0.5)
    assert [c.name for c in report.failures] == ["trades"]
    again = GateReport.from_json(report.to_json())
    assert again == report


# each gate: (GateSettings field, metric key, whether a metric above the threshold passes)
SETTINGS_OF = [
    ("min_sharpe", "sharpe", True),
    ("min_hit_rate", "hit_rate", True),
    ("min_net_pnl_bps", "net_pnl_bps", True),
    ("max_drawdown_pct", "max_drawdown_pct", False),
    ("min_trades", "trades", True),
    ("min_deflated_sharpe", "deflated_sharpe", True),
]


@pytest.mark.parametrize(("field", "key", "above_passes"), SETTINGS_OF)
def test_each_verdict_follows_its_setting(field: str, key: str, above_passes: bool) -> None:
    """Move one GateSettings threshold across the metric and only that check flips, quoting the setting
    (the deflated Sharpe too: its threshold comes from gates.min_deflated_sharpe when no override is given)."""
    value = GOOD[key]
    below = value - 1 if isinstance(value, int) else value * 0.99
    above = value + 1 if isinstance(value, int) else value * 1.005
    for threshold in (below, above):
        report = evaluate_gates(GOOD, GateSettings(**{field: threshold}))
        check = next(c for c in report.checks if c.name == key)
        assert check.threshold == threshold
        expect = (threshold < value) if above_passes else (threshold > value)
        assert check.passed is expect and report.passed is expect, (field, threshold)
        assert [c.name for c in report.failures] == ([] if expect else [key])


def test_gate_and_purge_defaults_are_pinned(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A change of any of these is a decision about honesty, so it must change this test too: the gate
    thresholds, and the label horizon and embargo behind the purge, in the code and as the shipped
    config/settings.yaml loads (local and production profiles)."""
    pinned_gates = {
        "min_sharpe": 0.5,
        "min_hit_rate": 0.45,
        "min_net_pnl_bps": 0.0,
        "max_drawdown_pct": 20.0,
        "min_trades": 100,
        "min_deflated_sharpe": 0.95,
        "champion_metric": "sharpe",
        "champion_margin": 0.1,
        "selection_scope": "night_and_history",  # the champion's DSR counts the night's coins and its history
        "selection_variants": 1,
    }
    pinned_training = {"horizon_bars": 1, "embargo_bars": 2}
    assert GateSettings().model_dump() == pinned_gates
    assert pinned_gates["min_deflated_sharpe"] == DEFAULT_MIN_DEFLATED_SHARPE
    assert TrainOptions().min_deflated_sharpe is None  # so the trainer uses gates.min_deflated_sharpe
    training = TrainingSettings()
    assert {k: getattr(training, k) for k in pinned_training} == pinned_training
    for profile in ("local", "production"):
        monkeypatch.setenv("HURACAN_PROFILE", profile)
        monkeypatch.setenv("HURACAN_DATABASE__URL", f"sqlite:///{home / 'brain.sqlite'}")  # production
        shipped = load_settings()  # the home fixture points HURACAN_CONFIG at config/settings.yaml
        assert shipped.profile == profile
        assert shipped.gates.model_dump() == pinned_gates, profile
        assert {k: getattr(shipped.training, k) for k in pinned_training} == pinned_training, profile
