"""Connecting to the Brain Library and keeping its schema at the code's Alembic head.

PostgreSQL (production) gets a pool of 2 to 10 connections through psycopg 3; SQLite (the embedded default,
`brain.sqlite` in the engine home) gets a file with foreign keys on and a busy timeout. `open_brain` upgrades
a database that is behind the code, and refuses one that is ahead (a newer engine migrated it): downgrading
data silently would lose it, and writing with an older schema would corrupt it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect

from huracan_core.config import Settings

MIGRATIONS = Path(str(files("huracan_core.brain") / "migrations"))


class BrainSchemaError(RuntimeError):
    """The database's schema revision cannot be used by this code (named in the message)."""


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


def make_engine(url: str) -> Engine:
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
    return create_engine(
        url,
        pool_size=2,
        max_overflow=8,
        pool_pre_ping=True,
        pool_timeout=30,
        connect_args={"connect_timeout": 10} if url.startswith("postgresql") else {},
    )


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


def _known_revisions() -> set[str]:
    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


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


def open_brain(settings: Settings | str) -> Engine:
    """An engine at the code's schema head: upgraded when behind, refused (BrainSchemaError) when ahead."""
    url = settings if isinstance(settings, str) else settings.database_url
    engine = make_engine(url)
    status = schema_status(engine)
    if status.state != "current":
        upgrade(engine)
    return engine
