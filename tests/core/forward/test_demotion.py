"""The demotion rule (settings.forward): a champion whose forward record breaks it leaves the roster with
the reason, the Brain Library records it, and the next night judges a challenger as a first champion.

Each test sets the rule just beyond or just short of the recorded forward numbers of the world's champion
(world.py), on its own copy of the world."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from huracan_core import stages
from huracan_core.brain.db import open_brain
from huracan_core.brain.record import record_forward
from huracan_core.forward import forward_stage, handouts_before
from huracan_core.ledger import RunLedger
from huracan_core.roster import champion_before
from tests.core.forward.world import COIN, NIGHT, World, brain_rows, clone, entry, records

NEXT = NIGHT + timedelta(days=1)


def rescore(w: World, **rule: Any) -> dict[str, Any]:
    """Night NIGHT's forward record and roster again under `rule` (settings.forward); its roster line."""
    settings = w.with_settings(forward=rule)
    forward_stage(settings, NIGHT)
    stages.roster_stage(settings, NIGHT)
    return entry(w, NIGHT)


def test_a_drawdown_beyond_the_limit_takes_the_champion_off_the_roster(world: World, tmp_path: Path) -> None:
    w = clone(world, tmp_path)
    (rec,) = records(w)
    assert rec.max_drawdown_pct > 0.5, "the world's champion needs a forward drawdown to test against"
    kept = rescore(w, max_drawdown_pct=rec.max_drawdown_pct + 0.01)
    assert kept["trade_ok"] is True and kept["forward_demoted"] is False, kept["reason"]
    line = rescore(w, max_drawdown_pct=rec.max_drawdown_pct - 0.01)
    (demoted,) = records(w)
    assert demoted.demoted and demoted.reason is not None
    assert demoted.reason.startswith("demoted: forward drawdown") and "since its hand-out on 2024-11-01" in (
        demoted.reason
    )
    assert line["model_id"] == rec.model_id and line["trade_ok"] is False
    assert line["forward_demoted"] is True and demoted.reason in line["reason"]
    engine = open_brain(w.settings)
    try:
        record_forward(w.settings, NIGHT, engine)
        (row,) = brain_rows(engine, NIGHT)
    finally:
        engine.dispose()
    assert row["demoted"] is True and row["reason"] == demoted.reason
    # the bot's latest pointer: the night is published without the demoted champion
    from huracan_core.roster import publish_latest

    assert publish_latest(w.home, NIGHT) and not w.home.champion(COIN).exists()

    # the next night: the demoted champion is no champion, its record ended, a challenger is a first champion
    settings = w.settings
    pointer, why = champion_before(w.home, COIN, NEXT, settings)
    assert pointer is None and why is not None
    assert f"champion {rec.model_id} was demoted on {NIGHT.isoformat()}" in why
    assert handouts_before(w.home, NEXT) == []
    stages.prepare_day(settings, NEXT, symbols=["BTC-USDT", "ETH-USDT", COIN])
    strict = w.with_settings(gates={"min_trades": 10**6})  # a challenger that fails its gates: no champion
    failed = stages.model_stage(strict, NEXT, COIN)
    assert not failed.promoted and failed.decision.startswith("gates failed")
    assert f"no champion: champion {rec.model_id} was demoted on {NIGHT.isoformat()}" in failed.decision
    outcome = stages.model_stage(settings, NEXT, COIN)  # the night again, with a challenger that passes
    assert outcome.promoted and outcome.decision.startswith("first champion (champion ")
    RunLedger(w.home, NEXT).write({COIN: outcome.entry()})
    forward_stage(settings, NEXT)
    stages.roster_stage(settings, NEXT)
    fresh = entry(w, NEXT)
    assert fresh["model_id"] == outcome.result.model_id and fresh["forward_days_live"] == 0
    assert records(w, NEXT) == []


def test_a_net_loss_demotes_only_over_at_least_min_trades(world: World, tmp_path: Path) -> None:
    w = clone(world, tmp_path)
    (rec,) = records(w)
    floor = rec.net_bps + 1.0  # the record is a loss against this floor
    too_few = rescore(w, min_trades=rec.trades + 1, min_net_bps=floor, max_drawdown_pct=100)
    assert too_few["trade_ok"] is True and too_few["forward_demoted"] is False, too_few["reason"]
    line = rescore(w, min_trades=rec.trades, min_net_bps=floor, max_drawdown_pct=100)
    assert line["trade_ok"] is False and line["forward_demoted"] is True
    assert f"demoted: forward net {rec.net_bps:+.1f} bps over {rec.trades} trades" in line["reason"]
    assert "since its hand-out on 2024-11-01" in line["reason"]


def test_with_demotion_off_the_breach_is_recorded_and_the_champion_stays(
    world: World, tmp_path: Path
) -> None:
    w = clone(world, tmp_path)
    (rec,) = records(w)
    line = rescore(w, demote=False, max_drawdown_pct=rec.max_drawdown_pct / 2)
    (kept,) = records(w)
    assert not kept.demoted and kept.reason is not None and "forward.demote is off" in kept.reason
    assert line["trade_ok"] is True and line["forward_demoted"] is False
    assert champion_before(w.home, COIN, NEXT, w.settings)[0] is not None
