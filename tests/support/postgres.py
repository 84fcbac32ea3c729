"""The test PostgreSQL at 127.0.0.1:5432 (trust auth): one fresh database per test, dropped afterwards.

Shared by the Brain Library tests (a SQLAlchemy URL) and the Dagster-on-PostgreSQL tests (the
DAGSTER_PG_* variables the repository's dagster.yaml reads); both skip cleanly when no server answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def pg_admin():  # type: ignore[no-untyped-def]
    """A connection to the `postgres` database of the server; skips the test when none answers."""
    psycopg = pytest.importorskip("psycopg")
    try:
        return psycopg.connect(dbname="postgres", connect_timeout=3, autocommit=True, **PG)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server answers at {PG['host']}:{PG['port']} ({exc})")


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """The name of a new, empty database, dropped WITH (FORCE) at the end."""
    db = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield db
    finally:
        with pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
