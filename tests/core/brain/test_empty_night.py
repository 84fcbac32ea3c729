"""A night where no coin produced a model (every coin failed upstream) is still published: the roster says
why for each coin, the Brain Library records the night, and every export and report is written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from huracan_core import stages
from huracan_core.atomic import read_json
from huracan_core.config import load_settings
from huracan_core.ledger import RunLedger
from huracan_core.paths import EngineHome

DAY = date(2025, 10, 30)


def test_a_night_without_any_model_is_published(home: Path) -> None:
    settings = load_settings()
    universe = stages.universe_stage(settings, DAY, top_n=3)
    RunLedger(EngineHome(home), DAY).write(
        {
            s: stages.failed_entry("market_context", "no candles", error_type="StageError")
            for s in universe.selected
        }
    )
    roster = stages.roster_stage(settings, DAY)
    assert [c["trade_ok"] for c in roster["coins"]] == [False] * 3
    out = stages.publish_stage(settings, DAY)
    assert out["summary"]["failed"] == 3
    index = read_json(home / "exports" / DAY.isoformat() / "performance_summary.json")
    history = f"trade_history_{DAY.isoformat()}.csv"
    assert {f["file"] for f in index["files"]} >= {history, "roster.json", "engine_summary.json"}
    assert all(f["rows"] == 0 for f in index["files"] if f["file"] == history)
