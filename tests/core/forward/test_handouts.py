"""Which champions a night scores (from the earlier rosters alone), the rule's wording, and its settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from huracan_core.atomic import write_json
from huracan_core.config import ConfigError, ForwardSettings, load_settings
from huracan_core.forward import demotion_reason, handouts_before
from huracan_core.forward_records import ForwardError, ForwardRecord, HandOut
from huracan_core.paths import EngineHome

D0 = date(2025, 5, 1)


def roster(
    home: EngineHome, night: date, coins: dict[str, str | None], demoted: tuple[str, ...] = ()
) -> None:
    """Night `night`'s roster: each coin's champion model id (None: no champion)."""
    entries = []
    for symbol, model_id in coins.items():
        line = {"symbol": symbol, "model_id": model_id, "trade_ok": model_id is not None}
        if model_id is not None:
            trained = date.fromisoformat(model_id.rsplit("_", 1)[1])
            line |= {"model_path": f"models/{symbol}/{model_id}", "model_training_date": trained.isoformat()}
            line["forward_demoted"] = symbol in demoted
        entries.append(line)
    write_json(home.roster_on(night), {"date": night.isoformat(), "coins": entries})


def night(k: int) -> date:
    return D0 + timedelta(days=k)


def test_each_coins_latest_champion_is_scored_from_the_first_night_of_its_run(tmp_path: Path) -> None:
    home = EngineHome(tmp_path)
    a1, a2, b1 = "AAA-USDT_2025-05-01", "AAA-USDT_2025-05-03", "BBB-USDT_2025-05-01"
    roster(home, night(0), {"AAA-USDT": a1, "BBB-USDT": b1, "CCC-USDT": None})
    roster(home, night(1), {"AAA-USDT": a1, "BBB-USDT": b1, "CCC-USDT": None})
    roster(home, night(2), {"AAA-USDT": a2, "CCC-USDT": None})  # BBB left the universe that night
    roster(home, night(3), {"AAA-USDT": a2, "BBB-USDT": b1, "DDD-USDT": "DDD-USDT_2025-05-04"})
    assert handouts_before(home, night(0)) == []
    assert handouts_before(home, night(2)) == [
        HandOut("AAA-USDT", a1, f"models/AAA-USDT/{a1}", night(0), night(0), night(1)),
        HandOut("BBB-USDT", b1, f"models/BBB-USDT/{b1}", night(0), night(0), night(1)),
    ]
    got = {h.symbol: h for h in handouts_before(home, night(4))}
    assert set(got) == {"AAA-USDT", "BBB-USDT", "DDD-USDT"}  # CCC never had a champion
    assert (got["AAA-USDT"].model_id, got["AAA-USDT"].handed_out_on) == (a2, night(2))  # the new one's run
    assert got["BBB-USDT"].handed_out_on == night(0)  # a night without the coin does not end its run
    assert got["DDD-USDT"].handed_out_on == night(3) and got["DDD-USDT"].listed_through == night(3)
    # a later night never changes what an earlier one scores
    assert {h.symbol for h in handouts_before(home, night(2))} == {"AAA-USDT", "BBB-USDT"}


def test_a_champion_its_roster_demoted_is_not_scored_again(tmp_path: Path) -> None:
    home = EngineHome(tmp_path)
    a1 = "AAA-USDT_2025-05-01"
    roster(home, night(0), {"AAA-USDT": a1})
    roster(home, night(1), {"AAA-USDT": a1}, demoted=("AAA-USDT",))
    assert [h.model_id for h in handouts_before(home, night(1))] == [a1]
    assert handouts_before(home, night(2)) == []


def test_a_roster_line_without_its_model_folder_is_named(tmp_path: Path) -> None:
    home = EngineHome(tmp_path)
    write_json(home.roster_on(night(0)), {"coins": [{"symbol": "AAA-USDT", "model_id": "AAA-USDT_x"}]})
    with pytest.raises(ForwardError, match=r"20250501Z/roster.json: AAA-USDT's champion AAA-USDT_x"):
        handouts_before(home, night(1))
    home.roster_on(night(0)).write_text("{not json")
    with pytest.raises(ForwardError, match=r"20250501Z/roster.json is not a readable roster"):
        handouts_before(home, night(1))


def record(trades: int, net_bps: float, drawdown: float) -> ForwardRecord:
    return ForwardRecord(
        "AAA-USDT",
        "AAA-USDT_x",
        D0,
        datetime(2025, 5, 11, tzinfo=UTC),
        10,
        239,
        trades,
        net_bps,
        net_bps + 10,
        drawdown,
        0.5,
        False,
        None,
    )


def test_the_rule_names_what_broke_it_and_since_when() -> None:
    rule = ForwardSettings(max_drawdown_pct=10, min_trades=20, min_net_bps=0)
    assert demotion_reason(record(19, -500.0, 9.99), rule) is None  # a loss over too few trades
    assert demotion_reason(record(20, 0.0, 10.0), rule) is None  # at the limits is not beyond them
    assert demotion_reason(record(20, -0.5, 3.0), rule) == (
        "forward net -0.5 bps over 20 trades (at least forward.min_trades 20) below forward.min_net_bps 0 "
        "since its hand-out on 2025-05-01"
    )
    both = demotion_reason(record(25, -80.0, 12.5), rule)
    assert both is not None and both.startswith(
        "forward drawdown 12.50 % beyond forward.max_drawdown_pct 10 %"
    )
    assert "; forward net -80.0 bps over 25 trades" in both


def test_the_rule_is_configured_in_settings_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HURACAN_FORWARD__MIN_TRADES", "7")
    monkeypatch.setenv("HURACAN_FORWARD__MAX_DRAWDOWN_PCT", "12.5")
    settings = load_settings()
    assert (settings.forward.min_trades, settings.forward.max_drawdown_pct) == (7, 12.5)
    monkeypatch.setenv("HURACAN_FORWARD__MIN_TRADES", "0")
    with pytest.raises(ConfigError, match="forward.min_trades = '0'.*HURACAN_FORWARD__MIN_TRADES"):
        load_settings()
    monkeypatch.delenv("HURACAN_FORWARD__MIN_TRADES")
    with pytest.raises(ConfigError, match="forward.max_drawdown_pct"):
        load_settings(forward={"max_drawdown_pct": 0})
