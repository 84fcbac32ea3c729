"""The night's state file `runs/{YYYYMMDD}Z/status.json`: one entry per coin of the day (the seed's layout).

Why a file next to Dagster's own records: the trading bot, the exports and a human reading the engine
home need the night's state without a Dagster instance. It is a *view*, never a second source of truth:
the orchestrator writes it whole from its own records (`huracan_dagster.night.state` from Dagster's event
log; `stages.plain_night` for the plain loop that tests and benchmarks use), atomically. The file has ONE
level: {"date", "coins": {SYMBOL: entry}} — the original read the wrong level of its own JSON and never
resumed. A file that cannot be read is an error naming it (`LedgerError`); the orchestrator rebuilds it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Literal

from huracan_core.atomic import write_json
from huracan_core.paths import EngineHome
from huracan_core.symbols import normalise_symbol

Status = Literal["pending", "running", "success", "failed", "skipped"]
TERMINAL: frozenset[str] = frozenset({"success", "failed", "skipped"})


class LedgerError(ValueError):
    """status.json exists but is not a readable night state; the message names the file."""


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

    @classmethod
    def from_json(cls, raw: dict) -> CoinEntry:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RunLedger:
    """The day's status.json: read it, or replace it whole."""

    def __init__(self, home: EngineHome, day: date) -> None:
        self.day = day
        self.path = home.status(day)

    def _read(self) -> dict:
        if not self.path.is_file():
            return {"date": self.day.isoformat(), "updated_at": None, "coins": {}}
        try:
            data = json.loads(self.path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise LedgerError(
                f"{self.path} is not readable JSON ({exc}): rerun the night to rebuild it"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("coins"), dict):
            raise LedgerError(f"{self.path} has no 'coins' mapping: not a Huracan night state file")
        return data

    def entries(self) -> dict[str, CoinEntry]:
        try:
            return {sym: CoinEntry.from_json(raw) for sym, raw in self._read()["coins"].items()}
        except TypeError as exc:
            raise LedgerError(f"{self.path} holds an entry of another shape: {exc}") from None

    def get(self, symbol: str) -> CoinEntry | None:
        return self.entries().get(normalise_symbol(symbol))

    def write(self, entries: dict[str, CoinEntry]) -> None:
        """Replace the file with exactly `entries` (atomic: a reader sees the old file or the new one)."""
        write_json(
            self.path,
            {
                "date": self.day.isoformat(),
                "updated_at": now_iso(),
                "pid": os.getpid(),
                "coins": {normalise_symbol(s): asdict(e) for s, e in sorted(entries.items())},
            },
        )

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for entry in self.entries().values():
            out[entry.status] = out.get(entry.status, 0) + 1
        return out
