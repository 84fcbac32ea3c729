"""A loopback Dropbox API over HTTPS for the real `dropbox` SDK: the routes `DropboxStorage` uses.

- `/oauth2/token` (refresh-token grant; checks the refresh token, app key and secret) issues short-lived
  access tokens; every `/2/...` route needs `Authorization: Bearer <issued token>` (401 otherwise);
- `/2/files/upload`, `upload_session/start|append_v2|finish` (offsets checked), `download`,
  `get_metadata`, `list_folder` (+ `/continue`, small pages so paging is exercised), `delete_v2`,
  `create_folder_v2`; paths are case-insensitive as on Dropbox; revisions are hex counters;
- every upload call's `content_hash` is checked against the bytes received (Dropbox's 4 MiB block rule)
  and a mismatch is refused, as Dropbox does;
- faults per route prefix (`faults.add("429:2", "/2/files/upload")`, `"503"`, `"drop"`), or `down()`.

Point the SDK here with `env()` before it is imported (it reads the hosts at import time), and trust the
test CA with `REQUESTS_CA_BUNDLE`.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.support.loopback import BaseHandler, LoopbackServer
from tests.support.tls import TestCA, make_ca

BLOCK = 4 * 1024 * 1024
PAGE = 25  # entries per list_folder page


def content_hash(data: bytes) -> str:
    overall = hashlib.sha256()
    for start in range(0, len(data), BLOCK):
        overall.update(hashlib.sha256(data[start : start + BLOCK]).digest())
    return overall.hexdigest()


@dataclass
class StoredFile:
    path_display: str
    data: bytes
    rev: str
    modified: str


class FakeDropbox(LoopbackServer):
    APP_KEY = "test-app-key"
    APP_SECRET = "test-app-secret"
    REFRESH_TOKEN = "test-refresh-token"

    def __init__(self, folder: Path) -> None:
        self.ca: TestCA = make_ca(folder)
        super().__init__(self.ca.server_context())
        self.files: dict[str, StoredFile] = {}
        self.folders: set[str] = set()
        self.sessions: dict[str, bytearray] = {}
        self.tokens: set[str] = set()
        self.uploads: list[str] = []  # committed uploads, in order (path_display)
        self._rev = 0
        self._cursors: dict[str, list[dict]] = {}
        self.state_lock = threading.Lock()

    def env(self) -> dict[str, str]:
        return {
            "DROPBOX_API_HOST": self.host,
            "DROPBOX_API_CONTENT_HOST": self.host,
            "DROPBOX_API_NOTIFY_HOST": self.host,
            "REQUESTS_CA_BUNDLE": str(self.ca.ca_pem),
        }

    def storage_env(self) -> dict[str, str]:
        """HURACAN_* settings that select this fake as the night's remote."""
        return {
            "HURACAN_STORAGE__BACKEND": "dropbox",
            "HURACAN_STORAGE__DROPBOX_APP_KEY": self.APP_KEY,
            "HURACAN_STORAGE__DROPBOX_APP_SECRET": self.APP_SECRET,
            "HURACAN_STORAGE__DROPBOX_REFRESH_TOKEN": self.REFRESH_TOKEN,
        }

    def read(self, path: str) -> bytes | None:
        entry = self.files.get(path.lower() if path.startswith("/") else "/" + path.lower())
        return entry.data if entry else None

    def keys(self) -> dict[str, str]:
        """key (no leading slash, display case) -> content_hash of every stored file."""
        return {f.path_display.lstrip("/"): content_hash(f.data) for f in self.files.values()}

    def handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Handler(_DropboxHandler):
            pass

        Handler.owner = owner
        return Handler

    # ------------------------------------------------------------------ model
    def metadata(self, entry: StoredFile) -> dict[str, Any]:
        return {
            ".tag": "file",
            "name": entry.path_display.rsplit("/", 1)[-1],
            "id": "id:" + entry.rev,
            "client_modified": entry.modified,
            "server_modified": entry.modified,
            "rev": entry.rev,
            "size": len(entry.data),
            "path_lower": entry.path_display.lower(),
            "path_display": entry.path_display,
            "content_hash": content_hash(entry.data),
            "is_downloadable": True,
        }

    def commit(self, path_display: str, data: bytes) -> StoredFile:
        with self.state_lock:
            self._rev += 1
            entry = StoredFile(
                path_display,
                bytes(data),
                f"{self._rev:012x}",
                datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            self.files[path_display.lower()] = entry
            parts = path_display.lower().split("/")[1:-1]
            for i in range(1, len(parts) + 1):
                self.folders.add("/" + "/".join(parts[:i]))
            self.uploads.append(path_display)
            return entry


class _DropboxHandler(BaseHandler):
    owner: FakeDropbox

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        route = self.path.split("?")[0]
        with self.owner.lock:
            self.owner.requests[route] += 1
        if self.fault(route):
            return
        if route == "/oauth2/token":
            return self._token()
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.owner.tokens:
            self.body()
            return self._json(
                401, {"error_summary": "invalid_access_token/", "error": {".tag": "invalid_access_token"}}
            )
        arg_header = self.headers.get("Dropbox-API-Arg")
        raw = self.body()
        if arg_header is not None:
            arg, data = json.loads(arg_header), raw
        else:
            arg, data = (json.loads(raw) if raw else {}), b""
        handler = ROUTES.get(route)
        if handler is None:
            return self._json(404, {"error_summary": "unknown route"})
        handler(self, arg, data)

    # ------------------------------------------------------------------ helpers
    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self.reply(status, json.dumps(obj).encode(), "application/json", headers)

    def _err(self, summary: str, error: dict) -> None:
        self._json(409, {"error_summary": summary, "error": error})

    def _token(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self.body().decode()).items()}
        ok = (
            form.get("grant_type") == "refresh_token"
            and form.get("refresh_token") == FakeDropbox.REFRESH_TOKEN
            and form.get("client_id") == FakeDropbox.APP_KEY
            and form.get("client_secret") == FakeDropbox.APP_SECRET
        )
        if not ok:
            return self.reply(400, json.dumps({"error": "invalid_grant"}).encode())
        token = "sl." + secrets.token_hex(16)
        self.owner.tokens.add(token)
        self._json(200, {"access_token": token, "expires_in": 14400, "token_type": "bearer"})

    def _check_hash(self, arg: dict, data: bytes) -> bool:
        if arg.get("content_hash") and arg["content_hash"] != content_hash(data):
            self._err("content_hash_mismatch/", {".tag": "content_hash_mismatch"})
            return False
        return True

    # ------------------------------------------------------------------ routes
    def upload(self, arg: dict, data: bytes) -> None:
        if self.corrupt or self._check_hash(arg, data):  # "corrupt": a server that stores other bytes
            self._json(200, self.owner.metadata(self.owner.commit(arg["path"], data)))

    def session_start(self, arg: dict, data: bytes) -> None:
        if self._check_hash(arg, data):
            sid = secrets.token_hex(8)
            self.owner.sessions[sid] = bytearray(data)
            self._json(200, {"session_id": sid})

    def _session(self, cursor: dict) -> bytearray | None:
        buf = self.owner.sessions.get(cursor["session_id"])
        if buf is None:
            self._err("lookup_failed/not_found/", {".tag": "not_found"})
            return None
        if cursor["offset"] != len(buf):
            self._err(
                "lookup_failed/incorrect_offset/", {".tag": "incorrect_offset", "correct_offset": len(buf)}
            )
            return None
        return buf

    def session_append(self, arg: dict, data: bytes) -> None:
        buf = self._session(arg["cursor"])
        if buf is not None and self._check_hash(arg, data):
            buf.extend(data)
            self._json(200, None)

    def session_finish(self, arg: dict, data: bytes) -> None:
        buf = self._session(arg["cursor"])
        if buf is not None and self._check_hash(arg, data):
            buf.extend(data)
            del self.owner.sessions[arg["cursor"]["session_id"]]
            self._json(200, self.owner.metadata(self.owner.commit(arg["commit"]["path"], bytes(buf))))

    def download(self, arg: dict, data: bytes) -> None:
        entry = self.owner.files.get(arg["path"].lower())
        if entry is None:
            return self._err("path/not_found/", {".tag": "path", "path": {".tag": "not_found"}})
        self.reply(
            200,
            entry.data,
            "application/octet-stream",
            {"Dropbox-API-Result": json.dumps(self.owner.metadata(entry))},
        )

    def get_metadata(self, arg: dict, data: bytes) -> None:
        path = arg["path"].lower()
        entry = self.owner.files.get(path)
        if entry is not None:
            return self._json(200, self.owner.metadata(entry))
        if path in self.owner.folders:
            return self._json(
                200,
                {
                    ".tag": "folder",
                    "name": path.rsplit("/", 1)[-1],
                    "id": "id:f",
                    "path_lower": path,
                    "path_display": path,
                },
            )
        self._err("path/not_found/", {".tag": "path", "path": {".tag": "not_found"}})

    def list_folder(self, arg: dict, data: bytes) -> None:
        base = arg.get("path", "").lower().rstrip("/")
        if base and base not in self.owner.folders and base not in self.owner.files:
            return self._err("path/not_found/", {".tag": "path", "path": {".tag": "not_found"}})
        entries = [
            self.owner.metadata(f)
            for p, f in sorted(self.owner.files.items())
            if p.startswith(base + "/") and (arg.get("recursive") or "/" not in p[len(base) + 1 :])
        ]
        self._page(entries)

    def list_continue(self, arg: dict, data: bytes) -> None:
        rest = self.owner._cursors.pop(arg["cursor"], None)
        if rest is None:
            return self._err("reset/", {".tag": "reset"})
        self._page(rest)

    def _page(self, entries: list[dict]) -> None:
        page, rest = entries[:PAGE], entries[PAGE:]
        cursor = secrets.token_hex(8)
        if rest:
            self.owner._cursors[cursor] = rest
        self._json(200, {"entries": page, "cursor": cursor, "has_more": bool(rest)})

    def delete(self, arg: dict, data: bytes) -> None:
        entry = self.owner.files.pop(arg["path"].lower(), None)
        if entry is None:
            return self._err(
                "path_lookup/not_found/", {".tag": "path_lookup", "path_lookup": {".tag": "not_found"}}
            )
        self._json(200, {"metadata": self.owner.metadata(entry)})

    def create_folder(self, arg: dict, data: bytes) -> None:
        path = arg["path"].lower()
        if path in self.owner.folders or path in self.owner.files:
            return self._err(
                "path/conflict/folder/",
                {".tag": "path", "path": {".tag": "conflict", "conflict": {".tag": "folder"}}},
            )
        parts = path.split("/")[1:]
        for i in range(1, len(parts) + 1):
            self.owner.folders.add("/" + "/".join(parts[:i]))
        self._json(
            200,
            {
                "metadata": {
                    "name": parts[-1],
                    "id": "id:folder",
                    "path_lower": path,
                    "path_display": arg["path"],
                }
            },
        )


ROUTES = {
    "/2/files/upload": _DropboxHandler.upload,
    "/2/files/upload_session/start": _DropboxHandler.session_start,
    "/2/files/upload_session/append_v2": _DropboxHandler.session_append,
    "/2/files/upload_session/finish": _DropboxHandler.session_finish,
    "/2/files/download": _DropboxHandler.download,
    "/2/files/get_metadata": _DropboxHandler.get_metadata,
    "/2/files/list_folder": _DropboxHandler.list_folder,
    "/2/files/list_folder/continue": _DropboxHandler.list_continue,
    "/2/files/delete_v2": _DropboxHandler.delete,
    "/2/files/create_folder_v2": _DropboxHandler.create_folder,
}
