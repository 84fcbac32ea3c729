"""`huracan health`: is everything the night needs reachable, and how fast.

Checks (each with a bounded timeout, each returning healthy / unhealthy / not_applicable and a latency):
- `database`: the Brain Library (`Settings.database_url`): reachable, and whole: its Alembic revision is
  one this engine knows and, at the head, every table of the schema exists; a SQLite file also passes
  `PRAGMA quick_check` (bounded in time), so a truncated or overwritten `brain.sqlite` is named as
  corrupt instead of answering `SELECT 1` as healthy;
- `exchange`: the ccxt exchange's server time (`fetch_time`); synthetic and replay markets have none;
- `storage`: a write / read / delete probe of a small file under `{app_folder}/_health/` on the remote;
- `disk`: free space where the engine home lives;
- `ray`: a TCP connect to the configured Ray address (none: the night starts its own local Ray);
- `telegram` (with `telegram.enabled`): the Bot API's `getMe` through python-telegram-bot, the client the
  night's notifier uses, at `telegram.api_url` (a wrong token answers 401 and is named as such);
- extra checks handed in by the caller (the Dagster daemon heartbeat lives in huracan_dagster: this
  package never imports Dagster).

Writes the seed's `monitoring/health_check_YYYYMMDD.json` (the full report), `monitoring/system_status.json`
(one status per component), `monitoring/performance_metrics.json` (the latencies and disk numbers) and the
seed's monitoring JSON (`huracan_core.monitoring`: component, error_rate, data_gaps, model_load_time_ms).
Error texts are scrubbed of every configured secret (a database URL may hold a password).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from huracan_core import atomic
from huracan_core.config import Settings

Status = Literal["healthy", "unhealthy", "not_applicable"]
TIMEOUT_S = 5.0
MIN_FREE_BYTES = 2 * 1024**3
MIN_FREE_FRACTION = 0.05
QUICK_CHECK_S = 30.0  # a quick_check of a big brain still running after this is reported, not waited for


class BrainIntegrityError(RuntimeError):
    """The Brain Library answers but is not whole (corrupt file, unknown revision, missing tables)."""


@dataclass
class CheckResult:
    name: str
    status: Status
    detail: str
    latency_ms: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


@dataclass
class HealthReport:
    checked_at: str
    checks: list[CheckResult]

    @property
    def healthy(self) -> bool:
        return all(c.status != "unhealthy" for c in self.checks)

    @property
    def unhealthy(self) -> list[str]:
        return [c.name for c in self.checks if c.status == "unhealthy"]

    def to_json(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at,
            "healthy": self.healthy,
            "unhealthy": self.unhealthy,
            "checks": [asdict(c) for c in self.checks],
        }


def _timed(name: str, probe: Callable[[], tuple[str, dict[str, Any]]], secrets: Iterable[str]) -> CheckResult:
    """Run `probe` (returns detail, metrics); an exception makes the check unhealthy with its message."""
    from huracan_core.notify.telegram import scrub

    started = time.perf_counter()
    try:
        detail, metrics = probe()
    except Exception as exc:  # noqa: BLE001 - any failure of a probe is the answer, not a crash
        text = scrub(f"{type(exc).__name__}: {exc}", secrets)
        return CheckResult(
            name,
            "unhealthy",
            text.strip().splitlines()[0][:500] if text.strip() else type(exc).__name__,
            round((time.perf_counter() - started) * 1000, 2),
        )
    return CheckResult(name, "healthy", detail, round((time.perf_counter() - started) * 1000, 2), metrics)


def check_database(settings: Settings, secrets: Iterable[str] = ()) -> CheckResult:
    def probe() -> tuple[str, dict[str, Any]]:
        from sqlalchemy.engine import make_url

        url = make_url(settings.database_url)
        if url.get_backend_name() == "sqlite":
            return _check_sqlite(Path(url.database or ""))
        return _check_server(settings.database_url)

    result = _timed("database", probe, secrets)
    if result.status == "unhealthy" and not result.detail.startswith(BrainIntegrityError.__name__):
        result.detail = f"Brain Library unreachable: {result.detail}"
    elif result.status == "unhealthy":
        result.detail = result.detail.removeprefix(f"{BrainIntegrityError.__name__}: ")
    return result


def _schema_verdict(where: str, revision: str | None, tables: set[str]) -> tuple[str, dict[str, Any]]:
    """The Brain Library's schema against this engine's migrations: healthy detail, or raise."""
    from huracan_core.brain.db import _known_revisions, head_revision
    from huracan_core.brain.models import Base

    head = head_revision()
    metrics: dict[str, Any] = {"revision": revision, "head": head, "tables": len(tables)}
    if revision is None:
        if tables - {"alembic_version"}:
            raise BrainIntegrityError(
                f"Brain Library {where} has {len(tables)} tables but no Alembic revision (alembic_version "
                "is empty or gone): it cannot be upgraded safely"
            )
        return f"{where}: no schema yet (the next night creates it)", metrics
    if revision not in _known_revisions():
        raise BrainIntegrityError(
            f"Brain Library {where} is at schema revision {revision}, unknown to this engine (head {head}): "
            "a newer engine migrated it, or alembic_version is damaged"
        )
    if revision != head:
        return f"{where}: schema revision {revision}, behind {head} (upgraded at the next open)", metrics
    missing = sorted(set(Base.metadata.tables) - tables)
    if missing:
        raise BrainIntegrityError(
            f"Brain Library {where} is at revision {revision} but lacks table(s) {', '.join(missing)}"
        )
    return f"{where}: schema revision {revision} (head), {len(tables)} tables", metrics


def _check_sqlite(path: Path) -> tuple[str, dict[str, Any]]:
    """Read-only (a missing file is not created): the file's integrity, then its schema."""
    import sqlite3

    if not path.exists():
        return f"sqlite at {path}: not created yet (the first night creates it)", {}
    started = time.monotonic()
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=TIMEOUT_S)
    except sqlite3.Error as exc:
        raise RuntimeError(f"cannot open {path}: {exc}") from exc
    try:
        conn.set_progress_handler(lambda: int(time.monotonic() - started > QUICK_CHECK_S), 10_000)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA quick_check(20)")]
            finished = True
        except sqlite3.OperationalError as exc:
            if "interrupted" not in str(exc):
                raise BrainIntegrityError(
                    f"Brain Library {path} is corrupt: quick_check failed: {exc}"
                ) from exc
            rows, finished = [], False
        except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
            raise BrainIntegrityError(f"Brain Library {path} is corrupt: {exc}") from exc
        if finished and rows != ["ok"]:
            raise BrainIntegrityError(
                f"Brain Library {path} is corrupt: quick_check found {len(rows)} problem(s), first: {rows[0]}"
            )
        conn.set_progress_handler(None, 0)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            revision = None
            if "alembic_version" in tables:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
        except sqlite3.DatabaseError as exc:
            raise BrainIntegrityError(f"Brain Library {path} is corrupt: {exc}") from exc
    finally:
        conn.close()
    detail, metrics = _schema_verdict(f"sqlite at {path}", revision, tables)
    metrics["quick_check_ms"] = round((time.monotonic() - started) * 1000, 2)
    if not finished:
        detail += f"; quick_check stopped after {QUICK_CHECK_S:g} s with no problem found so far"
    else:
        detail += "; quick_check ok"
    return detail, metrics


