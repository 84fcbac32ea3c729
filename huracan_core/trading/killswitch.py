"""The kill switch: one persisted flag that stops all trading until a person turns it off.

Why a file in the engine home: the night's processes (roster stage, simulator, a Ray worker) and the CLI
run in different processes and machines that share the engine home; the flag must survive restarts and
be readable without a database. `huracan kill-switch on|off|status` writes and reads it
(`control/kill_switch.json`, written atomically, with who/when/why and the history of changes).

While it is on, the roster marks every coin `trade_ok: false` with the switch's reason, the portfolio
simulator opens no position and `huracan decide` answers flat (closing a held position) with the reason.
Turning it on needs no reason (recorded as a manual stop, with user@host and the time).

The file is the state everything reads; `history` keeps the last changes with who and why. Each change is
also appended to the Brain Library's `kill_switch_events` table (migration 0002) when the database is
reachable (`record_in_brain`): a database that is down, locked or on another schema never blocks switching,
the caller is told why the event was not recorded. `brain_kill_switch` reads the latest event back, so
`huracan kill-switch status` shows both and whether they agree.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from huracan_core.atomic import read_json, write_json
from huracan_core.paths import EngineHome

HISTORY_LIMIT = 100
MANUAL = "manual stop (no reason given)"
BRAIN_WAIT_S = 2.0  # the longest a switch (or its status) waits for a Brain Library that is down


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
    """Turn the switch on or off and persist it atomically.

    Turning it on never refuses: an emergency stop must not wait for a sentence. Without a reason it is
    recorded as `MANUAL`, with who (`user@host`, or `by`) and when, like any other change."""
    reason = reason.strip()
    if on and not reason:
        reason = MANUAL
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


def record_in_brain(
    database_url: str, state: KillSwitchState, outage_wait_s: float = BRAIN_WAIT_S
) -> dict[str, Any]:
    """Append `state`'s change to kill_switch_events: {"recorded": True, "event": ...} or, when the database
    cannot take it, {"recorded": False, "error": why} (never raises: the file already holds the switch).
    A brain that is down is waited for `outage_wait_s` at most: the stop is already in force, and the
    operator who pulled it must not wait out the night's 90 s outage bound to hear so."""
    from huracan_core.brain.db import open_brain
    from huracan_core.brain.models import KillSwitchEvent

    event = {
        "at": _naive_utc(state.changed_at),
        "state": "on" if state.on else "off",
        "reason": state.reason,
        "who": state.changed_by or _user(),
    }
    absent = _absent(database_url)
    if absent:
        return {"recorded": False, "error": absent}
    try:
        engine = open_brain(database_url, outage_wait_s=outage_wait_s)
        try:
            with engine.begin() as conn:
                conn.execute(KillSwitchEvent.__table__.insert(), [event])
        finally:
            engine.dispose()
    except Exception as exc:  # the file is the switch; the brain copy is best effort
        return {
            "recorded": False,
            "error": f"Brain Library {_where(database_url)}: {type(exc).__name__}: {exc}",
        }
    return {"recorded": True, "event": {**event, "at": event["at"].isoformat()}}


def brain_kill_switch(database_url: str, outage_wait_s: float = BRAIN_WAIT_S) -> dict[str, Any]:
    """The latest kill_switch_events row: {"latest": {...} | None, "events": n}, or {"error": why} (a brain
    that is down is waited for `outage_wait_s` at most: the file is the state, this only compares)."""
    from sqlalchemy import func, select

    from huracan_core.brain.db import open_brain
    from huracan_core.brain.models import KillSwitchEvent

    absent = _absent(database_url)
    if absent:
        return {"error": absent}
    try:
        engine = open_brain(database_url, outage_wait_s=outage_wait_s)
        try:
            with engine.connect() as conn:
                n = conn.execute(select(func.count()).select_from(KillSwitchEvent)).scalar_one()
                row = conn.execute(
                    select(KillSwitchEvent)
                    .order_by(KillSwitchEvent.at.desc(), KillSwitchEvent.id.desc())
                    .limit(1)
                ).first()
        finally:
            engine.dispose()
    except Exception as exc:
        return {"error": f"Brain Library {_where(database_url)}: {type(exc).__name__}: {exc}"}
    latest = (
        {"at": row.at.isoformat(), "state": row.state, "reason": row.reason, "who": row.who} if row else None
    )
    return {"latest": latest, "events": int(n)}


def describe_brain(brain: dict[str, Any], state: KillSwitchState) -> str:
    """One line on the Brain Library's copy of the switch, and whether it agrees with the file."""
    if "error" in brain:
        return f"brain: not reachable ({brain['error']})"
    latest = brain.get("latest")
    if latest is None:
        return "brain: no kill switch events recorded" + (
            " (the file has changes)" if state.changed_at else ""
        )
    agrees = (latest["state"] == "on") == state.on
    return (
        f"brain: {latest['state']} since {latest['at']} by {latest['who']}"
        + (f": {latest['reason']}" if latest["reason"] else "")
        + f" ({brain['events']} events; {'agrees with' if agrees else 'DIFFERS from'} the file)"
    )


def _absent(url: str) -> str | None:
    """Why there is no Brain Library to write to: an embedded SQLite file that no night has created yet (the
    switch never creates the database; PostgreSQL is tried, with its connect timeout)."""
    from huracan_core.brain.db import normalise_url

    url = normalise_url(url)
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:" and not Path(path).is_file():
            return f"no Brain Library yet at {path} (no night has been recorded)"
    return None


def _where(url: str) -> str:
    from huracan_core.brain.db import safe_url

    try:
        return safe_url(url)
    except Exception:  # an unparsable URL: never echo it (it may hold a password)
        return "(unparsable database URL)"


def _naive_utc(moment: str | None) -> datetime:
    at = datetime.fromisoformat(moment) if moment else datetime.now(UTC)
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _user() -> str:
    """Who changed the switch: `user@host` (a stop on a shared machine or cluster names the machine too)."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname() or 'unknown-host'}"
