"""A recorded world for the forward-record tests: real Binance daily bars of BTC, ETH and AVAX (replayed
from ../shared/data), two nights through every stage up to the roster: 2024-11-01 hands out AVAX's first
champion (loose gates), 2024-12-01 trains a challenger that cannot replace it (champion_margin 1e9), so the
second night scores the first night's champion on the 30 daily bars since its hand-out.

Built once per module; `clone` gives a test its own copy of the engine home (and of the replayed files,
which the point-in-time test rewrites), so tests never see each other's changes."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from huracan_core.atomic import read_json
from huracan_core.config import Settings
from huracan_core.forward_records import ForwardRecord, load_forward
from huracan_core.paths import EngineHome

COIN = "AVAX-USDT"
COINS = ("BTC-USDT", "ETH-USDT", COIN)
HANDED_OUT = date(2024, 11, 1)
NIGHT = HANDED_OUT + timedelta(days=30)


def overrides(root: Path) -> dict[str, Any]:
    return {
        "home": str(root / "home"),
        "market": {
            "source": "replay",
            "replay_dir": str(root / "replay"),
            "timeframe": "1d",
            "lookback_days": 500,
        },
        "costs": {"safety_margin_bps": 0},
        "training": {
            "n_trials": 1,
            "num_boost_round": 20,
            "folds": 3,
            "min_train_bars": 100,
            "mode": "sequential",
        },
        "gates": {
            "min_sharpe": -100,
            "min_hit_rate": 0,
            "min_net_pnl_bps": -1e9,
            "max_drawdown_pct": 100,
            "min_trades": 1,
            "min_deflated_sharpe": 0,
            "champion_margin": 1e9,  # the first champion stays: the second night scores it
        },
        "database": {"url": f"sqlite:///{root / 'brain.sqlite'}"},
    }


@dataclass
class World:
    root: Path
    values: dict[str, Any]

    @property
    def settings(self) -> Settings:
        return Settings(**self.values)

    @property
    def home(self) -> EngineHome:
        return EngineHome(Path(self.values["home"]))

    def with_settings(self, **sections: dict[str, Any]) -> Settings:
        """The world's settings with some sections' keys changed (e.g. forward={"max_drawdown_pct": 1})."""
        values = {**self.values}
        for name, changes in sections.items():
            values[name] = {**values.get(name, {}), **changes}
        return Settings(**values)


def run_night(settings: Settings, night: date) -> dict[str, Any]:
    """One night as the nightly loop runs it, the forward record before the roster: universe .. encoder,
    AVAX's model and champion decision, status.json, forward_stage, roster_stage."""
    from huracan_core import stages
    from huracan_core.forward import forward_stage
    from huracan_core.ledger import RunLedger

    stages.prepare_day(settings, night, symbols=list(COINS))
    outcome = stages.model_stage(settings, night, COIN)
    RunLedger(stages.engine_home(settings), night).write({COIN: outcome.entry()})
    forward = forward_stage(settings, night)
    roster = stages.roster_stage(settings, night)
    return {"outcome": outcome, "forward": forward, "roster": roster}


def build_world(root: Path, shared_data: Path) -> World:
    replay = root / "replay"
    replay.mkdir(parents=True)
    for coin in COINS:
        shutil.copyfile(shared_data / "binance" / "1d" / f"{coin}.csv", replay / f"{coin}.csv")
    world = World(root, overrides(root))
    for night in (HANDED_OUT, NIGHT):
        run_night(world.settings, night)
    return world


def clone(world: World, root: Path) -> World:
    """A copy of the world's engine home and replayed files under `root` (a fresh brain)."""
    shutil.copytree(world.root / "home", root / "home", symlinks=True)
    shutil.copytree(world.root / "replay", root / "replay")
    return World(root, overrides(root))


def records(world: World, night: date = NIGHT) -> list[ForwardRecord]:
    payload = load_forward(world.home, night)
    assert payload is not None, f"no forward record for {night}"
    return payload["records"]


def entry(world: World, night: date, symbol: str = COIN) -> dict[str, Any]:
    roster = read_json(world.home.roster_on(night))
    return next(c for c in roster["coins"] if c["symbol"] == symbol)


def brain_rows(engine: Any, night: date) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from huracan_core.brain.models import ForwardRecordRow

    table = ForwardRecordRow.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.date == night).order_by(table.c.symbol))
        return [dict(r._mapping) for r in rows]
