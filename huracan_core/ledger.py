"""The resume ledger `runs/{YYYYMMDD}Z/status.json`: one entry per coin and stage outcome for a day.

Why a file next to Dagster's own records: the trading bot, the exports and a human reading the
engine home need the night's state without a Dagster instance, and a rerun must know which coins
are complete. Writes are atomic and guarded by a lock file, so concurrent coin runs (threads,
processes or Ray workers) never lose each other's updates. The file has ONE level: {"date", "coins":
{SYMBOL: entry}} — the original read the wrong level of its own JSON and never resumed.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Literal

from huracan_core.atomic import file_lock, read_json, write_json
from huracan_core.paths import EngineHome
from huracan_core.symbols import normalise_symbol

Status = Literal["pending", "running", "success", "failed", "skipped"]
TERMINAL: frozenset[str] = frozenset({"success", "failed", "skipped"})


@dataclass
class CoinEntry:
    status: Status = "pending"
    stage: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    wall_minutes: float | None = None
    output_path: str | None = None
    metrics_path: str | None = None
    error: str | None = None
    error_type: str | None = None
    retry_count: int = 0
    reason: str | None = None
    metrics: dict = field(default_factory=dict)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunLedger:
    """Read-modify-write access to one day's status.json."""

    def __init__(self, home: EngineHome, day: date) -> None:
        self.day = day
        self.path = home.status(day)

    def _locked(self) -> AbstractContextManager[None]:
        return file_lock(self.path.with_suffix(".lock"), holder="another writer of the run ledger")

    def _read(self) -> dict:
        if not self.path.is_file():
            return {"date": self.day.isoformat(), "updated_at": None, "coins": {}}
        data = read_json(self.path)
        if "coins" not in data:
            raise ValueError(f"{self.path} has no 'coins' mapping: not a Huracan run ledger")
        return data

    def entries(self) -> dict[str, CoinEntry]:
        return {sym: CoinEntry(**raw) for sym, raw in self._read()["coins"].items()}

    def get(self, symbol: str) -> CoinEntry | None:
        return self.entries().get(normalise_symbol(symbol))

    def update(self, symbol: str, **changes: object) -> CoinEntry:
        """Merge `changes` into the coin's entry; `status='running'` stamps started_at, terminal stamps ended_at."""
        symbol = normalise_symbol(symbol)
        with self._locked():
            data = self._read()
            entry = CoinEntry(**data["coins"].get(symbol, {}))
            for key, value in changes.items():
                if not hasattr(entry, key):
                    raise KeyError(f"ledger entry has no field {key!r}")
                setattr(entry, key, value)
            status = changes.get("status")
            if status == "running":
                entry.started_at = _now()
                entry.ended_at = None
                entry.wall_minutes = None
                entry.error = entry.error_type = None
            elif status in TERMINAL:
                entry.ended_at = _now()
                if entry.started_at:
                    start = datetime.fromisoformat(entry.started_at)
                    entry.wall_minutes = round((datetime.now(UTC) - start).total_seconds() / 60, 4)
            data["coins"][symbol] = asdict(entry)
            data["updated_at"] = _now()
            data["pid"] = os.getpid()
            write_json(self.path, data)
        return entry

    def ensure(self, symbols: list[str]) -> None:
        """Register the day's coins as pending without touching coins that already have an entry."""
        with self._locked():
            data = self._read()
            for symbol in symbols:
                data["coins"].setdefault(normalise_symbol(symbol), asdict(CoinEntry()))
            data["updated_at"] = _now()
            write_json(self.path, data)

    def restart(self, symbols: list[str]) -> None:
        """A new generation of the day (the universe was selected again): exactly `symbols`, all pending.
        Entries of the previous generation would otherwise block or mislabel this one's coins."""
        with self._locked():
            data = self._read()
            data["coins"] = {normalise_symbol(s): asdict(CoinEntry()) for s in symbols}
            data["updated_at"] = _now()
            write_json(self.path, data)

    def clear_failure(self, stage: str, symbols: list[str] | None = None) -> None:
        """Back to pending for coins whose recorded failure is at `stage` (that stage has now succeeded)."""
        with self._locked():
            data = self._read()
            changed = False
            for symbol, raw in data["coins"].items():
                if (
                    (symbols is None or symbol in symbols)
                    and raw.get("status") == "failed"
                    and raw.get("stage") == stage
                ):
                    raw.update(status="pending", error=None, error_type=None)
                    changed = True
            if changed:
                data["updated_at"] = _now()
                write_json(self.path, data)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for entry in self.entries().values():
            out[entry.status] = out.get(entry.status, 0) + 1
        return out
