"""Connecting to the Brain Library and keeping its schema at the code's Alembic head.

PostgreSQL (production) gets a pool of 2 to 10 connections through psycopg 3; SQLite (the embedded default,
`brain.sqlite` in the engine home) gets a file with foreign keys on and a busy timeout. `open_brain` upgrades
a database that is behind the code, and refuses one that is ahead (a newer engine migrated it): downgrading
data silently would lose it, and writing with an older schema would corrupt it.

A database outage (PostgreSQL restarting, a network cut) shorter than `database.outage_wait_s` is
waited out: every new connection, including the pool's reconnect after a dead one, is retried with
bounded backoff (tenacity), `open_brain` redoes its schema check when a connection dies under it, and
`in_transaction` redoes a whole transaction whose connection was cut (the server rolled it back). A
longer outage raises `BrainUnavailableError`: one line naming the database (host, port and name, or the
SQLite path; never the password) that a command can print as it is. SQLite is a local file: its lock
waits are its busy timeout, and a file that cannot be opened fails at once.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_delay, wait_exponential

from huracan_core.config import Settings
from huracan_core.logs import get_logger

MIGRATIONS = Path(str(files("huracan_core.brain") / "migrations"))
DEFAULT_OUTAGE_WAIT_S = 90.0  # database.outage_wait_s when only a URL is given
# a connection error with one of these is a setting to fix, not an outage to wait out
PERMANENT = (
    "does not exist",
    "password authentication failed",
    "authentication failed",
    "no pg_hba.conf entry",
    "permission denied",
    "invalid dsn",
    "invalid connection option",
)
T = TypeVar("T")
log = get_logger("huracan.brain")
_BOUNDS: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


class BrainSchemaError(RuntimeError):
    """The database's schema revision cannot be used by this code (named in the message)."""


class BrainUnavailableError(RuntimeError):
    """The Brain Library could not be reached within the outage bound, or refused the connection.

    `str()` is one line naming the database (never its password) and the last error's first line."""

    def __init__(self, database: str, reason: str, *, waited_s: float = 0.0, bound_s: float = 0.0) -> None:
        self.database = database
        self.waited_s = waited_s
        first = next((line.strip() for line in reason.splitlines() if line.strip()), reason)[:300]
        if bound_s > 0:
            message = (
                f"Brain Library {database} unreachable for {waited_s:.0f} s "
                f"(longer than database.outage_wait_s = {bound_s:g} s): {first}"
            )
        else:
            message = f"Brain Library {database} cannot be used: {first}"
        super().__init__(message)


def describe_database(url: str) -> str:
    """The database a URL names, for messages: `postgresql://user@host:port/db`, or the SQLite path."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database or ":memory:")
    user = f"{parsed.username}@" if parsed.username else ""
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.get_backend_name()}://{user}{parsed.host or 'localhost'}{port}/{parsed.database or ''}"


def is_outage(exc: BaseException) -> bool:
    """A connection-level failure worth waiting out (refused, reset, server starting or shutting down,
    a connection cut mid-statement), not a wrong setting (unknown database or role, bad password).

    An error raised while handling a cut is the cut: psycopg answers SQLAlchemy's clean-up on a socket
    that closed mid-connect with `ProgrammingError: can't change 'autocommit' now`, chained to the
    OperationalError that closed it, so the chain is followed (a few links)."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None or not _is_database_error(seen):  # a bug in our own code is never waited out
            return False
        if _is_outage_here(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_database_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("sqlalchemy", "psycopg", "psycopg2", "sqlite3")


def _is_outage_here(exc: BaseException) -> bool:
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    name = type(orig).__name__
    if name not in ("OperationalError", "InterfaceError"):
        return False
    text = str(orig).lower()
    if "sqlite" in type(orig).__module__:
        return "database is locked" in text
    return not any(marker in text for marker in PERMANENT)


def _retrying(database: str, bound_s: float, what: str) -> Retrying:
    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "Brain Library unreachable: waiting",
            database=database,
            operation=what,
            attempt=state.attempt_number,
            waited_s=round(state.seconds_since_start or 0.0, 1),
            bound_s=bound_s,
            error=str(exc).strip().splitlines()[0][:200] if exc and str(exc).strip() else type(exc).__name__,
        )

    return Retrying(
        retry=retry_if_exception(is_outage),
        stop=stop_after_delay(bound_s),
        wait=wait_exponential(multiplier=0.25, max=5.0),
        before_sleep=before_sleep,
        reraise=True,
    )


