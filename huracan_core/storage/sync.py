"""Mirror the engine home to the remote while the night runs, so a crash loses at most one cadence.

Layout (the seed's): the candle cache is shared by every night, once, at `data/candles/...`; everything
else of a night goes under `{app_folder}/YYYY-MM-DD/` with its path in the home (`.../models/BTC-USDT/...`).

Groups and cadences (settings, minutes):
- `learning`  logs/learning/                                         every `sync_learning_minutes`
- `outputs`   logs/, monitoring/, reports/, exports/, runs/, summary/  every `sync_outputs_minutes`
- `models`    models/, champions/, meta/                              every `sync_models_minutes`
- `candles`   data/candles/: all files every `sync_candles_full_minutes`, plus a quick pass every
  `sync_candles_quick_minutes` over files changed in the last `sync_candles_quick_window_minutes`.
Not mirrored: data/features/ and data/quarantine/ (rebuilt from candles), the Dagster instance.

A dated group's scope is the files written since the night first started (the start is remembered per
date, so a rerun or a resumed night keeps the same scope) plus the files already synced for that date.

The manifest (`storage/manifest_<remote>.json`: key → path, size, mtime, sha256, remote hash, rev) means
an unchanged file is never uploaded twice: same size and mtime → skipped without reading it; same sha256
→ skipped; a key the manifest does not know is first asked of the remote (`stat`), so a file the candle
store already uploaded, or a manifest lost with the machine, costs one metadata call, not an upload.
Remote failures are caught per file, reported and retried on the next pass; they never raise.

A remote that is down costs a bounded time: the backends' circuit breaker (storage/breaker.py) opens
after a few calls in a row gave up, and from then on every file of a pass, the final passes and the
verify step are reported as not uploaded ("remote ... down since ...") without network. A file that
failed is never written to the manifest's entries, and it is kept in the manifest's `pending` (key →
home path, night, last error): every later full pass of its group, by this night or any later one
(the next night, the daemon's sync run), uploads it under its own night's key, so the remote catches up.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from huracan_core import atomic
from huracan_core.config import Settings, public_dict
from huracan_core.logs import get_logger
from huracan_core.paths import EngineHome
from huracan_core.storage.base import Storage, StorageError
from huracan_core.storage.breaker import breaker_of

log = get_logger("huracan.storage")

GROUPS: dict[str, tuple[str, ...]] = {
    "learning": ("logs/learning",),
    "outputs": ("logs", "monitoring", "reports", "exports", "runs", "summary"),
    "models": ("models", "champions", "meta"),
    "candles": ("data/candles",),
}
CANDLES = "candles"
MANIFEST_VERSION = 1
SAVE_EVERY = 25  # uploads between manifest saves inside one pass (a kill -9 re-checks at most these)


def remote_identity(settings: Settings) -> str:
    """A short name of the remote the settings point at, so each remote has its own manifest."""
    s = settings.storage
    where = {"local": str(s.remote_dir), "dropbox": "dropbox", "s3": f"{s.s3_endpoint_url}|{s.s3_bucket}"}
    return f"{s.backend}-{hashlib.sha256(where[s.backend].encode()).hexdigest()[:10]}"


def group_of(rel: str) -> str | None:
    """The sync group of a home-relative POSIX path, or None when it is not mirrored."""
    if rel.startswith("logs/learning/"):
        return "learning"
    for name, roots in GROUPS.items():
        if name != "learning" and any(rel.startswith(root + "/") for root in roots):
            return name
    return None


def _skip(path: Path) -> bool:
    return path.name.startswith(".") or path.suffix in (".lock", ".tmp")


@dataclass
class PassResult:
    """What one sync pass did."""

    group: str
    uploaded: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class VerifyReport:
    """The end-of-night check: every local file in scope has a remote copy with the same hash."""

    checked: int = 0
    missing: list[str] = field(default_factory=list)  # no remote copy, or a different hash
    errors: dict[str, str] = field(default_factory=dict)  # the remote could not be asked
    remote_down: str | None = None  # why the remote was not asked at all (its breaker is open)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "ok": self.ok,
            "missing": self.missing,
            "errors": self.errors,
            "remote_down": self.remote_down,
        }

    def report_lines(self, *, listed: int = 50) -> list[str]:
        """What the night prints about the verify step: nothing when every file has its remote copy;
        with the remote down, one line saying so (every file has the same reason) and the files."""
        if self.ok:
            return []
        if self.remote_down:
            keys = [*self.missing, *self.errors]
            lines = [
                f"remote storage: {self.remote_down}: {len(keys)} file(s) not uploaded; they are kept "
                "locally and the next sync pass (a rerun, the next night or the daemon's sync) uploads them:"
            ]
            lines += [f"  - {k}" for k in keys[:listed]]
            if len(keys) > listed:
                lines.append(f"  ... and {len(keys) - listed} more (monitoring/sync_YYYYMMDD.json)")
            return lines
        lines = [
            f"remote storage: {len(self.missing)} file(s) without a matching remote copy, "
            f"{len(self.errors)} not checkable:"
        ]
        lines += [f"  - {k}" for k in self.missing[:listed]]
        lines += [f"  - {k}: {v}" for k, v in list(self.errors.items())[:20]]
        return lines


class NightSync:
    """The sync of one night (`day`) against one remote. Thread-safe: one pass at a time."""

    def __init__(
        self, settings: Settings, day: date, storage: Storage, *, clock: Callable[[], float] = time.time
    ):
        self.settings = settings
        self.day = day
        self.storage = storage
        self.home = EngineHome(Path(settings.home))
        self.clock = clock
        self.app = settings.storage.app_folder
        self.state_dir = self.home.root / "storage"
        self.manifest_path = self.state_dir / f"manifest_{remote_identity(settings)}.json"
        self._lock = threading.RLock()
        self._manifest = self._load_manifest()
        self.uploads: list[str] = []  # every key uploaded by this object, in order
        self.failures: dict[str, str] = {}  # key -> last error, cleared when the key syncs

    # ------------------------------------------------------------------ layout
    def key(self, rel: str) -> str:
        if rel.startswith(GROUPS[CANDLES][0] + "/"):
            return rel
        return f"{self.app}/{self.day.isoformat()}/{rel}"

    @property
    def night_prefix(self) -> str:
        return f"{self.app}/{self.day.isoformat()}"

    # ------------------------------------------------------------------ manifest
    def _load_manifest(self) -> dict[str, Any]:
        try:
            data = atomic.read_json(self.manifest_path)
            if data.get("version") == MANIFEST_VERSION:
                return data
        except (FileNotFoundError, ValueError):
            pass
        return {
            "version": MANIFEST_VERSION,
            "remote": remote_identity(self.settings),
            "entries": {},
            "nights": {},
        }

    def _save_manifest(self) -> None:
        atomic.write_json(self.manifest_path, self._manifest)

    def _night(self) -> dict[str, Any]:
        return self._manifest["nights"].setdefault(self.day.isoformat(), {})

    @property
    def pending(self) -> dict[str, dict[str, Any]]:
        """Keys (of any night) whose upload failed and is still owed: key -> path, night, error, since."""
        return self._manifest.setdefault("pending", {})

    def _owe(self, key: str, rel: str, error: str) -> None:
        owed = self.pending.get(key)
        self.pending[key] = {
            "path": rel,
            "night": owed["night"] if owed else self.day.isoformat(),
            "error": error[:300],
            "since": owed["since"] if owed else datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def remote_down(self) -> str | None:
        """Why the remote is considered down now (its breaker is open), or None."""
        breaker = breaker_of(self.storage)
        return breaker.down_message() if breaker is not None else None

    @property
    def night_started(self) -> float | None:
        return self._night().get("started")

    # ------------------------------------------------------------------ start of the night
    def start_night(self, since: float | None = None) -> list[str]:
        """First thing in the night: the dated folder, then the config snapshot (secrets masked).
        `since` (epoch s, default now) opens the night's scope; a later start of the same date keeps the
        first one. Returns the problems met (the night goes on regardless)."""
        problems: list[str] = []
        with self._lock:
            night = self._night()
            night.setdefault("started", self.clock() if since is None else since)
            self._save_manifest()
            try:
                if not night.get("folder"):  # once per night and remote; a rerun finds it there
                    self.storage.make_folder(self.night_prefix)
                    night["folder"] = True
            except StorageError as exc:
                problems.append(f"dated folder {self.night_prefix}: {exc}")
            snapshot = self.home.root / "monitoring" / f"config_{self.day:%Y%m%d}.json"
            atomic.write_json(
                snapshot,
                {
                    "date": self.day.isoformat(),
                    "written_at": datetime.now(UTC).isoformat(),
                    "settings": public_dict(self.settings),
                },
            )
            self._sync_file(snapshot, PassResult("outputs"))
            if self.failures:
                problems += [f"{k}: {v}" for k, v in self.failures.items()]
            self._save_manifest()
        for problem in problems:
            log.warning("remote storage: night start incomplete", problem=problem)
        return problems

    # ------------------------------------------------------------------ scope
    def files(self, group: str, *, changed_within_s: float | None = None) -> Iterator[Path]:
        """Local files of `group` in this night's scope (see the module docstring)."""
        roots = GROUPS[group]
        since = self.night_started
        known = self._manifest["entries"]
        now = self.clock()
        for root in roots:
            base = self.home.root / root
            if not base.is_dir():
                continue
            for path in sorted(base.rglob("*")):
                if not path.is_file() or _skip(path):
                    continue
                rel = path.relative_to(self.home.root).as_posix()
                if group_of(rel) != group:
                    continue
                try:
                    mtime = path.stat().st_mtime
                except FileNotFoundError:
                    continue
                if changed_within_s is not None and now - mtime > changed_within_s:
                    continue
                if (
                    group != CANDLES
                    and since is not None
                    and mtime < since - 1
                    and self.key(rel) not in known
                ):
                    continue
                yield path

    # ------------------------------------------------------------------ passes
    def sync_group(
        self, group: str, *, changed_within_s: float | None = None, quiet: bool = False
    ) -> PassResult:
        """One pass over `group`; `quiet` logs nothing (a log line would change logs/huracan.jsonl again)."""
        with self._lock:
            started = time.perf_counter()
            result = PassResult(group)
            seen: set[str] = set()
            for path in self.files(group, changed_within_s=changed_within_s):
                seen.add(self._sync_file(path, result))
                if len(result.uploaded) % SAVE_EVERY == 1:
                    self._save_manifest()
            if changed_within_s is None:
                self._catch_up(group, result, seen)
            self._save_manifest()
            result.seconds = time.perf_counter() - started
        if (result.uploaded or result.failed) and not quiet:
            log.info(
                "remote sync pass",
                group=group,
                uploaded=len(result.uploaded),
                unchanged=result.unchanged,
                failed=len(result.failed),
                seconds=round(result.seconds, 3),
                remote=self.storage.name,
            )
        return result

    def sync_all(self, *, quiet: bool = False) -> list[PassResult]:
        return [self.sync_group(g, quiet=quiet) for g in GROUPS]

    def _catch_up(self, group: str, result: PassResult, seen: set[str]) -> None:
        """Upload what earlier passes (of this night or an earlier one) owe the remote for `group`, each
        under the key it failed with; a file gone from the home since is no longer owed."""
        for key, owed in sorted(self.pending.items()):
            rel = owed.get("path", "")
            if key in seen or group_of(rel) != group:
                continue
            path = self.home.root / rel
            if not path.is_file():
                log.warning("a file owed to the remote is gone: no longer owed", key=key, path=rel)
                self.pending.pop(key, None)
                continue
            self._sync_file(path, result, key=key)

    def _sync_file(self, path: Path, result: PassResult, *, key: str | None = None) -> str:
        """Upload `path` under `key` (default: this night's key of it) unless the remote has it; return
        the key. A failure is recorded (result, `failures`, `pending`), never raised."""
        rel = path.relative_to(self.home.root).as_posix()
        key = key or self.key(rel)
        entries = self._manifest["entries"]
        down = self.remote_down()
        if down is not None and not self._is_unchanged(key, path):
            self._failed(key, rel, result, down, quiet=True)  # no network, no hashing: the remote is down
            return key
        try:
            info = path.stat()
            entry = entries.get(key)
            if entry and entry["size"] == info.st_size and entry["mtime_ns"] == info.st_mtime_ns:
                self._done(key, result)
                return key
            sha = atomic.sha256_file(path)
            if entry and entry["sha256"] == sha:
                entry["mtime_ns"] = info.st_mtime_ns
                self._done(key, result)
                return key
            if entry is None:
                remote = self.storage.stat(key)
                if remote is not None and remote.hash == self.storage.hash_file(path):
                    entries[key] = self._entry(rel, info, sha, remote.hash, remote.rev)
                    self._done(key, result)
                    return key
            stored = self.storage.put(key, path)
            entries[key] = self._entry(rel, info, sha, stored.hash, stored.rev)
            result.uploaded.append(key)
            self.uploads.append(key)
            self.failures.pop(key, None)
            self.pending.pop(key, None)
        except FileNotFoundError:
            return key  # replaced or removed while we looked: the next pass sees the new file
        except (StorageError, OSError) as exc:
            self._failed(key, rel, result, str(exc), quiet=self.remote_down() is not None)
        return key

    def _is_unchanged(self, key: str, path: Path) -> bool:
        """The manifest already holds this very file (same size and mtime): nothing to ask the remote."""
        entry = self._manifest["entries"].get(key)
        try:
            info = path.stat()
        except FileNotFoundError:
            return False
        return bool(entry) and entry["size"] == info.st_size and entry["mtime_ns"] == info.st_mtime_ns

    def _done(self, key: str, result: PassResult) -> None:
        result.unchanged += 1
        self.failures.pop(key, None)
        self.pending.pop(key, None)

    def _failed(self, key: str, rel: str, result: PassResult, error: str, *, quiet: bool) -> None:
        result.failed[key] = error
        self.failures[key] = error
        self._owe(key, rel, error)
        if not quiet:  # with the remote down every file has the same reason: the breaker logged it once
            log.warning("remote sync failed for a file (retried next pass)", key=key, error=error[:300])

    @staticmethod
    def _entry(rel: str, info: os.stat_result, sha: str, remote_hash: str, rev: str) -> dict[str, Any]:
        return {
            "path": rel,
            "size": info.st_size,
            "mtime_ns": info.st_mtime_ns,
            "sha256": sha,
            "remote_hash": remote_hash,
            "rev": rev,
            "synced_at": datetime.now(UTC).isoformat(),
        }

    # ------------------------------------------------------------------ verify
    def verify(self) -> VerifyReport:
        """Every local file in scope (all groups) against the remote's own hash of its copy. With the
        remote down, a file the manifest holds unchanged counts as uploaded (it was, before the outage)
        and every other file is reported as not uploaded, without network."""
        report = VerifyReport()
        with self._lock:
            for group in GROUPS:
                for path in self.files(group):
                    key = self.key(path.relative_to(self.home.root).as_posix())
                    report.checked += 1
                    down = self.remote_down()
                    if down is not None:  # the remote is considered down: not asked
                        report.remote_down = down
                        if not self._is_unchanged(key, path):  # uploaded before the outage: trusted
                            report.errors[key] = f"not uploaded: {down}"
                        continue
                    try:
                        remote = self.storage.stat(key)
                        if remote is None or remote.hash != self.storage.hash_file(path):
                            report.missing.append(key)
                    except FileNotFoundError:
                        report.checked -= 1
                    except (StorageError, OSError) as exc:
                        report.errors[key] = str(exc)[:300]
            report.remote_down = report.remote_down or self.remote_down()
        return report


