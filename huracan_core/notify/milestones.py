"""The night's services as the steps of the night use them, whoever launched the step (the schedule under
the daemon, a UI backfill, `huracan run`): Telegram milestones, the remote's dated folder and config
snapshot, the sync while training runs, and the end of the night (summary, final sync, verify, report).

Why inside the steps and not around one command: a night carried by Dagster's automation has no process
that lives from its first step to its last, so each step sends its own news and the last step (`exports`)
closes the night. Nothing here can fail a step: every remote or Telegram problem is caught, bounded and
reported (in the step's log, `monitoring/notify_YYYYMMDD.json` and `monitoring/sync_YYYYMMDD.json`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from huracan_core import atomic
from huracan_core.config import Settings
from huracan_core.ledger import CoinEntry
from huracan_core.logs import get_logger
from huracan_core.notify.telegram import Notifier, Undelivered, build_notifier
from huracan_core.paths import EngineHome
from huracan_core.storage import StorageError, build_storage
from huracan_core.storage.sync import NightSync, SyncWorker, VerifyReport, write_sync_report

log = get_logger("huracan.night")


def _num(value: object, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) and not isinstance(value, bool) else "n/a"


def started_text(settings: Settings, day: date, remote: str) -> str:
    return (
        f"Huracan {day} started: {settings.market.source} market, {settings.market.timeframe} bars, {remote}"
    )


def training_text(symbol: str, index: int, total: int) -> str:
    return f"Training {symbol} ({index}/{total})"


def trained_text(symbol: str, metrics: dict) -> str:
    gates = "passed the gates" if metrics.get("gates_passed") else "failed the gates"
    return (
        f"Model trained: {symbol} Sharpe {_num(metrics.get('sharpe'))}, win rate "
        f"{_num(metrics.get('hit_rate'))} ({gates})"
    )


def skipped_text(symbol: str, reason: str | None) -> str:
    return f"Model skipped: {symbol}: {reason or 'no reason given'}"


def failed_text(symbol: str, stage: str, error: str | None) -> str:
    return f"FAILED: {symbol} at {stage}: {(error or 'no error recorded')[:500]}"


def summary_text(day: date, entries: dict[str, CoinEntry]) -> str:
    passed = sum(
        1 for e in entries.values() if e.status == "success" and (e.metrics or {}).get("gates_passed")
    )
    failed = sum(1 for e in entries.values() if e.status == "failed")
    return f"Huracan {day}: {len(entries)} models, {passed} passed, {failed} failed"


def _record_undelivered(home: EngineHome, day: date, undelivered: list[Undelivered]) -> None:
    path = home.root / "monitoring" / f"notify_{day:%Y%m%d}.json"
    try:
        earlier = atomic.read_json(path).get("undelivered", []) if path.is_file() else []
    except (OSError, ValueError):
        earlier = []
    atomic.write_json(
        path,
        {
            "date": day.isoformat(),
            "written_at": datetime.now(UTC).isoformat(),
            "undelivered": [*earlier, *({"text": u.text, "reason": u.reason} for u in undelivered)],
        },
    )


@contextmanager
def notices(
    settings: Settings, day: date, *, warn: Callable[[str], None] = log.warning
) -> Iterator[Notifier]:
    """A notifier for one step: messages are sent in the background as the step goes, and on leaving the
    step whatever could not be delivered within a bounded time is reported (`warn`) and recorded."""
    notifier = build_notifier(settings)
    try:
        yield notifier
    finally:
        undelivered = notifier.close(timeout_s=max(10.0, settings.telegram.timeout_s * 3))
        for item in undelivered:
            warn(f"telegram message not delivered: {item.text[:120]!r}: {item.reason}")
        if undelivered:
            _record_undelivered(EngineHome(Path(settings.home)), day, undelivered)


def night_sync(settings: Settings, day: date) -> tuple[NightSync | None, list[str]]:
    """The night's sync against the configured remote (None when there is none), and any problem met."""
    try:
        storage = build_storage(settings.storage)
    except StorageError as exc:
        return None, [f"remote not available: {exc}"]
    return (NightSync(settings, day, storage) if storage is not None else None), []


def start_night(settings: Settings, day: date, notifier: Notifier) -> list[str]:
    """The night's first step: the remote's dated folder and config snapshot, then the start milestone."""
    sync, problems = night_sync(settings, day)
    if sync is not None:
        problems += sync.start_night()
    remote = f"{sync.storage.name} remote" if sync is not None else "no remote storage"
    notifier.send(started_text(settings, day, remote))
    return problems


@contextmanager
def syncing(settings: Settings, day: date) -> Iterator[NightSync | None]:
    """Mirror the engine home at the configured cadences while a long step runs (training), so a crash
    loses at most one cadence; the pass in flight ends when the step does."""
    sync, problems = night_sync(settings, day)
    for problem in problems:
        log.warning("remote storage", problem=problem)
    if sync is None:
        yield None
        return
    worker = SyncWorker(sync).start()
    try:
        yield sync
    finally:
        worker.stop()  # the last cadence pass and a full pass: what the step wrote is on the remote


@dataclass
class NightEnd:
    summary: str
    sync: NightSync | None = None
    verify: VerifyReport | None = None
    lines: list[str] = field(default_factory=list)


def finish_night(
    settings: Settings, day: date, entries: dict[str, CoinEntry], notifier: Notifier
) -> NightEnd:
    """The night's last step: the end summary, a final sync of every group, the verify, the sync report."""
    end = NightEnd(summary_text(day, entries))
    notifier.send(end.summary)
    sync, problems = night_sync(settings, day)
    end.sync = sync
    if sync is not None:
        if sync.night_started is None:
            problems += sync.start_night()
        final = sync.sync_all(quiet=True)
        end.verify = sync.verify()
        problems += [f"{k}: {v}" for k, v in sync.failures.items()]
        write_sync_report(sync, final, end.verify, problems)
        sync.sync_group("outputs", quiet=True)  # the report itself
        end.lines += end.verify.report_lines()
    end.lines += [f"remote storage: {p}" for p in problems]
    return end
