"""Never lose a night: bad commands leave a finished night byte for byte, a rerun heals what a fault
broke (without --force, redoing exactly the failed coins and what depends on them), corrupt state is
redone rather than trusted, and two `huracan run` on one engine home never race."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from huracan_core.dates import last_complete_day
from tests.support.profile import TEST_PROFILE

REPO = Path(__file__).resolve().parents[2]
DAY = date(2025, 11, 10)
HUARACAN = [sys.executable, "-m", "huracan_dagster"]
FAST = {
    "HURACAN_TRAINING__N_TRIALS": "2",
    "HURACAN_TRAINING__NUM_BOOST_ROUND": "40",
    "HURACAN_TRAINING__RETRIES": "0",
}


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HURACAN_", "DAGSTER_"))}
    env.update(
        {
            "HURACAN_HOME": str(root / "home"),
            "DAGSTER_HOME": str(root / "dagster"),
            "HURACAN_CONFIG": str(REPO / "config" / "settings.yaml"),
            "HURACAN_PROFILE": TEST_PROFILE,
            "HURACAN_RAY__HEAD_IDLE_MINUTES": "1",
            **FAST,
            **extra,
        }
    )
    return env


def _huracan(env: dict[str, str], *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*HUARACAN, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout
    )


def _stop_ray(env: dict[str, str]) -> None:
    _huracan(env, "ray", "stop", timeout=60)


def _fingerprint(home: Path) -> dict[str, str]:
    """sha256 of every file a night keeps (the logs and the Ray head's own files aside)."""
    out = {}
    for path in sorted(home.rglob("*")):
        rel = path.relative_to(home).as_posix()
        if path.is_file() and not rel.startswith(("logs/", "ray/")) and not path.name.endswith(".lock"):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _brain_counts(home: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{home / 'brain.sqlite'}")
    try:
        with engine.connect() as conn:
            tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}
    finally:
        engine.dispose()


def _status(home: Path, day: date = DAY) -> dict:
    return json.loads((home / "runs" / f"{day:%Y%m%d}Z" / "status.json").read_text())["coins"]


def _finish(root: Path) -> Path:
    """A finished 3-coin synthetic night of DAY in `root` (its engine home and Dagster instance)."""
    env = _env(root)
    done = _huracan(env, "run", "--date", DAY.isoformat(), "--top", "3")
    _stop_ray(env)
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    assert (root / "home" / "exports" / DAY.isoformat() / "performance_summary.json").is_file()
    return root


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A finished night the tests only read (the bad commands must not change it)."""
    yield _finish(tmp_path_factory.mktemp("finished"))


@pytest.fixture
def night(tmp_path: Path) -> Path:
    """A finished night of its own for one test to spoil (its records hold its own absolute paths)."""
    return _finish(tmp_path)


BAD_COMMANDS = [
    ("unknown pinned coin", ["--symbols", "NOPE-USDT"], 2, "NOPE-USDT is not a market"),
    ("--top 0", ["--top", "0"], 2, "--top 0"),
    ("--top -3", ["--top", "-3"], 2, "--top -3"),
    ("empty --symbols", ["--symbols", ""], 2, "--symbols"),
    ("commas only", ["--symbols", ",,,"], 2, "--symbols"),
    ("empty pin file", ["--symbols-file", "{d}/empty.csv"], 2, "empty.csv"),
    ("header-only pin file", ["--symbols-file", "{d}/header.csv"], 2, "header.csv"),
    ("date before first_date", ["--date", "1990-01-01"], 2, "schedule.first_date"),
    ("fewer coins than the finished night", ["--top", "2"], 1, "refusing to replace it with fewer coins"),
]


def test_bad_commands_leave_a_finished_night_byte_identical(finished: Path) -> None:
    night = finished
    env = _env(night)
    home = night / "home"
    (night / "empty.csv").write_text("")
    (night / "header.csv").write_text("symbol\n")
    before, counts = _fingerprint(home), _brain_counts(home)
    table = []
    for name, args, code, says in BAD_COMMANDS:
        args = [a.replace("{d}", str(night)) for a in args]
        if "--date" not in args:
            args = ["--date", DAY.isoformat(), *args]
        result = _huracan(env, "run", *args)
        out = result.stdout + result.stderr
        table.append((name, result.returncode, out.strip().splitlines()[-1][:120] if out.strip() else ""))
        assert result.returncode == code, (name, out[-1500:])
        assert says in out, (name, out[-1500:])
        assert "Traceback" not in out, (name, out[-3000:])
        assert _fingerprint(home) == before, f"{name} changed the finished night's files"
        assert _brain_counts(home) == counts, f"{name} changed the Brain Library"
    # the same coins in another order are the same night: nothing re-run, nothing changed
    coins = sorted(_status(home))
    same = _huracan(env, "run", "--date", DAY.isoformat(), "--symbols", ",".join(reversed(coins)))
    assert same.returncode == 0, same.stdout[-1500:] + same.stderr[-1500:]
    assert "nothing re-run" in same.stdout
    assert _fingerprint(home) == before and _brain_counts(home) == counts
    print("\n".join(f"{n:40s} exit {c}  {m}" for n, c, m in table))


@pytest.mark.slow  # about a minute or more on 2 cores: `pytest -m slow`
def test_a_model_that_no_longer_verifies_is_retrained_not_trusted(night: Path) -> None:
    """A flipped byte in one coin's model.bin and a deleted sha256.txt in another's: the rerun (no
    --force) retrains exactly those two, keeps the third, and republishes the night."""
    env = _env(night)
    home = night / "home"
    entries = _status(home)
    (flipped, deleted, kept) = sorted(s for s, e in entries.items() if e["status"] == "success")[:3]
    model = Path(entries[flipped]["output_path"]) / "model.bin"
    raw = bytearray(model.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    model.write_bytes(bytes(raw))
    (Path(entries[deleted]["output_path"]) / "sha256.txt").unlink()
    result = _huracan(env, "run", "--date", DAY.isoformat())
    _stop_ray(env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "model (2 coins)" in result.stdout, result.stdout[-2000:]
    after = _status(home)
    assert after[kept]["output_path"] == entries[kept]["output_path"]
    for symbol in (flipped, deleted):
        assert after[symbol]["status"] == "success"
        assert after[symbol]["output_path"] != entries[symbol]["output_path"], symbol
    roster = json.loads((home / "exports" / DAY.isoformat() / "roster.json").read_text())
    assert {c["model_path"] for c in roster["coins"] if c["model_path"]} <= {
        str(Path(after[s]["output_path"]).relative_to(home)) for s in after
    }


def test_an_unreadable_status_file_is_rebuilt_from_dagsters_records(finished: Path) -> None:
    env = _env(finished)
    path = finished / "home" / "runs" / f"{DAY:%Y%m%d}Z" / "status.json"
    before = json.loads(path.read_text())["coins"]
    for garbage in ("", "{not json", '{"BTC-USDT": 1}'):
        path.write_text(garbage)
        result = _huracan(env, "run", "--date", DAY.isoformat())
        out = result.stdout + result.stderr
        assert result.returncode == 0 and "Traceback" not in out, out[-2000:]
        assert "nothing re-run" in result.stdout, garbage
        after = json.loads(path.read_text())["coins"]
        assert after == before, garbage


@pytest.mark.slow
def test_a_second_huracan_run_on_the_same_home_waits_then_refuses(tmp_path: Path) -> None:
    env = _env(tmp_path, HURACAN_TRAINING__N_TRIALS="20", HURACAN_TRAINING__NUM_BOOST_ROUND="400")
    first = subprocess.Popen(
        [*HUARACAN, "run", "--date", DAY.isoformat(), "--top", "3"],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lock = tmp_path / "home" / ".huracan-run.lock"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (lock.is_file() and lock.read_text().strip()):
            time.sleep(0.2)
        second = _huracan(env, "run", "--date", DAY.isoformat(), "--top", "3", "--wait", "2")
        out = second.stdout + second.stderr
        assert second.returncode == 1, out[-2000:]
        assert "waiting for huracan run --date 2025-11-10" in out and f"pid {first.pid}" in out, out[-2000:]
        assert "is in use by" in out and "Traceback" not in out
        first_out, _ = first.communicate(timeout=600)
        assert first.returncode in (0, 1), first_out[-2000:]
    finally:
        if first.poll() is None:
            first.kill()
        _stop_ray(env)


def _shifted_klines(shared: Path, symbol: str, last_open: datetime) -> list[list]:
    """A recorded daily series moved in time so its last bar opens at `last_open`: a live-looking exchange."""
    import polars as pl

    frame = pl.read_csv(shared / "binance" / "1d" / f"{symbol}.csv").tail(400)
    shift = int(last_open.timestamp() * 1000) - int(frame["timestamp"][-1])
    rows = []
    for ts, o, h, low, c, v in frame.select(
        "timestamp", "open", "high", "low", "close", "volume"
    ).iter_rows():
        t = int(ts) + shift
        rows.append(
            [t, str(o), str(h), str(low), str(c), str(v), t + 86_399_999, str(v * c), 100, "0", "0", "0"]
        )
    return rows


@pytest.mark.slow
def test_exchange_down_at_the_candles_then_the_same_command_heals_the_night(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exchange answers the universe, then fails every candle request: the night fails cleanly, each
    coin named. With the exchange back, the same command (no --force) redoes the candles and every layer
    after them, once, and ends whole."""
    from tests.support.binance_server import BinanceServer

    day = last_complete_day()
    coins = ["BTC-USDT", "ETH-USDT", "BNB-USDT"]
    with BinanceServer(
        shared_data, faulty_endpoints={"klines"}, fault_rate=0.0, fault_kinds=["500"]
    ) as server:
        for coin in coins:
            rows = _shifted_klines(shared_data, coin, datetime.combine(day, datetime.min.time(), UTC))
            server.add_klines(coin.replace("-", ""), "1d", rows)
        env = _env(
            tmp_path,
            HURACAN_MARKET__SOURCE="ccxt",
            HURACAN_MARKET__API_URL=server.url,
            HURACAN_MARKET__MAX_RETRIES="1",
            HURACAN_MARKET__REQUEST_TIMEOUT_S="5",
        )
        args = ["run", "--date", day.isoformat(), "--symbols", ",".join(coins)]
        # the exchange answers the universe (markets, tickers, listing ages), then goes down
        proc = subprocess.Popen(
            [*HUARACAN, *args], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        universe = tmp_path / "home" / "runs" / f"{day:%Y%m%d}Z" / "universe.json"
        deadline = time.monotonic() + 120
        while not universe.is_file() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        server._slots = []  # noqa: SLF001 - the deck of faults dealt so far
        server.fault_rate = 1.0
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 1 and "Traceback" not in out, out[-3000:]
        entries = _status(tmp_path / "home", day)
        assert {e["stage"] for e in entries.values()} == {"candles"}, entries
        assert {e["status"] for e in entries.values()} == {"failed"}
        server.fault_rate = 0.0
        server._slots = []  # noqa: SLF001 - the deck of faults dealt so far
        back = _huracan(env, *args)
        _stop_ray(env)
    out = back.stdout + back.stderr
    assert back.returncode == 0, out[-3000:]
    assert (
        "candles (3 coins), market_context, features (3 coins), shared_encoder, model (3 coins), roster"
        in out
    ), out[-2000:]
    entries = _status(tmp_path / "home", day)
    assert {e["status"] for e in entries.values()} <= {"success", "skipped"}, entries
    assert (tmp_path / "home" / "exports" / day.isoformat() / "performance_summary.json").is_file()
