"""A Brain Library outage shorter than `database.outage_wait_s` is waited out (opening, a pooled engine's
next write, a transaction cut halfway); a longer one fails with one line naming the database and never
its password. The real PostgreSQL at 127.0.0.1:5432, behind a TCP proxy the tests cut."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from huracan_core.brain.models import KillSwitchEvent
from huracan_core.config import Settings
from tests.support.postgres import PG, fresh_database, pg_admin
from tests.support.tcp_proxy import TcpProxy

SECRET = "pw-outage-s3cret"  # trust auth ignores it; it must never show in a message


@pytest.fixture
def proxied() -> Iterator[tuple[TcpProxy, str, str]]:
    """(proxy, URL through it with a password, database name) of a fresh PostgreSQL database."""
    with fresh_database("huracan_outage") as db, TcpProxy(PG["host"], PG["port"]) as proxy:
        yield proxy, f"postgresql+psycopg://{PG['user']}:{SECRET}@127.0.0.1:{proxy.port}/{db}", db


def _event() -> dict:
    return {"at": datetime(2026, 1, 1), "state": "on", "reason": "outage test", "who": "test"}


def _events(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(KillSwitchEvent)).scalar_one())


def test_a_short_outage_is_waited_out_opening_and_writing(proxied) -> None:  # type: ignore[no-untyped-def]
    from huracan_core.brain.db import open_brain

    proxy, url, _db = proxied
    engine = open_brain(url, outage_wait_s=30)  # the schema, created while the database answers
    assert _events(engine) == 0  # a pooled connection now exists

    proxy.cut_for(3.0)  # the database goes away for 3 s
    started = time.monotonic()
    other = open_brain(url, outage_wait_s=30)
    opened_after = time.monotonic() - started
    assert 2.5 <= opened_after < 15, opened_after
    other.dispose()

    proxy.cut_for(3.0)  # the pooled connection dies with it; the next write reconnects, waiting
    started = time.monotonic()
    with engine.begin() as conn:
        conn.execute(KillSwitchEvent.__table__.insert(), [_event()])
    assert 2.5 <= time.monotonic() - started < 15
    assert _events(engine) == 1
    engine.dispose()


def test_a_transaction_cut_halfway_is_redone_whole(proxied) -> None:  # type: ignore[no-untyped-def]
    from huracan_core.brain.db import in_transaction, open_brain

    proxy, url, _db = proxied
    engine = open_brain(url, outage_wait_s=30)
    tries: list[int] = []

    def write(conn) -> None:  # type: ignore[no-untyped-def]
        conn.execute(KillSwitchEvent.__table__.insert(), [_event()])
        tries.append(1)
        if len(tries) == 1:
            proxy.cut_for(2.0)  # the connection dies before the transaction commits
        conn.execute(text("SELECT 1"))

    in_transaction(engine, write, what="record the night")
    assert len(tries) == 2 and _events(engine) == 1  # the first try was rolled back, not doubled
    engine.dispose()


def test_a_longer_outage_fails_in_one_line_naming_the_database(proxied) -> None:  # type: ignore[no-untyped-def]
    from huracan_core.brain.db import BrainUnavailableError, open_brain

    proxy, url, db = proxied
    proxy.cut()
    settings = Settings(database={"url": url, "outage_wait_s": 2})
    started = time.monotonic()
    with pytest.raises(BrainUnavailableError) as info:
        open_brain(settings)
    elapsed = time.monotonic() - started
    assert 2 <= elapsed < 10, elapsed
    message = str(info.value)
    assert "\n" not in message and SECRET not in message, message
    assert f"127.0.0.1:{proxy.port}/{db}" in message and "database.outage_wait_s = 2" in message
    assert proxy.refused >= 2  # it kept trying until the bound


def test_a_pooled_engine_whose_database_stays_away_fails_cleanly(proxied) -> None:  # type: ignore[no-untyped-def]
    from huracan_core.brain.db import BrainUnavailableError, open_brain

    proxy, url, db = proxied
    engine = open_brain(url, outage_wait_s=1.5)
    proxy.cut()
    with (
        pytest.raises(
            BrainUnavailableError, match=f"Brain Library postgresql://postgres@127.0.0.1:{proxy.port}/{db}"
        ),
        engine.begin() as conn,
    ):
        conn.execute(KillSwitchEvent.__table__.insert(), [_event()])
    engine.dispose()


def test_a_wrong_database_is_not_waited_for(tmp_path: Path) -> None:
    from huracan_core.brain.db import BrainUnavailableError, open_brain

    pg_admin().close()  # skips when no server answers
    url = f"postgresql+psycopg://{PG['user']}:{SECRET}@{PG['host']}:{PG['port']}/huracan_no_such_db"
    started = time.monotonic()
    with pytest.raises(BrainUnavailableError, match="huracan_no_such_db.*does not exist") as info:
        open_brain(url, outage_wait_s=30)
    assert time.monotonic() - started < 5 and SECRET not in str(info.value)
    blocker = tmp_path / "brain.sqlite"
    blocker.mkdir()  # a folder where the file should be
    with pytest.raises(BrainUnavailableError, match=str(blocker)):
        open_brain(f"sqlite:///{blocker}")


def test_outage_bound_comes_from_the_settings(proxied) -> None:  # type: ignore[no-untyped-def]
    from huracan_core.brain.db import open_brain, outage_bound

    _proxy, url, _db = proxied
    engine = open_brain(Settings(database={"url": url, "outage_wait_s": 7}))
    assert outage_bound(engine) == 7
    engine.dispose()


def test_an_error_raised_while_handling_a_cut_connection_counts_as_the_outage() -> None:
    """Seen under load: the socket closed while SQLAlchemy set up a new connection, and psycopg answered
    the clean-up with ProgrammingError ("can't change 'autocommit' now"), chained to the OperationalError
    of the cut. That is an outage to wait out; a ProgrammingError of its own (bad SQL) is not."""
    import psycopg
    from sqlalchemy import exc as sa_exc

    from huracan_core.brain.db import is_outage

    cut = psycopg.OperationalError("connection socket closed")
    cleanup = psycopg.ProgrammingError(
        "can't change 'autocommit' now: connection in transaction status ACTIVE"
    )
    cleanup.__cause__ = cut
    wrapped = sa_exc.ProgrammingError("SELECT 1", None, cleanup)
    wrapped.__cause__ = cleanup
    assert is_outage(wrapped)
    bad_sql = sa_exc.ProgrammingError("SELEC 1", None, psycopg.errors.SyntaxError('syntax error at "SELEC"'))
    assert not is_outage(bad_sql)
    try:  # our own bug raised while handling a cut is not an outage to wait out
        try:
            raise cut
        except psycopg.OperationalError:
            raise TypeError("a bug")  # noqa: B904 - the implicit __context__ is the point
    except TypeError as bug:
        assert not is_outage(bug)
