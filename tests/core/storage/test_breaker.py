"""A remote that is down costs the night a bounded time: the circuit breaker opens after a few calls in
a row gave up, then every file, the final passes and the verify step fail at once without network; the
night's report names what was not uploaded and why, the manifest does not count those files as done,
and a later pass (this process after the cooldown, the next night, a rerun) uploads them."""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from huracan_core.config import Settings
from huracan_core.notify.milestones import finish_night, night_sync
from huracan_core.notify.telegram import NullNotifier
from huracan_core.storage import StorageError, TransientStorageError, build_storage
from huracan_core.storage.breaker import CircuitBreaker, RemoteDownError, breaker_of, reset_breakers
from huracan_core.storage.retry import with_retries
from huracan_core.storage.sync import NightSync
from tests.core.storage.conftest import DROPBOX_PORT, dropbox_settings, s3_settings

DAY = date(2026, 11, 20)
MODELS = 40  # model files written after the remote went away (a night has hundreds)
# per call: 2 retries after 0.25-0.5 s and 0.5-1 s (production: 5 retries, up to ~15 s a call)
RETRIES = {"max_retries": 2, "max_retry_wait_s": 5.0}


def _settings(tmp_path: Path, storage: object) -> Settings:
    return Settings(home=tmp_path / "home", storage=storage.model_dump())  # type: ignore[attr-defined]


def _write(home: Path, rel: str, data: bytes) -> None:
    path = home / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _models(n: int) -> list[str]:
    return [f"models/C{i:02d}-USDT/20261121_020000Z/model.bin" for i in range(n)]


@pytest.fixture
def stoppable_dropbox(fake_dropbox) -> Iterator:  # type: ignore[no-untyped-def]
    """The session's fake Dropbox, which a test may stop (connections refused); restarted afterwards
    on the same port (the SDK read its host at import)."""
    yield fake_dropbox
    if fake_dropbox._server is None:
        fake_dropbox.start(DROPBOX_PORT)


