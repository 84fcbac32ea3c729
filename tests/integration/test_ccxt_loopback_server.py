"""The loopback server speaks Binance's klines semantics (so passing tests mean something) and its
faults look like the real thing on the wire."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.binance_server import BinanceServer

NOW = datetime(2022, 10, 1, 0, 30, tzinfo=UTC)
H = 3_600_000
T = int(datetime(2022, 9, 1, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
def server(shared_data: Path) -> Iterator[BinanceServer]:
    with BinanceServer(shared_data, now=NOW) as srv:
        yield srv


def get(server: BinanceServer, path: str) -> tuple[int, Any, dict[str, str]]:
    try:
        with urllib.request.urlopen(f"{server.url}/{path}", timeout=5) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null"), dict(err.headers)


def test_klines_window_limit_and_row_shape(server: BinanceServer) -> None:
    status, rows, headers = get(
        server, f"klines?symbol=BTCUSDT&interval=1h&startTime={T}&endTime={T + 9 * H}&limit=5"
    )
    assert status == 200 and [r[0] for r in rows] == [T + i * H for i in range(5)]
    assert len(rows[0]) == 12 and isinstance(rows[0][1], str) and rows[0][6] == T + H - 1
    assert headers["Date"] == "Sat, 01 Oct 2022 00:30:00 GMT"  # the server's clock
    _, rows, _ = get(server, f"klines?symbol=BTCUSDT&interval=1h&startTime={T}&endTime={T + 2 * H}")
    assert [r[0] for r in rows] == [T, T + H, T + 2 * H]  # endTime is inclusive
    _, rows, _ = get(server, f"klines?symbol=BTCUSDT&interval=1h&endTime={T}&limit=3")
    assert [r[0] for r in rows] == [T - 2 * H, T - H, T]  # only endTime: the last `limit` up to it
    _, rows, _ = get(server, "klines?symbol=BTCUSDT&interval=1h")
    assert len(rows) == 500 and rows[-1][0] == int(datetime(2022, 10, 1, tzinfo=UTC).timestamp() * 1000)


def test_the_bar_containing_now_is_served_still_forming(server: BinanceServer, shared_data: Path) -> None:
    _, rows, _ = get(server, "klines?symbol=BTCUSDT&interval=1h&limit=2")
    closed, forming = rows
    assert forming[0] == closed[0] + H
    final = next(
        line.split(",")
        for line in (shared_data / "binance/1h/BTC-USDT.csv").read_text().splitlines()
        if line.startswith(str(forming[0]))
    )
    assert forming[1] == final[1] and float(forming[5]) < float(final[5])  # same open, half the volume so far
    assert float(forming[2]) >= max(float(forming[1]), float(forming[4]))


def test_binance_error_codes(server: BinanceServer) -> None:
    assert get(server, "klines?symbol=NOPEUSDT&interval=1h")[:2] == (
        400,
        {"code": -1121, "msg": "Invalid symbol."},
    )
    assert get(server, "klines?symbol=BTCUSDT&interval=7m")[1]["code"] == -1120
    assert get(server, "klines?symbol=BTCUSDT&interval=1h&limit=1001")[1]["code"] == -1130
    assert get(server, "klines?interval=1h")[1]["code"] == -1102
    assert get(server, "ping")[:2] == (200, {})
    assert get(server, "time")[1] == {"serverTime": int(NOW.timestamp() * 1000)}
    status, body, _ = get(server, "ticker/24hr?symbol=BTCUSDT")
    assert status == 200 and body["lastPrice"] == "69010.01000000"
    assert dict(server.counts) == {"klines": 4, "ping": 1, "time": 1, "ticker/24hr": 1}


def test_429_carries_retry_after_and_the_deck_gives_the_asked_rate(shared_data: Path) -> None:
    with BinanceServer(
        shared_data, now=NOW, fault_rate=0.2, fault_kinds=("429",), retry_after_s=7, seed=3
    ) as srv:
        results = [get(srv, "ping") for _ in range(40)]
    limited = [r for r in results if r[0] == 429]
    assert len(limited) == 8 and all(r[2]["Retry-After"] == "7" for r in limited)
    assert srv.faults == {"429": 8} and srv.total_requests == 40
