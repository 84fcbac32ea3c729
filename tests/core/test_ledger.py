"""The night's state file: one level, written whole and atomically, unreadable files named."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from huracan_core.ledger import CoinEntry, LedgerError, RunLedger
from huracan_core.paths import EngineHome

DAY = date(2026, 4, 20)


def test_written_whole_and_read_back_in_the_seeds_layout(tmp_path: Path) -> None:
    home = EngineHome(tmp_path)
    ledger = RunLedger(home, DAY)
    assert ledger.entries() == {}
    ledger.write(
        {
            "BTC-USDT": CoinEntry(status="success", stage="model", output_path="/x", metrics={"sharpe": 1.0}),
            "eth/usdt": CoinEntry(status="failed", stage="features", error="boom", error_type="ValueError"),
        }
    )
    raw = json.loads(home.status(DAY).read_text())
    assert set(raw) >= {"date", "updated_at", "coins"} and raw["date"] == DAY.isoformat()
    assert raw["coins"]["BTC-USDT"]["status"] == "success"
    assert raw["coins"]["ETH-USDT"]["error_type"] == "ValueError"
    assert home.status(DAY).name == "status.json" and home.status(DAY).parent.name == "20260420Z"
    assert ledger.counts() == {"success": 1, "failed": 1}
    ledger.write({"BTC-USDT": CoinEntry(status="skipped", reason="too little data")})  # replaced whole
    assert ledger.counts() == {"skipped": 1}


@pytest.mark.parametrize("text", ["", "{not json", '{"BTC-USDT": {"status": "success"}}', '["a"]'])
def test_an_unreadable_file_is_an_error_naming_it(tmp_path: Path, text: str) -> None:
    home = EngineHome(tmp_path)
    home.status(DAY).parent.mkdir(parents=True)
    home.status(DAY).write_text(text)
    with pytest.raises(LedgerError, match=str(home.status(DAY))):
        RunLedger(home, DAY).entries()
