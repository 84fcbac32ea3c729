"""A recorded world for the decision tests: real Binance daily bars of BTC, ETH and AVAX (replayed from
../shared/data, linked, never copied), one night (2024-11-01) through every stage, AVAX trained and
promoted (loose gates), and the 40 daily bars after it to decide on.

Why AVAX and that night: over those 40 bars the consensus opens, holds and closes positions under the
default trading rules (4 entries), so the equality test covers sizing, not only "stay flat"."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from huracan_core.config import Settings
from huracan_core.paths import EngineHome

COIN = "AVAX-USDT"
COINS = ("BTC-USDT", "ETH-USDT", COIN)
NIGHT = date(2024, 11, 1)
STRETCH_BARS = 40  # daily bars decided after the night


def overrides(root: Path) -> dict[str, Any]:
    """The world's settings (what a YAML config file holds for the CLI tests)."""
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
        },
        "database": {"url": f"sqlite:///{root / 'brain.sqlite'}"},
    }


@dataclass
class World:
    root: Path
    settings: Settings
    config_file: Path  # the same settings as YAML (HURACAN_CONFIG for the CLI)

    @property
    def first_close(self) -> datetime:
        """Close of the first bar after the night (the night's as-of: its last bar closes here)."""
        return datetime(NIGHT.year, NIGHT.month, NIGHT.day, tzinfo=UTC) + timedelta(days=1)

    def closes(self) -> list[datetime]:
        """The close of every bar of the stretch: a decision is asked for at each."""
        return [self.first_close + timedelta(days=k) for k in range(1, STRETCH_BARS + 1)]


def build_world(root: Path, shared_data: Path) -> World:
    """Link the recorded coins, run the night (universe .. encoder, AVAX's model and champion, the roster
    and the latest pointers the bot reads)."""
    from huracan_core import stages

    replay = root / "replay"
    replay.mkdir(parents=True)
    for coin in COINS:
        os.symlink(shared_data / "binance" / "1d" / f"{coin}.csv", replay / f"{coin}.csv")
    values = overrides(root)
    config_file = root / "settings.yaml"
    config_file.write_text(yaml.safe_dump(values))
    settings = Settings(**values)
    stages.prepare_day(settings, NIGHT, symbols=list(COINS))
    stages.model_stage(settings, NIGHT, COIN)
    stages.roster_stage(settings, NIGHT)
    from huracan_core import roster

    publish = getattr(roster, "publish_latest", None)  # where the night moves the bot's pointers at the end
    if publish is not None:
        publish(EngineHome(settings.home), NIGHT)
    return World(root, settings, config_file)
