"""Backends under test: a local folder, the real Dropbox SDK against a loopback HTTPS fake, and boto3
against moto's S3 server behind a fault-injecting proxy.

The Dropbox SDK reads its hosts once, at import: this conftest fixes the fake's port and sets
`DROPBOX_API_HOST`/`DROPBOX_API_CONTENT_HOST` before anything imports `dropbox`.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from huracan_core.config import StorageSettings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


DROPBOX_PORT = _free_port()
for _name in ("DROPBOX_API_HOST", "DROPBOX_API_CONTENT_HOST", "DROPBOX_API_NOTIFY_HOST"):
    os.environ[_name] = f"127.0.0.1:{DROPBOX_PORT}"


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    """Each test starts as a new process would: every remote's circuit breaker closed."""
    from huracan_core.storage.breaker import reset_breakers

    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture(scope="session")
def dropbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    from tests.support.fake_dropbox import FakeDropbox

    server = FakeDropbox(tmp_path_factory.mktemp("dropbox-ca"))
    server.start(DROPBOX_PORT)
    import dropbox.session

    if server.host != dropbox.session.API_HOST:
        pytest.fail(
            f"dropbox was imported before the test hosts were set (API_HOST={dropbox.session.API_HOST})"
        )
    yield server
    server.stop()


@pytest.fixture
def fake_dropbox(dropbox_server, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(dropbox_server.ca.ca_pem))
    dropbox_server.files.clear()
    dropbox_server.folders.clear()
    dropbox_server.uploads.clear()
    dropbox_server.requests.clear()
    dropbox_server.faults.injected.clear()
    dropbox_server.up()
    yield dropbox_server
    dropbox_server.faults._queue.clear()


@pytest.fixture(scope="session")
def moto_s3() -> Iterator:
    from moto.server import ThreadedMotoServer

    from tests.support.fault_proxy import FaultProxy

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    proxy = FaultProxy(host, port).start()
    yield proxy
    proxy.stop()
    server.stop()


@pytest.fixture
def s3_proxy(moto_s3, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    moto_s3.requests.clear()
    moto_s3.up()
    yield moto_s3
    moto_s3.faults._queue.clear()


FAST = {"max_retries": 3, "max_retry_wait_s": 5.0, "request_timeout_s": 10.0}


def dropbox_settings(**kw) -> StorageSettings:  # type: ignore[no-untyped-def]
    from tests.support.fake_dropbox import FakeDropbox

    base = {
        "dropbox_app_key": FakeDropbox.APP_KEY,
        "dropbox_app_secret": FakeDropbox.APP_SECRET,
        "dropbox_refresh_token": FakeDropbox.REFRESH_TOKEN,
        **FAST,
    }
    return StorageSettings(backend="dropbox", **{**base, **kw})


def s3_settings(proxy, bucket: str, **kw) -> StorageSettings:  # type: ignore[no-untyped-def]
    import boto3

    boto3.client(
        "s3",
        endpoint_url=f"http://{proxy.host}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=bucket)
    return StorageSettings(
        backend="s3",
        s3_bucket=bucket,
        s3_endpoint_url=f"http://{proxy.host}",
        s3_access_key_id="test",
        s3_secret_access_key="test",
        **{**FAST, **kw},
    )


def local_settings(root: Path) -> StorageSettings:
    return StorageSettings(backend="local", remote_dir=root)
