"""A loopback Binance spot REST server for tests: the subset ccxt's `binance` class uses, with fault injection.

Why a real HTTP server rather than a mocked ccxt method: the engine's promises (retries, timeouts, the
rate limiter, Retry-After, pagination, request counts) live in the HTTP layer, so the tests drive the real
ccxt client through real sockets. Everything it serves is recorded Binance data from `../shared/data`:

- `/api/v3/ping`, `/api/v3/time`;
- `/api/v3/exchangeInfo` and `/api/v3/ticker/24hr`: the raw recorded responses in `raw/`, byte for byte;
- `/api/v3/klines` (symbol, interval, startTime, endTime, limit) with Binance's semantics: open times in
  [startTime, endTime], the first `limit` of them (the last `limit` when only endTime or neither is given),
  default limit 500, at most 1000, 12-field rows with prices as text. Bars come from
  `binance/{interval}/{BASE}-{QUOTE}.csv` (or rows added with `add_klines`). The server has a clock (`now`,
  default the real time): later bars do not exist yet, and the bar containing `now` is served still
  forming (partial high/low/close/volume), exactly as Binance does. The `Date` header follows that clock.

Faults, picked per request from a scripted queue first, then by a seeded RNG at `fault_rate` (exactly that
share of each small deck of requests, so a short test run gets the rate it asked for):
`429`/`418` (with Retry-After), `500`/`502`/`503`, `slow` (answers after the client's timeout), `reset`
(TCP RST, no response), `truncated` (Content-Length promises more than is sent), `malformed` (200 with a
body that is not JSON), `missing` (a klines page of 200+ rows with a few interior bars left out); scripted
only: `400` (a final client error, never worth a retry) and `ok` (no fault). Per-endpoint request counts and every injected fault are observable.

USDT-M futures (what ccxt's `binanceusdm` calls, under `/fapi/v1/`; endpoints are counted as `fapi/...`):
- `fapi/v1/exchangeInfo`: one PERPETUAL per recorded file in `binance-usdm/1d/` (no futures exchangeInfo
  was recorded, so the listing is derived from those files: symbol, base, USDT quote and margin asset,
  TRADING, onboardDate = the first recorded bar, precisions from the recorded prices' decimals);
- `fapi/v1/klines`: the recorded perp bars of `binance-usdm/{interval}/`, with the spot klines' semantics;
- `fapi/v1/ticker/24hr`: derived from the recorded perp daily bars at the server's clock (the last closed
  day: close, volume, quote volume ~ volume x typical price; no bid/ask, as the real endpoint);
- `fapi/v1/fundingRate` (symbol, startTime, endTime, limit: default 100, at most 1000): the recorded
  settlements of `binance-usdm/funding/{BASE}-USDT.csv` at or before the clock, Binance's row format
  (`fundingRate` as text, `fundingTime` ms, `markPrice`), the first `limit` from startTime.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import email.utils
import json
import random
import socket
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

INTERVALS_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}
HTTP_FAULTS = ("400", "429", "418", "500", "502", "503")
# The transient kinds a client must survive; "400" (a final client error) is for scripted use only.
FAULT_KINDS = ("429", "418", "500", "502", "503", "slow", "reset", "truncated", "malformed", "missing")
ALL_KINDS = (*FAULT_KINDS, "400", "ok")
MISSING_MIN_ROWS = 200
EXCHANGE_INFO = Path("raw/SM2A__Binance_API/exchangeInfo.json")
TICKER_24HR = Path("raw/johnthotekat__onchain-monitor/ticker24hr.json")
USDM = Path("binance-usdm")


@dataclass(frozen=True)
class Series:
    """One symbol/interval: sorted open times and the recorded rows (12 fields, prices as text)."""

    times: list[int]
    rows: list[list[Any]]
    recorded: bool  # True: raw exchange rows served as recorded (no partial-bar synthesis)


@lru_cache(maxsize=8)
def _read_bytes(path: Path) -> bytes:
    return path.read_bytes()


@lru_cache(maxsize=4)
def _symbol_map(path: Path) -> dict[str, tuple[str, str]]:
    info = json.loads(_read_bytes(path))
    return {s["symbol"]: (s["baseAsset"], s["quoteAsset"]) for s in info["symbols"]}


@lru_cache(maxsize=4)
def _tickers_by_symbol(path: Path) -> dict[str, dict[str, Any]]:
    return {t["symbol"]: t for t in json.loads(_read_bytes(path))}


@lru_cache(maxsize=32)
def _csv_series(path: Path, step: int) -> Series:
    times: list[int] = []
    rows: list[list[Any]] = []
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if header != ["timestamp", "open", "high", "low", "close", "volume"]:
            raise ValueError(f"{path}: unexpected header {header}")
        for ts, o, h, low, c, v in reader:
            t = int(ts)
            times.append(t)
            # Not in the recording, derived: quote volume ~ volume x typical price; trade counts unknown (0).
            quote = float(v) * (float(h) + float(low) + float(c)) / 3
            rows.append([t, o, h, low, c, v, t + step - 1, f"{quote:.8f}", 0, "0", "0", "0"])
    return Series(times, rows, recorded=False)


@lru_cache(maxsize=1024)
def _listing(path: Path) -> tuple[int, int]:
    """(first bar's open ms, price decimals of the first rows' closes) of a recorded perp file."""
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        rows = [row for _, row in zip(range(30), reader, strict=False)]
    if not rows:
        raise ValueError(f"{path}: no bars")
    return int(rows[0][0]), max(len(r[4].partition(".")[2]) for r in rows)


@lru_cache(maxsize=8)
def _funding_series(path: Path) -> tuple[list[int], list[str]]:
    """Recorded settlements (ms, rate as text); empty when the coin has no recorded funding."""
    if not path.is_file():
        return [], []
    times, rates = [], []
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        if next(reader) != ["timestamp", "funding_rate"]:
            raise ValueError(f"{path}: unexpected header")
        for ts, rate in reader:
            times.append(int(ts))
            rates.append(rate)
    return times, rates


def _fmt(x: float) -> str:
    return f"{x:.8f}"


def _forming(row: list[Any], now_ms: int, step: int) -> list[Any]:
    """The bar containing `now`, as Binance shows it mid-bar: same open, partial range and volume."""
    frac = max(0.001, min(1.0, (now_ms - row[0]) / step))
    o, h, low, c, v = (float(x) for x in row[1:6])
    c_now = o + (c - o) * frac
    h_now = max(o, c_now) + (h - max(o, c)) * frac
    l_now = min(o, c_now) - (min(o, c) - low) * frac
    return [row[0], row[1], _fmt(h_now), _fmt(l_now), _fmt(c_now), _fmt(v * frac), *row[6:]]


class _Reply(Exception):
    """A Binance error response: HTTP status and {"code", "msg"} body."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


