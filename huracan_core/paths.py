"""The engine home layout (`HURACAN_HOME`), in one place so every stage and the exports agree on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from huracan_core.symbols import normalise_symbol


def day_tag(day: date) -> str:
    """Dated folder name used by runs/ and summary/: `20260420Z`."""
    return day.strftime("%Y%m%d") + "Z"


def parse_day_tag(name: str) -> date | None:
    """The date of a `20260420Z` folder name; None for any other name."""
    if len(name) != 9 or not name.endswith("Z") or not name[:8].isdigit():
        return None
    try:
        return datetime.strptime(name[:8], "%Y%m%d").date()
    except ValueError:
        return None


def stamp(moment: datetime) -> str:
    """Model version folder name: `20260420_020512Z` (UTC)."""
    return moment.strftime("%Y%m%d_%H%M%SZ")


@dataclass(frozen=True)
class EngineHome:
    root: Path

    def candles(self, symbol: str, timeframe: str) -> Path:
        return self.root / "data" / "candles" / timeframe / f"{normalise_symbol(symbol)}.parquet"

    def candles_dir(self) -> Path:
        return self.root / "data" / "candles"

    def quarantine_dir(self) -> Path:
        return self.root / "data" / "quarantine"

    def universe(self, day: date) -> Path:
        return self.root / "runs" / day_tag(day) / "universe.json"

    def features(self, day: date, symbol: str) -> Path:
        return self.root / "data" / "features" / day_tag(day) / f"{normalise_symbol(symbol)}.parquet"

    def market_context(self, day: date) -> Path:
        """The day's cross-asset references (equal-weight market; BTC/ETH candles beside it)."""
        return self.root / "data" / "features" / day_tag(day) / "_market_context.parquet"

    def cross_sectional(self, day: date) -> Path:
        """The day's cross-sectional table (one row per coin and bar of the universe; written by the market
        context when `market.cross_sectional_features` is on)."""
        return self.root / "data" / "features" / day_tag(day) / "_cross_sectional.parquet"

    def encoder_dir(self, day: date) -> Path:
        return self.root / "meta" / day_tag(day)

    def model_root(self, symbol: str) -> Path:
        return self.root / "models" / normalise_symbol(symbol)

    def champions_dir(self) -> Path:
        return self.root / "champions"

    def champion(self, symbol: str) -> Path:
        """The LATEST champion pointer the trading bot reads (moved only by the coin's newest date)."""
        return self.champions_dir() / f"{normalise_symbol(symbol)}.json"

    def roster(self) -> Path:
        """The LATEST roster the trading bot reads (moved only by the newest date)."""
        return self.champions_dir() / "roster.json"

    def champions_day_dir(self, day: date) -> Path:
        return self.champions_dir() / day_tag(day)

    def champion_on(self, day: date, symbol: str) -> Path:
        """The champion decision of night `day` for one coin (decided from models of dates <= day)."""
        return self.champions_day_dir(day) / f"{normalise_symbol(symbol)}.json"

    def roster_on(self, day: date) -> Path:
        """Night `day`'s own roster (ranks only models of dates <= day)."""
        return self.champions_day_dir(day) / "roster.json"

    def champion_history(self, symbol: str) -> Path:
        """Every night's decision for one coin, oldest first (rebuilt from the per-date decisions)."""
        return self.champions_dir() / "history" / f"{normalise_symbol(symbol)}.json"

    def run_dir(self, day: date) -> Path:
        return self.root / "runs" / day_tag(day)

    def status(self, day: date) -> Path:
        return self.run_dir(day) / "status.json"

    def summary(self, day: date) -> Path:
        return self.root / "summary" / day_tag(day) / "engine_summary.json"

    def exports_dir(self, day: date) -> Path:
        return self.root / "exports" / day.isoformat()

    def logs_dir(self) -> Path:
        return self.root / "logs"

    def learning_dir(self) -> Path:
        return self.root / "logs" / "learning"
