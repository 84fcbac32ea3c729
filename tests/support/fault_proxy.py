"""A loopback HTTP reverse proxy with scripted faults, put in front of a server that has none (moto's S3).

Requests pass through byte for byte unless a fault is queued for their path prefix: `"429:N"`,
`"500"`/`"503"`, `"drop"` (see `tests.support.loopback`).
"""

from __future__ import annotations

import http.client
from http.server import BaseHTTPRequestHandler

from tests.support.loopback import BaseHandler, LoopbackServer

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class FaultProxy(LoopbackServer):
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        super().__init__()
        self.upstream = (upstream_host, upstream_port)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(_ProxyHandler):
            pass

        Handler.owner = owner
        return Handler


class _ProxyHandler(BaseHandler):
    owner: FaultProxy

    def _forward(self) -> None:
        route = self.path.split("?")[0]
        with self.owner.lock:
            self.owner.requests[f"{self.command} {route}"] += 1
        if self.fault(route):
            return
        body = self.body()
        conn = http.client.HTTPConnection(*self.owner.upstream, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            self.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP and (key.lower() != "content-length" or self.command == "HEAD"):
                    self.send_header(key, value)
            if self.command != "HEAD":
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        finally:
            conn.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward  # noqa: N815