def wait_out_outage(work: Callable[[], T], *, database: str, bound_s: float, what: str) -> T:
    """Run `work`, retried while it fails with an outage (`is_outage`) for at most `bound_s`; then, or on
    a connection refused for good, `BrainUnavailableError`. `work` must be safe to redo whole."""
    started = time.monotonic()
    try:
        return _retrying(database, bound_s, what)(work)
    except BrainUnavailableError:
        raise
    except Exception as exc:
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        waited = time.monotonic() - started
        if is_outage(exc):
            raise BrainUnavailableError(database, str(orig), waited_s=waited, bound_s=bound_s) from exc
        if type(orig).__name__ not in ("OperationalError", "InterfaceError"):
            raise
        if what == "connect" or "unable to open" in str(orig):  # refused for good: a setting to fix
            raise BrainUnavailableError(database, str(orig)) from exc
        raise


def outage_bound(engine: Engine) -> float:
    """The outage bound `engine` was made with (`database.outage_wait_s`)."""
    return _BOUNDS.get(engine, DEFAULT_OUTAGE_WAIT_S)


def in_transaction(engine: Engine, work: Callable[[Connection], T], *, what: str = "transaction") -> T:
    """`work(conn)` in one transaction, redone whole when the connection is cut under it (the server
    rolled the first try back, so nothing is written twice), within the engine's outage bound."""

    def once() -> T:
        with engine.begin() as conn:
            return work(conn)

    database = describe_database(engine.url.render_as_string(hide_password=False))
    return wait_out_outage(once, database=database, bound_s=outage_bound(engine), what=what)


def normalise_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 here (psycopg2 is not installed)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def safe_url(url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str, *, outage_wait_s: float = DEFAULT_OUTAGE_WAIT_S) -> Engine:
    """An engine for `url`; on a database server every new connection waits out an outage of up to
    `outage_wait_s` (then `BrainUnavailableError`)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            # takes effect only on a file with no tables yet: a new brain gets 16 KiB pages (the
            # features table, ~11 M rows after a first night of 200 coins, loads ~10 % faster)
            cur.execute("PRAGMA page_size=16384")
            cur.close()

        return engine
    engine = create_engine(
        url,
        pool_size=2,
        max_overflow=8,
        pool_pre_ping=True,
        pool_timeout=30,
        connect_args={"connect_timeout": 10} if url.startswith("postgresql") else {},
    )
    database = describe_database(url)
    _BOUNDS[engine] = outage_wait_s

    @event.listens_for(engine, "do_connect")
    def _wait_out(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        # every new connection, including the pool's reconnect after pre-ping found a dead one
        return wait_out_outage(
            lambda: dialect.connect(*cargs, **cparams),
            database=database,
            bound_s=outage_wait_s,
            what="connect",
        )

    return engine


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise BrainSchemaError(f"no migration scripts found in {MIGRATIONS}")
    return head


@dataclass(frozen=True)
class SchemaStatus:
    url: str
    current: str | None
    head: str
    tables: int

    @property
    def state(self) -> str:
        if self.current == self.head:
            return "current"
        if self.current is None or self.current in _known_revisions():
            return "behind"
        return "ahead"


def known_revisions() -> set[str]:
    """Every schema revision this engine's migrations know."""
    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


_known_revisions = known_revisions


def schema_status(engine: Engine) -> SchemaStatus:
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
        tables = len(inspect(conn).get_table_names())
    return SchemaStatus(engine.url.render_as_string(hide_password=True), current, head_revision(), tables)


def upgrade(engine: Engine, revision: str = "head") -> SchemaStatus:
    status = schema_status(engine)
    if status.state == "ahead":
        raise BrainSchemaError(
            f"Brain Library {status.url} is at schema revision {status.current}, newer than this engine's head "
            f"{status.head}: a newer Huracan migrated it. Upgrade the engine; it will not write to or downgrade it."
        )
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return schema_status(engine)


def downgrade(engine: Engine, revision: str) -> SchemaStatus:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return schema_status(engine)


def open_brain(settings: Settings | str, *, outage_wait_s: float | None = None) -> Engine:
    """An engine at the code's schema head: upgraded when behind, refused (BrainSchemaError) when ahead.

    An outage shorter than `outage_wait_s` (default `database.outage_wait_s`) is waited out; a longer
    one, or a database that cannot be opened at all, raises `BrainUnavailableError`."""
    url = settings if isinstance(settings, str) else settings.database_url
    if outage_wait_s is None:
        outage_wait_s = (
            DEFAULT_OUTAGE_WAIT_S if isinstance(settings, str) else settings.database.outage_wait_s
        )
    engine = make_engine(url, outage_wait_s=outage_wait_s)

    def at_head() -> None:
        if schema_status(engine).state != "current":
            upgrade(engine)

    try:
        wait_out_outage(at_head, database=describe_database(url), bound_s=outage_wait_s, what="open")
    except BaseException:
        engine.dispose()
        raise
    return engine