def _check_server(database_url: str) -> tuple[str, dict[str, Any]]:
    """A database server (PostgreSQL): reachable within the timeout, then its schema."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.engine import make_url

    from huracan_core.brain.db import normalise_url

    url = make_url(normalise_url(database_url))
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = int(TIMEOUT_S)
    engine = create_engine(url, connect_args=connect_args, poolclass=None)
    try:
        with engine.connect() as conn:
            value = conn.execute(text("SELECT 1")).scalar()
            if value != 1:
                raise RuntimeError(f"SELECT 1 answered {value!r}")
            revision = MigrationContext.configure(conn).get_current_revision()
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    where = f"{url.get_backend_name()} at {url.render_as_string(hide_password=True)}"
    return _schema_verdict(where, revision, tables)


def check_exchange(settings: Settings, secrets: Iterable[str] = ()) -> CheckResult:
    if settings.market.source != "ccxt":
        return CheckResult(
            "exchange", "not_applicable", f"market.source is {settings.market.source}: no exchange to reach"
        )

    def probe() -> tuple[str, dict[str, Any]]:
        from huracan_core.market.ccxt_source import CcxtMarket

        exchange = CcxtMarket(settings.market.model_copy(update={"request_timeout_s": TIMEOUT_S})).exchange
        sent = time.time()
        server_ms = exchange.fetch_time()
        skew_ms = server_ms - (sent * 1000) if server_ms else None
        return f"{settings.market.exchange_id} server time answered", {"clock_skew_ms": skew_ms}

    return _timed("exchange", probe, secrets)


def check_storage(settings: Settings, secrets: Iterable[str] = ()) -> CheckResult:
    from huracan_core.storage import StorageError, build_storage

    try:
        storage = build_storage(settings.storage)
    except StorageError as exc:
        return CheckResult("storage", "unhealthy", str(exc)[:500])
    if storage is None:
        return CheckResult(
            "storage", "not_applicable", "no remote storage configured (storage.remote_dir unset)"
        )

    def probe() -> tuple[str, dict[str, Any]]:
        key = f"{settings.storage.app_folder}/_health/probe-{uuid.uuid4().hex[:12]}.txt"
        payload = f"huracan health probe {datetime.now(UTC).isoformat()}\n".encode()
        with tempfile.TemporaryDirectory() as tmp:
            src, back = Path(tmp) / "probe.txt", Path(tmp) / "back.txt"
            src.write_bytes(payload)
            t0 = time.perf_counter()
            storage.put(key, src)
            t1 = time.perf_counter()
            if not storage.get(key, back) or back.read_bytes() != payload:
                raise RuntimeError(f"the probe {key} read back different bytes")
            t2 = time.perf_counter()
            if not storage.delete(key):
                raise RuntimeError(f"the probe {key} could not be deleted")
            t3 = time.perf_counter()
        return f"{storage.name}: wrote, read back and deleted {key}", {
            "write_ms": round((t1 - t0) * 1000, 2),
            "read_ms": round((t2 - t1) * 1000, 2),
            "delete_ms": round((t3 - t2) * 1000, 2),
        }

    return _timed("storage", probe, secrets)


def check_disk(settings: Settings) -> CheckResult:
    where = Path(settings.home)
    while not where.exists() and where != where.parent:
        where = where.parent
    usage = shutil.disk_usage(where)
    metrics = {
        "free_bytes": usage.free,
        "total_bytes": usage.total,
        "free_fraction": round(usage.free / usage.total, 4),
    }
    detail = f"{usage.free / 1024**3:.1f} GiB free of {usage.total / 1024**3:.1f} GiB at {where}"
    low = usage.free < MIN_FREE_BYTES or usage.free / usage.total < MIN_FREE_FRACTION
    if low:
        detail += f" (below {MIN_FREE_BYTES / 1024**3:.0f} GiB or {MIN_FREE_FRACTION:.0%})"
    return CheckResult("disk", "unhealthy" if low else "healthy", detail, None, metrics)


def check_ray(settings: Settings, address: str | None = None) -> CheckResult:
    address = address or settings.ray.address
    if not address or address == "auto":
        return CheckResult("ray", "not_applicable", "no ray.address: each night starts a local Ray")

    def probe() -> tuple[str, dict[str, Any]]:
        parts = urlsplit(address if "://" in address else f"tcp://{address}")
        host, port = parts.hostname or "127.0.0.1", parts.port or (10001 if parts.scheme == "ray" else 6379)
        with socket.create_connection((host, port), timeout=TIMEOUT_S):
            pass
        return f"Ray at {host}:{port} accepts connections", {}

    return _timed("ray", probe, ())


def check_telegram(settings: Settings, secrets: Iterable[str] = ()) -> CheckResult:
    """`getMe` against the configured Bot API, through the same client (python-telegram-bot) as the night."""
    tg = settings.telegram
    if not tg.enabled:
        return CheckResult("telegram", "not_applicable", "telegram.enabled is false: no messages are sent")
    token = tg.token.get_secret_value() if tg.token else ""  # Settings require it when enabled

    def probe() -> tuple[str, dict[str, Any]]:
        import asyncio

        from telegram import Bot
        from telegram.error import InvalidToken
        from telegram.request import HTTPXRequest

        timeout = min(TIMEOUT_S, tg.timeout_s)
        request = HTTPXRequest(
            connection_pool_size=1,
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            pool_timeout=timeout,
        )
        kwargs = {"base_url": tg.api_url} if tg.api_url else {}
        bot = Bot(token, request=request, **kwargs)

        async def get_me() -> Any:
            async with bot:  # initialize() itself calls getMe
                return bot.bot

        try:
            me = asyncio.run(asyncio.wait_for(get_me(), timeout * 2 + 1))
        except InvalidToken as exc:
            raise RuntimeError(f"the Bot API refused telegram.token (getMe: {exc})") from None
        where = urlsplit(tg.api_url).netloc if tg.api_url else "api.telegram.org"
        return f"bot @{me.username} (id {me.id}) answered getMe at {where}", {"bot_id": me.id}

    return _timed("telegram", probe, secrets)


def run_health(
    settings: Settings, extra: Iterable[Callable[[], CheckResult]] = (), *, ray_address: str | None = None
) -> HealthReport:
    from huracan_core.notify.telegram import secret_values

    secrets = secret_values(settings)
    checks = [
        check_database(settings, secrets),
        check_exchange(settings, secrets),
        check_storage(settings, secrets),
        check_disk(settings),
        check_ray(settings, ray_address),
        check_telegram(settings, secrets),
    ]
    checks += [fn() for fn in extra]
    return HealthReport(datetime.now(UTC).isoformat(timespec="seconds"), checks)


def write_health(settings: Settings, report: HealthReport) -> list[Path]:
    """The seed's monitoring files, written atomically under `monitoring/`: the three of the report and
    the monitoring JSON (`huracan_core.monitoring`)."""
    from huracan_core.monitoring import health_monitoring, write_monitoring
    from huracan_core.paths import EngineHome

    folder = Path(settings.home) / "monitoring"
    stamp = datetime.fromisoformat(report.checked_at)
    status = {
        "checked_at": report.checked_at,
        "status": "healthy" if report.healthy else "unhealthy",
        "components": {c.name: c.status for c in report.checks},
        "unhealthy": report.unhealthy,
    }
    perf = {
        "checked_at": report.checked_at,
        "latency_ms": {c.name: c.latency_ms for c in report.checks if c.latency_ms is not None},
        "metrics": {c.name: c.metrics for c in report.checks if c.metrics},
    }
    return [
        atomic.write_json(folder / f"health_check_{stamp:%Y%m%d}.json", report.to_json()),
        atomic.write_json(folder / "system_status.json", status),
        atomic.write_json(folder / "performance_metrics.json", perf),
        *write_monitoring(
            EngineHome(Path(settings.home)), health_monitoring(settings, report.checks, report.checked_at)
        ),
    ]
