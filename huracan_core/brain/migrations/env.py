"""Alembic environment of the Brain Library: the URL comes from `Settings.database_url` (or a connection
handed in by `huracan_core.brain.db`), never from a file, so no password sits in alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from huracan_core.brain.models import Base

target_metadata = Base.metadata


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from huracan_core.brain.db import normalise_url
    from huracan_core.config import load_settings

    return normalise_url(load_settings().database_url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config({"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if getattr(context, "config", None) is not None:  # run by Alembic; a plain import (tests, tools) does nothing
    if context.is_offline_mode():
        run_migrations_offline()
    else:
        run_migrations_online()
