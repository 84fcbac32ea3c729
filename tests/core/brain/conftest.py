"""A synthetic night of 5 coins (1 h bars, short lookback, loose gates so champions exist), built once,
and Brain Library URLs: a SQLite file per test, or a fresh PostgreSQL database at 127.0.0.1:5432."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from huracan_core.config import Settings
from huracan_core.paths import EngineHome
from tests.support.postgres import PG, fresh_database

DAY = date(2026, 4, 20)


def night_settings(root: Path, database_url: str | None = None) -> Settings:
    return Settings(
        home=root,
        market={"timeframe": "1h", "lookback_days": 40, "synthetic_coins": 8},
        costs={"safety_margin_bps": 0},  # more OOS trades on the point-in-time (high-low estimated) spreads
        training={
            "n_trials": 1,
            "num_boost_round": 20,
            "folds": 3,
            "min_train_bars": 200,
            "mode": "sequential",
        },
        gates={
            "min_sharpe": -100,
            "min_hit_rate": 0,
            "min_net_pnl_bps": -1e9,
            "max_drawdown_pct": 100,
            "min_trades": 5,
            "min_deflated_sharpe": 0,
        },
        database={"url": database_url} if database_url else {},
    )


def run_night(settings: Settings, day: date, top_n: int = 5) -> list[str]:
    """Every stage of a night up to the roster, in this process (what the Dagster assets call)."""
    from huracan_core import stages

    return stages.plain_night(settings, day, top_n=top_n)


@dataclass
class Night:
    root: Path
    symbols: list[str]

    @property
    def home(self) -> EngineHome:
        return EngineHome(self.root)

    def settings(self, database_url: str | None = None) -> Settings:
        return night_settings(self.root, database_url)


@pytest.fixture(scope="session")
def night(tmp_path_factory: pytest.TempPathFactory) -> Night:
    root = tmp_path_factory.mktemp("night")
    return Night(root, run_night(night_settings(root), DAY))


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (URL), dropped afterwards; skips when no server answers."""
    with fresh_database("huracan_brain") as db:
        yield f"postgresql+psycopg://{PG['user']}@{PG['host']}:{PG['port']}/{db}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def brain_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'brain.sqlite'}"
    return request.getfixturevalue("pg_url")