class BinanceServer:
    """Serve recorded Binance data on 127.0.0.1 (ephemeral port). Use as a context manager."""

    def __init__(
        self,
        data_dir: Path,
        *,
        now: datetime | None = None,
        fault_rate: float = 0.0,
        fault_kinds: Iterable[str] = FAULT_KINDS,
        seed: int = 0,
        retry_after_s: int = 1,
        slow_s: float = 2.0,
        faulty_endpoints: Iterable[str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.now = now
        self.fault_rate = fault_rate
        self.fault_kinds = tuple(fault_kinds)
        unknown = set(self.fault_kinds) - set(ALL_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {ALL_KINDS}")
        self.faulty_endpoints = set(faulty_endpoints) if faulty_endpoints is not None else None
        self.retry_after_s = retry_after_s
        self.slow_s = slow_s
        self.script: deque[str] = deque()
        self.counts: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        self._rng = random.Random(seed)
        self._slots: list[bool] = []
        self._kinds: list[str] = []
        self._missing_owed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._extra: dict[tuple[str, str], Series] = {}
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> BinanceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> BinanceServer:
        handler = type("Handler", (_Handler,), {"app": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        """The REST base to give ccxt as urls['api']['public'] (and settings.market.api_url)."""
        return f"http://127.0.0.1:{self.port}/api/v3"

    @property
    def total_requests(self) -> int:
        return sum(self.counts.values())

    def reset_counts(self) -> None:
        with self._lock:
            self.counts.clear()
            self.faults.clear()
            self.requests.clear()

    def warm(self, interval: str, *symbols: str) -> BinanceServer:
        """Parse the recorded files now, so the first request is not slower than a client's timeout."""
        _symbol_map(self.data_dir / EXCHANGE_INFO)
        for symbol in symbols:
            self._series(symbol, interval)
        return self

    def add_klines(self, symbol: str, interval: str, rows: list[list[Any]]) -> None:
        """Serve these raw 12-field rows (as recorded from Binance) for `symbol`/`interval`."""
        rows = sorted(rows, key=lambda r: int(r[0]))
        self._extra[(symbol, interval)] = Series([int(r[0]) for r in rows], rows, recorded=True)

    def now_ms(self) -> int:
        return int((self.now.timestamp() if self.now is not None else time.time()) * 1000)

    # ------------------------------------------------------------------ faults
    def _pick_fault(self, endpoint: str) -> str | None:
        """Scripted faults first; then a seeded deck: exactly `fault_rate` of each deck of requests is
        faulted (random positions), and kinds are dealt from a shuffled deck so every kind shows up."""
        with self._lock:
            if self.script:
                kind = self.script.popleft()
                return None if kind == "ok" else kind
            if self.faulty_endpoints is not None and endpoint not in self.faulty_endpoints:
                return None
            if self.fault_rate <= 0 or not self.fault_kinds:
                return None
            if not self._slots:
                size = next(
                    (
                        n
                        for n in (5, 10, 20, 50, 100)
                        if abs(self.fault_rate * n - round(self.fault_rate * n)) < 1e-9
                    ),
                    1000,
                )
                hits = round(self.fault_rate * size)
                self._slots = [True] * hits + [False] * (size - hits)
                self._rng.shuffle(self._slots)
            if not self._slots.pop():
                return None
            kind = self._deal()
            if kind == "missing" and endpoint != "klines" and set(self.fault_kinds) != {"missing"}:
                other = self._deal()
                while other == "missing":
                    other = self._deal()
                self._kinds.insert(0, "missing")  # dealt again at the end of this deck
                kind = other
            return kind

    def _deal(self) -> str:
        if not self._kinds:
            self._kinds = list(self.fault_kinds)
            self._rng.shuffle(self._kinds)
        return self._kinds.pop()

    # ------------------------------------------------------------------ routing
    def handle(self, req: _Handler) -> None:
        parts = urlsplit(req.path)
        params = dict(parse_qsl(parts.query))
        endpoint = parts.path.removeprefix("/api/v3/") if parts.path.startswith("/api/v3/") else parts.path
        if endpoint.startswith("/fapi/v1/"):
            endpoint = "fapi/" + endpoint.removeprefix("/fapi/v1/")
        fault = self._pick_fault(endpoint)
        with self._lock:
            self.counts[endpoint] += 1
        try:
            if fault in HTTP_FAULTS:
                return self._fault_status(req, endpoint, params, int(fault))
            if fault == "reset":
                self._record(endpoint, params, fault)
                return self._reset(req)
            if fault == "slow":
                self._record(endpoint, params, fault)  # seen now; answered after the client gave up
                self._stop.wait(self.slow_s)
            body, dropped = self._route(endpoint, params, fault)
            if fault == "missing" and not dropped:
                with self._lock:
                    self._missing_owed += 1  # page too small to leave bars out of: owed to the next big page
                fault = None
            elif dropped:
                fault = "missing"
            if fault != "slow":
                self._record(endpoint, params, fault)
            if fault == "truncated":
                return self._send(req, 200, body[: len(body) // 2], length=len(body), close=True)
            if fault == "malformed":
                body = body[: max(1, len(body) // 2)]
            self._send(req, 200, body)
        except _Reply as err:
            self._record(endpoint, params, fault)
            self._send(req, err.status, json.dumps({"code": err.code, "msg": err.msg}).encode())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer

    def _record(self, endpoint: str, params: dict[str, str], fault: str | None) -> None:
        with self._lock:
            self.requests.append((endpoint, params, fault))
            if fault is not None:
                self.faults[fault] += 1

    def _route(self, endpoint: str, params: dict[str, str], fault: str | None) -> tuple[bytes, int]:
        """(body, bars left out by a `missing` fault)."""
        if endpoint == "ping":
            return b"{}", 0
        if endpoint == "time":
            return json.dumps({"serverTime": self.now_ms()}).encode(), 0
        if endpoint == "exchangeInfo":
            return _read_bytes(self.data_dir / EXCHANGE_INFO), 0
        if endpoint == "ticker/24hr":
            return self._ticker(params), 0
        if endpoint == "klines":
            rows, dropped = self._klines(params, fault)
            return json.dumps(rows, separators=(",", ":")).encode(), dropped
        if endpoint == "fapi/exchangeInfo":
            return json.dumps(self._usdm_info()).encode(), 0
        if endpoint == "fapi/klines":
            rows, dropped = self._klines(params, fault, futures=True)
            return json.dumps(rows, separators=(",", ":")).encode(), dropped
        if endpoint == "fapi/ticker/24hr":
            return json.dumps(self._usdm_tickers(params)).encode(), 0
        if endpoint == "fapi/fundingRate":
            return json.dumps(self._funding(params)).encode(), 0
        if endpoint == "fapi/time":
            return json.dumps({"serverTime": self.now_ms()}).encode(), 0
        raise _Reply(404, -1, f"unknown endpoint {endpoint}")

    # ------------------------------------------------------------------ USDT-M futures
    def _usdm_files(self) -> dict[str, Path]:
        """Perp id (BTCUSDT) -> its recorded daily file (the listing of the futures exchange)."""
        folder = self.data_dir / USDM / "1d"
        out = {}
        for path in sorted(folder.glob("*-USDT.csv")) if folder.is_dir() else []:
            out[path.stem.replace("-", "")] = path
        return out

    def _usdm_info(self) -> dict[str, Any]:
        symbols = []
        for pid, path in self._usdm_files().items():
            first, decimals = _listing(path)
            if first > self.now_ms():
                continue  # not listed yet at the server's clock
            base = path.stem.split("-")[0]
            symbols.append(
                {
                    "symbol": pid,
                    "pair": pid,
                    "contractType": "PERPETUAL",
                    "deliveryDate": 4133404800000,
                    "onboardDate": first,
                    "status": "TRADING",
                    "baseAsset": base,
                    "quoteAsset": "USDT",
                    "marginAsset": "USDT",
                    "pricePrecision": decimals,
                    "quantityPrecision": 3,
                    "baseAssetPrecision": 8,
                    "quotePrecision": 8,
                    "underlyingType": "COIN",
                    "filters": [
                        {"filterType": "PRICE_FILTER", "tickSize": f"{10.0**-decimals:.{decimals}f}"},
                        {"filterType": "MIN_NOTIONAL", "notional": "5"},
                    ],
                    "orderTypes": ["LIMIT", "MARKET"],
                    "timeInForce": ["GTC"],
                }
            )
        return {"timezone": "UTC", "serverTime": self.now_ms(), "assets": [], "symbols": symbols}

    def _usdm_tickers(self, params: dict[str, str]) -> Any:
        files = self._usdm_files()
        wanted = [params["symbol"]] if "symbol" in params else list(files)
        day = INTERVALS_MS["1d"]
        out = []
        for pid in wanted:
            if pid not in files:
                raise _Reply(400, -1121, "Invalid symbol.")
            series = _csv_series(files[pid], day)
            hi = bisect.bisect_right(series.times, self.now_ms() - day)  # days closed by now
            if hi == 0:
                continue
            row = series.rows[hi - 1]
            out.append(
                {
                    "symbol": pid,
                    "priceChange": _fmt(float(row[4]) - float(row[1])),
                    "lastPrice": row[4],
                    "openPrice": row[1],
                    "highPrice": row[2],
                    "lowPrice": row[3],
                    "volume": row[5],
                    "quoteVolume": row[7],
                    "openTime": row[0],
                    "closeTime": row[6],
                    "count": 0,
                }
            )
        return out[0] if "symbol" in params else out

    def _funding(self, params: dict[str, str]) -> list[dict[str, Any]]:
        pid = params.get("symbol")
        if not pid or pid not in self._usdm_files():
            raise _Reply(400, -1121, "Invalid symbol.")
        limit, start, end = _window(params, default_limit=100, max_limit=1000)
        times, rates = _funding_series(
            self.data_dir / USDM / "funding" / f"{pid.removesuffix('USDT')}-USDT.csv"
        )
        hi = bisect.bisect_right(times, self.now_ms())
        if end is not None:
            hi = min(hi, bisect.bisect_right(times, end))
        lo = bisect.bisect_left(times, start) if start is not None else max(0, hi - limit)
        return [
            {"symbol": pid, "fundingTime": times[i], "fundingRate": rates[i], "markPrice": ""}
            for i in range(lo, min(hi, lo + limit))
        ]

    def _ticker(self, params: dict[str, str]) -> bytes:
        path = self.data_dir / TICKER_24HR
        wanted = (
            [params["symbol"]] if "symbol" in params else json.loads(params.get("symbols", "null") or "null")
        )
        if not wanted:
            return _read_bytes(path)
        table = _tickers_by_symbol(path)
        if any(s not in table for s in wanted):
            raise _Reply(400, -1121, "Invalid symbol.")
        picked = [table[s] for s in wanted]
        return json.dumps(picked[0] if "symbol" in params else picked).encode()

    def _series(self, symbol: str, interval: str, futures: bool = False) -> Series:
        if futures:
            path = self._usdm_files().get(symbol)
            if path is None:
                raise _Reply(400, -1121, "Invalid symbol.")
            path = self.data_dir / USDM / interval / path.name
            return _csv_series(path, INTERVALS_MS[interval]) if path.is_file() else Series([], [], False)
        if (symbol, interval) in self._extra:
            return self._extra[(symbol, interval)]
        pair = _symbol_map(self.data_dir / EXCHANGE_INFO).get(symbol)
        if pair is None:
            raise _Reply(400, -1121, "Invalid symbol.")
        path = self.data_dir / "binance" / interval / f"{pair[0]}-{pair[1]}.csv"
        if not path.is_file():
            return Series([], [], recorded=False)  # a real symbol with no recorded bars here
        return _csv_series(path, INTERVALS_MS[interval])

    def _klines(
        self, params: dict[str, str], fault: str | None, futures: bool = False
    ) -> tuple[list[list[Any]], int]:
        symbol, interval = params.get("symbol"), params.get("interval")
        if not symbol:
            raise _Reply(
                400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
            )
        if interval not in INTERVALS_MS:
            raise _Reply(400, -1120, "Invalid interval.")
        limit, start, end = _window(params, default_limit=500, max_limit=1500 if futures else 1000)
        series = self._series(symbol, interval, futures)
        step = INTERVALS_MS[interval]
        now = self.now_ms()
        # bars that exist at `now`: opened at or before it
        hi = bisect.bisect_right(series.times, now)
        if end is not None:
            hi = min(hi, bisect.bisect_right(series.times, end))
        if start is not None:
            lo = bisect.bisect_left(series.times, start)
            picked = series.rows[lo : min(hi, lo + limit)] if lo < hi else []
        else:
            picked = series.rows[max(0, hi - limit) : hi]
        if picked and not series.recorded and picked[-1][0] + step > now:
            picked = [*picked[:-1], _forming(picked[-1], now, step)]
        owed = self._missing_owed > 0 and fault is None
        if (fault == "missing" or owed) and len(picked) >= MISSING_MIN_ROWS:
            with self._lock:
                self._missing_owed -= 1 if owed else 0
                drop = set(self._rng.sample(range(1, len(picked) - 1), self._rng.randint(1, 3)))
            return [row for i, row in enumerate(picked) if i not in drop], len(drop)
        return picked, 0

    # ------------------------------------------------------------------ sending
    def _send(
        self,
        req: _Handler,
        status: int,
        body: bytes,
        *,
        length: int | None = None,
        close: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        req.send_response(status)
        req.send_header("Content-Type", "application/json;charset=UTF-8")
        req.send_header("Content-Length", str(len(body) if length is None else length))
        for key, value in (headers or {}).items():
            req.send_header(key, value)
        req.end_headers()
        req.wfile.write(body)
        req.wfile.flush()
        if close:
            self._reset(req)

    def _fault_status(self, req: _Handler, endpoint: str, params: dict[str, str], status: int) -> None:
        self._record(endpoint, params, str(status))
        headers: dict[str, str] = {}
        if status in (418, 429):
            headers["Retry-After"] = str(self.retry_after_s)
            msg = (
                "Way too much request weight used; IP banned."
                if status == 418
                else "Too much request weight used."
            )
            body = json.dumps({"code": -1003, "msg": msg}).encode()
        elif status == 400:
            body = json.dumps(
                {"code": -1100, "msg": "Illegal characters found in parameter 'symbol'."}
            ).encode()
        elif status == 502:
            body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        else:
            body = json.dumps(
                {"code": -1001, "msg": "Internal error; unable to process your request."}
            ).encode()
        self._send(req, status, body, headers=headers)

    @staticmethod
    def _reset(req: _Handler) -> None:
        """Abort the TCP connection with RST (SO_LINGER 0) so the client sees 'connection reset'."""
        req.close_connection = True
        with contextlib.suppress(OSError):
            req.wfile.flush()
        req.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        req.connection.close()


class _Handler(BaseHTTPRequestHandler):
    app: BinanceServer
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self.app.handle(self)

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header follows the server's clock, so clients can see what 'now' is for the exchange."""
        return email.utils.formatdate(
            self.app.now_ms() / 1000 if timestamp is None else timestamp, usegmt=True
        )

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        return


def csv_candles(data_dir: Path, interval: str, symbol: str) -> Any:
    """The recorded CSV as a canonical candle frame (what a perfect sync must store), for assertions."""
    import polars as pl

    from huracan_core.candles.frame import conform

    return conform(pl.read_csv(Path(data_dir) / "binance" / interval / f"{symbol}.csv"))


def _window(
    params: dict[str, str], *, default_limit: int, max_limit: int
) -> tuple[int, int | None, int | None]:
    """`limit`, `startTime`, `endTime` of a klines or fundingRate request, refused as Binance refuses them."""
    try:
        limit = int(params.get("limit", default_limit))
        start = int(params["startTime"]) if "startTime" in params else None
        end = int(params["endTime"]) if "endTime" in params else None
    except ValueError:
        raise _Reply(400, -1100, "Illegal characters found in a parameter.") from None
    if not 1 <= limit <= max_limit:
        raise _Reply(400, -1130, "Data sent for parameter 'limit' is not valid.")
    return limit, start, end
