"""The kill switch: one persisted flag that stops all trading until a person turns it off.

Why a file in the engine home: the night's processes (roster stage, simulator, a Ray worker) and the CLI
run in different processes and machines that share the engine home; the flag must survive restarts and
be readable without a database. `huracan kill-switch on|off|status` writes and reads it
(`control/kill_switch.json`, written atomically, with who/when/why and the history of changes).

While it is on, the roster marks every coin `trade_ok: false` with the switch's reason and the portfolio
simulator opens no position.

The Brain Library (huracan_core/brain/) has no table for operator controls (adding one needs a migration
there), so the state lives in this file only; `history` keeps the last changes with who and why.
"""

from __future__ import annotations

import getpass
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huracan_core.atomic import read_json, write_json
from huracan_core.paths import EngineHome

HISTORY_LIMIT = 100


@dataclass(frozen=True)
class KillSwitchState:
    on: bool
    reason: str
    changed_at: str | None
    changed_by: str | None
    history: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        if not self.on:
            return "kill switch off" + (
                f" (since {self.changed_at} by {self.changed_by})" if self.changed_at else ""
            )
        return f"kill switch ON since {self.changed_at} by {self.changed_by}: {self.reason}"


OFF = KillSwitchState(on=False, reason="", changed_at=None, changed_by=None)


def kill_switch_path(home: EngineHome) -> Path:
    return home.root / "control" / "kill_switch.json"


def read_kill_switch(home: EngineHome) -> KillSwitchState:
    """The persisted state; off when never set. A corrupt file is an error naming the file, never 'off'."""
    path = kill_switch_path(home)
    if not path.is_file():
        return OFF
    try:
        data = read_json(path)
        return KillSwitchState(
            on=bool(data["on"]),
            reason=str(data.get("reason", "")),
            changed_at=data.get("changed_at"),
            changed_by=data.get("changed_by"),
            history=list(data.get("history", [])),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(
            f"kill switch file {path} is unreadable ({exc}); fix or remove it deliberately"
        ) from exc


def set_kill_switch(home: EngineHome, on: bool, reason: str = "", by: str | None = None) -> KillSwitchState:
    """Turn the switch on or off (a reason is required to turn it on) and persist it atomically."""
    if on and not reason.strip():
        raise ValueError("turning the kill switch on needs a reason")
    previous = read_kill_switch(home)
    now = datetime.now(UTC).isoformat()
    who = by or _user()
    change = {"on": on, "reason": reason, "at": now, "by": who}
    state = KillSwitchState(
        on=on,
        reason=reason if on else "",
        changed_at=now,
        changed_by=who,
        history=[*previous.history, change][-HISTORY_LIMIT:],
    )
    write_json(kill_switch_path(home), state.to_json())
    return state


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"
