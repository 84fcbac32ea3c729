"""The resume ledger: one level, atomic, safe under concurrent writers."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from huracan_core.ledger import RunLedger
from huracan_core.paths import EngineHome

DAY = date(2026, 4, 20)


def test_lifecycle_and_layout(tmp_path: Path) -> None:
    home = EngineHome(tmp_path)
    ledger = RunLedger(home, DAY)
    ledger.ensure(["BTC-USDT", "eth/usdt"])
    assert set(ledger.entries()) == {"BTC-USDT", "ETH-USDT"}
    ledger.update("BTC-USDT", status="running", stage="model")
    done = ledger.update("BTC-USDT", status="success", output_path="/x", metrics={"sharpe": 1.0})
    assert done.started_at and done.ended_at and done.wall_minutes is not None
    ledger.update("ETH-USDT", status="failed", error="boom", error_type="ValueError")
    ledger.ensure(["BTC-USDT"])  # re-registering never resets a finished coin
    raw = json.loads(home.status(DAY).read_text())
    assert raw["coins"]["BTC-USDT"]["status"] == "success"
    assert raw["coins"]["ETH-USDT"]["error_type"] == "ValueError"
    assert home.status(DAY).name == "status.json" and home.status(DAY).parent.name == "20260420Z"
    assert ledger.counts() == {"success": 1, "failed": 1}
    with pytest.raises(KeyError):
        ledger.update("BTC-USDT", nonsense=1)


def test_concurrent_updates_are_not_lost(tmp_path: Path) -> None:
    ledger = RunLedger(EngineHome(tmp_path), DAY)
    symbols = [f"C{i}-USDT" for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda s: ledger.update(s, status="success"), symbols))
    assert ledger.counts() == {"success": 40}


def test_rejects_a_file_of_another_shape(tmp_path: Path) -> None:
    home = EngineHome(tmp_path)
    home.status(DAY).parent.mkdir(parents=True)
    home.status(DAY).write_text('{"BTC-USDT": {"status": "success"}}')
    with pytest.raises(ValueError, match="no 'coins' mapping"):
        RunLedger(home, DAY).entries()