class SyncWorker:
    """The cadences in a background thread (`huracan run`): each group when due, bounded waits, and a
    final full pass plus `verify` on `stop()`."""

    def __init__(self, sync: NightSync, *, tick_s: float | None = None) -> None:
        s = sync.settings.storage
        self.sync = sync
        self.cadence = {
            "learning": s.sync_learning_minutes * 60,
            "outputs": s.sync_outputs_minutes * 60,
            "models": s.sync_models_minutes * 60,
            "candles": s.sync_candles_full_minutes * 60,
            "candles_quick": s.sync_candles_quick_minutes * 60,
        }
        self.quick_window_s = s.sync_candles_quick_window_minutes * 60
        self.tick_s = tick_s if tick_s is not None else max(0.2, min(30.0, min(self.cadence.values()) / 5))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: dict[str, float] = {}
        self.passes: list[PassResult] = []
        self.crashes: list[str] = []

    def start(self) -> SyncWorker:
        now = time.monotonic()
        self._last = dict.fromkeys(self.cadence, now)
        self._thread = threading.Thread(target=self._loop, name="huracan-sync", daemon=True)
        self._thread.start()
        return self

    def _due(self) -> list[tuple[str, float | None]]:
        """(group, changed-within window) of every cadence that came due; a full candle pass due at the
        same tick makes the quick one redundant."""
        now = time.monotonic()
        due = [name for name, every in self.cadence.items() if now - self._last[name] >= every]
        for name in due:
            self._last[name] = now
        if CANDLES in due and "candles_quick" in due:
            due.remove("candles_quick")
        return [(CANDLES, self.quick_window_s) if n == "candles_quick" else (n, None) for n in due]

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_s):
            for group, window in self._due():
                if self._stop.is_set():
                    return
                try:
                    self.passes.append(self.sync.sync_group(group, changed_within_s=window))
                except Exception as exc:  # noqa: BLE001 - the sync must never take the night down
                    self.crashes.append(f"{group}: {type(exc).__name__}: {exc}")
                    log.error("remote sync pass crashed", group=group, error=str(exc)[:300])

    def stop(self, *, join_timeout_s: float = 600.0) -> tuple[list[PassResult], VerifyReport]:
        """Stop the cadences, run one final full pass and the verify step."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=join_timeout_s)
        final = self.sync.sync_all()
        # once more without logging: the first pass's own log lines changed logs/huracan.jsonl
        final += self.sync.sync_all(quiet=True)
        return final, self.sync.verify()


def write_sync_report(
    sync: NightSync, final: list[PassResult], verify: VerifyReport, problems: list[str]
) -> Path:
    """`monitoring/sync_YYYYMMDD.json`: what this night's sync uploaded, what failed, the verify result."""
    path = sync.home.root / "monitoring" / f"sync_{sync.day:%Y%m%d}.json"
    atomic.write_json(
        path,
        {
            "date": sync.day.isoformat(),
            "remote": sync.storage.name,
            "prefix": sync.night_prefix,
            "uploaded": len(sync.uploads),
            "uploaded_keys": sync.uploads[-500:],
            "failed": dict(sync.failures),
            "problems": problems,
            # the remote's breaker: down or not, calls that gave up, calls refused, seconds they cost
            "remote_state": breaker.stats() if (breaker := breaker_of(sync.storage)) is not None else None,
            "pending": len(sync.pending),  # files of this or earlier nights still owed to the remote
            "final_pass": [
                {"group": p.group, "uploaded": len(p.uploaded), "failed": len(p.failed)} for p in final
            ],
            "verify": verify.to_json(),
            "written_at": datetime.now(UTC).isoformat(),
        },
    )
    return path
