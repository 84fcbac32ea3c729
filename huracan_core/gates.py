"""Promotion gates on out-of-sample, after-cost metrics (DESIGN §3), with every check spelled out.

Why a report rather than a bool: the lead turns each check into a blocking Dagster asset check and the
roster quotes the failures, so a trader sees *which* threshold a coin missed and by how much. A missing
or non-finite metric fails its check: nothing passes by default.

The deflated Sharpe check (probability that the true Sharpe beats the best of `n_trials` skill-less
configurations, see metrics.py) is what keeps random-walk coins out even when a lucky path clears the
plain Sharpe threshold.
"""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass, field
from typing import Any

from huracan_core.config import GateSettings

DEFAULT_MIN_DEFLATED_SHARPE = 0.95
_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class GateCheck:
    name: str
    value: float | None
    threshold: float
    op: str
    passed: bool

    def describe(self) -> str:
        shown = "missing" if self.value is None else f"{self.value:.4g}"
        verdict = "ok" if self.passed else "FAIL"
        return f"{self.name} {shown} {self.op} {self.threshold:g}: {verdict}"


@dataclass(frozen=True)
class GateReport:
    passed: bool
    checks: list[GateCheck] = field(default_factory=list)

    @property
    def failures(self) -> list[GateCheck]:
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        if self.passed:
            return "all gates passed"
        if not self.checks:
            return "not evaluated"
        return "; ".join(c.describe() for c in self.failures)

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [asdict(c) for c in self.checks], "summary": self.summary()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GateReport:
        return cls(passed=bool(data["passed"]), checks=[GateCheck(**c) for c in data.get("checks", [])])


def _check(name: str, metrics: dict[str, Any], key: str, op: str, threshold: float) -> GateCheck:
    raw = metrics.get(key)
    value = float(raw) if isinstance(raw, int | float) and math.isfinite(float(raw)) else None
    passed = value is not None and _OPS[op](value, threshold)
    return GateCheck(name=name, value=value, threshold=float(threshold), op=op, passed=bool(passed))


def evaluate_gates(
    metrics: dict[str, Any],
    gates: GateSettings,
    min_deflated_sharpe: float | None = None,
) -> GateReport:
    """All gates on OOS metrics (keys as produced by `metrics.backtest_metrics`)."""
    dsr_min = (
        getattr(gates, "min_deflated_sharpe", None) if min_deflated_sharpe is None else min_deflated_sharpe
    )
    dsr_min = DEFAULT_MIN_DEFLATED_SHARPE if dsr_min is None else dsr_min
    checks = [
        _check("sharpe", metrics, "sharpe", ">", gates.min_sharpe),
        _check("hit_rate", metrics, "hit_rate", ">", gates.min_hit_rate),
        _check("net_pnl_bps", metrics, "net_pnl_bps", ">", gates.min_net_pnl_bps),
        _check("max_drawdown_pct", metrics, "max_drawdown_pct", "<", gates.max_drawdown_pct),
        _check("trades", metrics, "trades", ">", gates.min_trades),
        _check("deflated_sharpe", metrics, "deflated_sharpe", ">", dsr_min),
    ]
    return GateReport(passed=all(c.passed for c in checks), checks=checks)


def not_evaluated(reason: str) -> GateReport:
    """The report of a coin that produced no OOS metrics (skipped): it fails, with the reason."""
    return GateReport(
        passed=False,
        checks=[GateCheck(name=f"evaluated ({reason})", value=None, threshold=1.0, op=">=", passed=False)],
    )