@pytest.fixture(params=["dropbox-stopped", "s3-dropping"])
def remote(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    """(settings, take the remote away, bring it back): the Dropbox fake stopped outright, or moto's S3
    behind a proxy that drops every connection."""
    if request.param == "dropbox-stopped":
        server = request.getfixturevalue("stoppable_dropbox")

        def kill() -> None:
            server.down()  # its open keep-alive connections are dropped, as a dying server's are
            server.stop()  # and new ones refused

        def revive() -> None:
            server.start(DROPBOX_PORT)
            server.up()

        return _settings(tmp_path, dropbox_settings(**RETRIES)), kill, revive
    proxy = request.getfixturevalue("s3_proxy")
    storage = s3_settings(proxy, f"b-{uuid.uuid4().hex[:12]}", **RETRIES)
    return _settings(tmp_path, storage), proxy.down, proxy.up


def test_a_dead_remote_costs_the_night_seconds_and_the_next_night_catches_up(remote, tmp_path: Path) -> None:
    settings, kill, revive = remote
    home = Path(settings.home)
    _write(home, "exports/2026-11-20/roster.json", b"[]")
    early, problems = night_sync(settings, DAY)
    assert early is not None and not problems
    early.start_night()
    early.sync_all()  # the remote still answers: what exists so far is uploaded
    assert early.failures == {}
    kill()  # the remote goes away from the model stage on
    for rel in _models(MODELS):
        _write(home, rel, rel.encode() * 50)
    _write(home, "reports/2026-11-20/report.html", b"<html></html>")
    started = time.monotonic()
    # the night's last step: the final pass over every group, the verify step and the sync report
    night = finish_night(settings, DAY, {}, NullNotifier())
    printed = night.lines
    spent = time.monotonic() - started
    # one call's retries (<= 1.5 s) and two single attempts; before the breaker every file of every
    # final pass and of the verify step paid its retries: 40 model files x 3 x ~1.1 s, two minutes
    assert spent < 12, f"the night spent {spent:.1f} s on the dead remote"
    sync = night.sync
    keys = [sync.key(rel) for rel in _models(MODELS)]
    assert set(keys) <= set(sync.failures)
    # the calls before the breaker opened failed with the real error, every later one at once
    assert sum("down since" in sync.failures[k] for k in keys) >= len(keys) - 3
    assert not set(keys) & set(sync._manifest["entries"]), "a failed upload was recorded as done"
    assert set(keys) <= set(sync.pending)
    assert night.verify is not None and night.verify.remote_down and "down since" in night.verify.remote_down
    assert sync.key("exports/2026-11-20/roster.json") not in night.verify.errors  # uploaded before
    assert printed[0].startswith("remote storage: remote ") and "down since" in printed[0], printed
    not_uploaded = re.search(r"(\d+) file\(s\) not uploaded", printed[0])
    assert not_uploaded and int(not_uploaded.group(1)) >= MODELS + 1, printed  # the models and the report
    report = json.loads((home / "monitoring" / "sync_20261120.json").read_text())
    assert set(keys) <= set(report["failed"]) and report["remote_state"]["down"] is True
    assert report["verify"]["remote_down"] and report["pending"] >= MODELS
    manifest = json.loads(sync.manifest_path.read_text())
    assert set(keys) <= set(manifest["pending"]) and not set(keys) & set(manifest["entries"])

    # the next night, a new process, with the remote back: the owed files go up under their own night
    revive()
    reset_breakers()
    storage = build_storage(settings.storage)
    assert storage is not None
    tomorrow = NightSync(settings, DAY + timedelta(days=1), storage)
    tomorrow.start_night()
    uploaded = {k for r in tomorrow.sync_all() for k in r.uploaded}
    assert set(keys) <= uploaded
    assert tomorrow.pending == {}
    check = NightSync(settings, DAY, storage).verify()  # (its scope also takes in tomorrow's snapshot)
    assert not check.errors and not set(keys) & set(check.missing)
    for key, rel in zip(keys, _models(MODELS), strict=True):
        stat = storage.stat(key)
        assert stat is not None and stat.hash == storage.hash_file(home / rel)


def test_the_breaker_refuses_without_network_once_open(fake_dropbox, tmp_path: Path) -> None:
    storage = build_storage(dropbox_settings(max_retries=2, max_retry_wait_s=1.0, breaker_failures=3))
    assert storage is not None
    src = tmp_path / "a.bin"
    src.write_bytes(b"x")
    fake_dropbox.down()
    for attempt in range(3):
        with pytest.raises(StorageError, match="connection to Dropbox failed"):
            storage.put(f"k/{attempt}.bin", src)
    tries = len(fake_dropbox.faults.injected)
    assert tries == 3 + 1 + 1, "full retries for the first call, one attempt each for the next two"
    started = time.monotonic()
    for i in range(100):
        with pytest.raises(RemoteDownError, match=r"remote dropbox down since .* \(3 calls in a row failed"):
            storage.stat(f"k/{i}.bin")
    assert time.monotonic() - started < 1.0
    assert len(fake_dropbox.faults.injected) == tries  # not one more request
    # another Storage of the same remote in this process shares what was learned
    other = build_storage(dropbox_settings(max_retries=2, max_retry_wait_s=1.0, breaker_failures=3))
    with pytest.raises(RemoteDownError):
        other.exists("k/0.bin")  # type: ignore[union-attr]
    assert breaker_of(other) is breaker_of(storage)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_states_suspect_open_probe_and_close() -> None:
    clock = _Clock()
    breaker = CircuitBreaker("dropbox", failures=3, cooldown_s=60, clock=clock)
    calls: list[str] = []
    up = {"value": False}

    def call() -> str:
        calls.append("try")
        if not up["value"]:
            raise TransientStorageError("connection refused")
        return "answer"

    def run() -> str:
        return with_retries(
            "stat k", call, max_retries=4, max_wait_s=1, sleep=lambda _s: None, breaker=breaker
        )

    with pytest.raises(StorageError, match="failed after retries"):
        run()
    assert len(calls) == 5 and breaker.suspect and not breaker.is_open
    for _ in range(2):
        with pytest.raises(StorageError, match="one attempt"):
            run()
    assert len(calls) == 7 and breaker.is_open and breaker.down_message()
    with pytest.raises(RemoteDownError):
        run()
    assert len(calls) == 7
    clock.now = 61  # past the cooldown: one probe, with one attempt; it fails: open for another cooldown
    assert breaker.down_message() is None
    with pytest.raises(StorageError, match="one attempt"):
        run()
    assert len(calls) == 8 and breaker.is_open
    with pytest.raises(RemoteDownError):
        run()
    clock.now = 122
    up["value"] = True
    assert run() == "answer" and not breaker.is_open and not breaker.suspect
    stats = breaker.stats()
    assert stats["failed_calls"] == 4 and stats["refused_calls"] == 2 and stats["down"] is False


def test_a_success_between_failures_keeps_the_breaker_closed() -> None:
    breaker = CircuitBreaker("s3", failures=2, cooldown_s=60)
    outcomes = iter([False, True, False, True, False])

    def call() -> str:
        if not next(outcomes):
            raise TransientStorageError("503")
        return "ok"

    for _ in range(5):
        with contextlib.suppress(StorageError):
            with_retries("stat k", call, max_retries=0, max_wait_s=1, sleep=lambda _s: None, breaker=breaker)
    assert not breaker.is_open and breaker.stats()["failed_calls"] == 3
