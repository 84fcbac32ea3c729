"""Shared plumbing of the loopback fakes: a threaded HTTP(S) server on 127.0.0.1 with scripted faults.

Faults are queued per route prefix (or for any route) and consumed one per matching request:
`"429:N"` (Too Many Requests with Retry-After: N), `"500"`/`"503"` (a server error), `"drop"` (the
connection is closed without any response), `"corrupt"` (the request goes through with one byte of its
body flipped: the bytes stored are not the bytes sent). `down()` makes every request drop until `up()`.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[tuple[str, str]] = deque()
        self.injected: list[tuple[str, str]] = []
        self.always: str | None = None  # a fault served to every request (e.g. "drop" = service down)

    def add(self, kind: str, route: str = "", times: int = 1) -> None:
        with self._lock:
            self._queue.extend([(route, kind)] * times)

    def take(self, route: str) -> str | None:
        with self._lock:
            if self.always is not None:
                self.injected.append((route, self.always))
                return self.always
            for item in list(self._queue):
                if route.startswith(item[0]):
                    self._queue.remove(item)
                    self.injected.append((route, item[1]))
                    return item[1]
        return None


class LoopbackServer:
    """Owns the socket server and its thread; subclasses give the handler class via `handler()`."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.faults = Faults()
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._tls = tls
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self, port: int = 0) -> LoopbackServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), self.handler())
        server.daemon_threads = True
        if self._tls is not None:
            server.socket = self._tls.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def down(self) -> None:
        self.faults.always = "drop"

    def up(self) -> None:
        self.faults.always = None

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: LoopbackServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(10)
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True

    corrupt = False

    def body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        if self.corrupt and data:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        return data

    def reply(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def drop(self) -> None:
        """Close the connection with no response at all (a dropped connection, seen as a reset)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.connection.close()

    def fault(self, route: str) -> str | None:
        """Serve the next scripted fault for `route` (True when one was served)."""
        kind = self.owner.faults.take(route)
        self.corrupt = kind == "corrupt"
        if kind is None or self.corrupt:
            return None
        self.body()
        if kind == "drop":
            self.drop()
        elif kind.startswith("429"):
            after = kind.split(":", 1)[1] if ":" in kind else "1"
            self.reply(429, b"too many requests", "text/plain", {"Retry-After": after})
        else:
            self.reply(int(kind), b"server error", "text/plain")
        return kind
