"""A loopback Telegram Bot API for python-telegram-bot (`Bot(token, base_url="http://127.0.0.1:PORT/bot")`).

Serves `getMe` and `sendMessage` for one token (anything else: 404; a wrong token: 401 as Telegram does),
records every delivered message in order, and injects faults per method: `"429:N"` answers Telegram's
flood-control error `{"ok": false, "error_code": 429, "parameters": {"retry_after": N}}`, `"500"`/`"503"`,
`"drop"` (connection closed without a response); `down()` drops everything.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl

from tests.support.loopback import BaseHandler, LoopbackServer


class FakeTelegram(LoopbackServer):
    TOKEN = "123456:TEST-telegram-token-secret"
    CHAT = "4242"

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[dict[str, Any]] = []

    @property
    def base_url(self) -> str:
        return f"http://{self.host}/bot"

    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages]

    def env(self) -> dict[str, str]:
        return {
            "HURACAN_TELEGRAM__ENABLED": "true",
            "HURACAN_TELEGRAM__TOKEN": self.TOKEN,
            "HURACAN_TELEGRAM__CHAT_ID": self.CHAT,
            "HURACAN_TELEGRAM__API_URL": self.base_url,
            "HURACAN_TELEGRAM__MIN_INTERVAL_S": "0.05",
            "HURACAN_TELEGRAM__TIMEOUT_S": "3",
        }

    def handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(_TelegramHandler):
            pass

        Handler.owner = owner
        return Handler


class _TelegramHandler(BaseHandler):
    owner: FakeTelegram

    def _json(self, status: int, obj: Any) -> None:
        self.reply(status, json.dumps(obj).encode())

    def do_POST(self) -> None:  # noqa: N802
        prefix = "/bot" + FakeTelegram.TOKEN + "/"
        method = self.path.split("/")[-1]
        with self.owner.lock:
            self.owner.requests[method] += 1
        kind = self.owner.faults.take(method)
        if kind is not None:
            self.body()
            if kind == "drop":
                return self.drop()
            if kind.startswith("429"):
                after = int(kind.split(":", 1)[1]) if ":" in kind else 1
                return self._json(
                    429,
                    {
                        "ok": False,
                        "error_code": 429,
                        "parameters": {"retry_after": after},
                        "description": f"Too Many Requests: retry after {after}",
                    },
                )
            return self._json(
                int(kind), {"ok": False, "error_code": int(kind), "description": "Internal error"}
            )
        raw = self.body()
        if not self.path.startswith(prefix):
            return self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            params = json.loads(raw or b"{}")
        else:
            params = {k: (json.loads(v) if v[:1] in '[{"' else v) for k, v in parse_qsl(raw.decode())}
        if method == "getMe":
            return self._json(
                200,
                {
                    "ok": True,
                    "result": {
                        "id": 123456,
                        "is_bot": True,
                        "first_name": "Huracan",
                        "username": "huracan_test_bot",
                    },
                },
            )
        if method == "sendMessage":
            with self.owner.lock:
                self.owner.messages.append(
                    {"chat_id": str(params.get("chat_id")), "text": params.get("text")}
                )
                message_id = len(self.owner.messages)
            return self._json(
                200,
                {
                    "ok": True,
                    "result": {
                        "message_id": message_id,
                        "date": 0,
                        "chat": {"id": int(FakeTelegram.CHAT), "type": "private"},
                        "text": params.get("text"),
                    },
                },
            )
        self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
