"""`night_services(settings, day)`: what runs around one `huracan run` night, outside the graph.

On entry, first thing: the remote's dated folder and the config snapshot (secrets masked), the start
milestone, then two bounded background threads: the sync cadences (`SyncWorker`) and a watcher of the
day's ledger that turns coin outcomes into milestones ("Training SYMBOL (i/N)", "Model trained: ...",
failure alerts). On exit: the end summary ("N models, k passed, m failed") or a failure alert, a final
sync, the verify step, and a report of what was not delivered or not synced. Nothing here can fail the
night: every remote or Telegram problem is caught, retried where worth it, and reported.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from huracan_core import atomic
from huracan_core.config import Settings
from huracan_core.ledger import TERMINAL, CoinEntry, RunLedger
from huracan_core.logs import get_logger
from huracan_core.notify.telegram import Notifier, Undelivered, build_notifier
from huracan_core.paths import EngineHome
from huracan_core.storage import StorageError, build_storage
from huracan_core.storage.sync import NightSync, SyncWorker, VerifyReport, write_sync_report

log = get_logger("huracan.night")
WATCH_EVERY_S = 0.5


def _num(value: object, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "n/a"


class Milestones:
    """Turn the ledger's coin outcomes into messages, each once, in the order they happen."""

    def __init__(self, notifier: Notifier, home: EngineHome, day: date) -> None:
        self.notifier = notifier
        self.ledger = RunLedger(home, day)
        self.day = day
        self.training: list[str] = []  # coins announced as training, in order
        self.done: set[str] = set()
        self._baseline: dict[str, tuple[str, str | None, str | None]] = {}
        self._lock = threading.Lock()
        try:
            # outcomes already in the ledger before this run (a rerun of the date) are not news
            for sym, entry in self.ledger.entries().items():
                self._baseline[sym] = (entry.status, entry.stage, entry.ended_at)
        except (ValueError, OSError):
            pass

    def _old(self, sym: str, entry: CoinEntry) -> bool:
        return (
            self._baseline.get(sym) == (entry.status, entry.stage, entry.ended_at)
            and entry.status in TERMINAL
        )

    def poll(self) -> None:
        with self._lock:
            try:
                entries = self.ledger.entries()
            except (ValueError, OSError):
                return  # mid-write or unreadable: the next poll sees it
            total = len(entries)
            for sym in sorted(entries, key=lambda s: (entries[s].started_at or "~", s)):
                entry = entries[sym]
                if sym in self.done or self._old(sym, entry):
                    continue
                at_model = entry.stage == "model"
                if at_model and entry.status in ("running", *TERMINAL) and sym not in self.training:
                    self.training.append(sym)
                    self.notifier.send(f"Training {sym} ({len(self.training)}/{total})")
                if entry.status not in TERMINAL:
                    continue
                self.done.add(sym)
                m = entry.metrics or {}
                if entry.status == "success":
                    gates = "passed the gates" if m.get("gates_passed") else "failed the gates"
                    self.notifier.send(
                        f"Model trained: {sym} Sharpe {_num(m.get('sharpe'))}, win rate "
                        f"{_num(m.get('hit_rate'))} ({gates})"
                    )
                elif entry.status == "skipped":
                    self.notifier.send(f"Model skipped: {sym}: {entry.reason or 'no reason given'}")
                else:
                    self.notifier.send(
                        f"FAILED: {sym} at {entry.stage or 'unknown stage'}: "
                        f"{(entry.error or 'no error recorded')[:500]}"
                    )

    def summary(self) -> str:
        entries = self.ledger.entries()
        passed = sum(
            1 for e in entries.values() if e.status == "success" and (e.metrics or {}).get("gates_passed")
        )
        failed = sum(1 for e in entries.values() if e.status == "failed")
        return f"Huracan {self.day}: {len(entries)} models, {passed} passed, {failed} failed"


@dataclass
class NightServices:
    settings: Settings
    day: date
    notifier: Notifier
    milestones: Milestones
    sync: NightSync | None = None
    worker: SyncWorker | None = None
    problems: list[str] = field(default_factory=list)
    failure: str | None = None
    undelivered: list[Undelivered] = field(default_factory=list)
    verify: VerifyReport | None = None

    def failed(self, message: str) -> None:
        """The CLI's failures (a failed daily step, an unexpected error): alert now."""
        self.failure = message
        self.notifier.send(f"Huracan {self.day} FAILED: {message[:1000]}")

    def report_lines(self) -> list[str]:
        lines = []
        if self.undelivered:
            lines.append(f"telegram: {len(self.undelivered)} message(s) not delivered:")
            lines += [f"  - {u.text[:120]!r}: {u.reason}" for u in self.undelivered]
        if self.verify is not None:
            lines += self.verify.report_lines()  # with the remote down: one line with the reason
        lines += [f"remote storage: {p}" for p in self.problems]
        return lines


def _echo(line: str) -> None:
    sys.stderr.write(line + "\n")


@contextmanager
def night_services(
    settings: Settings, day: date, *, echo: Callable[[str], None] = _echo
) -> Iterator[NightServices]:
    home = EngineHome(Path(settings.home))
    notifier = build_notifier(settings)
    services = NightServices(settings, day, notifier, Milestones(notifier, home, day))
    try:
        storage = build_storage(settings.storage)
    except StorageError as exc:
        storage = None
        services.problems.append(f"remote not available: {exc}")
    if storage is not None:
        services.sync = NightSync(settings, day, storage)
        services.problems += services.sync.start_night()
        services.worker = SyncWorker(services.sync).start()
    remote = f"{storage.name} remote" if storage is not None else "no remote storage"
    notifier.send(
        f"Huracan {day} started: {settings.market.source} market, {settings.market.timeframe} bars, {remote}"
    )
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(WATCH_EVERY_S):
            services.milestones.poll()

    watcher = threading.Thread(target=watch, name="huracan-milestones", daemon=True)
    watcher.start()
    try:
        yield services
    except BaseException as exc:
        is_exit = hasattr(exc, "exit_code") or isinstance(exc, SystemExit)  # typer/click Exit, sys.exit
        code = getattr(exc, "exit_code", getattr(exc, "code", 1))
        if services.failure is None and (not is_exit or code not in (0, None)):
            services.failed(f"ended with exit status {code}" if is_exit else f"{type(exc).__name__}: {exc}")
        raise
    finally:
        stop.set()
        watcher.join(timeout=5)
        services.milestones.poll()
        services.notifier.send(services.milestones.summary())
        # Telegram first: its warnings about undelivered messages must land in the log before the final sync
        services.undelivered = services.notifier.close(timeout_s=max(10.0, settings.telegram.timeout_s * 3))
        if services.undelivered:
            atomic.write_json(
                home.root / "monitoring" / f"notify_{day:%Y%m%d}.json",
                {
                    "date": day.isoformat(),
                    "written_at": datetime.now(UTC).isoformat(),
                    "undelivered": [{"text": u.text, "reason": u.reason} for u in services.undelivered],
                },
            )
        if services.worker is not None and services.sync is not None:
            final, services.verify = services.worker.stop()
            problems = services.problems + [f"{k}: {v}" for k, v in services.sync.failures.items()]
            write_sync_report(services.sync, final, services.verify, problems)
            services.sync.sync_group("outputs", quiet=True)  # the report itself
        for line in services.report_lines():
            echo(line)
