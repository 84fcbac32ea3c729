"""Gates: every check reported; missing or non-finite metrics fail."""

from __future__ import annotations

import math

from huracan_core.config import GateSettings
from huracan_core.gates import GateReport, evaluate_gates

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
