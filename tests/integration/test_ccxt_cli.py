"""`huracan candles sync` end to end: settings from the environment, the real ccxt client, the loopback
Binance server, a remote folder; then a second machine restores from the remote without a request."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from huracan_core.candles.cli import candles_app
from tests.support.binance_server import BinanceServer, csv_candles

runner = CliRunner()


def test_cli_syncs_from_the_exchange_skips_a_bad_coin_and_restores_elsewhere(
    shared_data: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = tmp_path / "remote"
    with BinanceServer(shared_data, now=datetime(2022, 10, 1, 12, tzinfo=UTC)) as server:
        monkeypatch.setenv("HURACAN_MARKET__SOURCE", "ccxt")
        monkeypatch.setenv("HURACAN_MARKET__API_URL", server.url)
        monkeypatch.setenv("HURACAN_STORAGE__REMOTE_DIR", str(remote))
        args = [
            "sync",
            "--symbols",
            "BTC-USDT,ETH-USDT,NOPE-USDT",
            "--timeframe",
            "1d",
            "--since",
            "2021-01-01",
            "--until",
            "2022-09-30",
        ]
        result = runner.invoke(candles_app, args)
        assert result.exit_code == 1, result.output  # NOPE-USDT is not listed: skipped, the others synced
        assert "skipped NOPE-USDT" in result.output and "not listed" in result.output
        assert "1,276 bars added, 5 requests made, 0 gaps" in result.output
        assert dict(server.counts) == {"exchangeInfo": 1, "klines": 4}  # per coin: listing + one page

        stored = pl.read_parquet(home / "data" / "candles" / "1d" / "BTC-USDT.parquet")
        want = csv_candles(shared_data, "1d", "BTC-USDT").filter(
            pl.col("timestamp").is_between(
                datetime(2021, 1, 1, tzinfo=UTC), datetime(2022, 9, 30, tzinfo=UTC)
            )
        )
        assert stored.equals(want)

        # another machine: empty local cache, same remote -> restored, not a single request
        server.reset_counts()
        monkeypatch.setenv("HURACAN_HOME", str(tmp_path / "other"))
        again = runner.invoke(
            candles_app,
            [
                "sync",
                "--symbols",
                "BTC-USDT,ETH-USDT",
                "--timeframe",
                "1d",
                "--since",
                "2021-01-01",
                "--until",
                "2022-09-30",
                "--json",
            ],
        )
        assert again.exit_code == 0, again.output
        out = json.loads(again.output)
        assert out["requests"] == 0 and server.total_requests == 0
        assert [(r["restored"], r["bars_added"], r["bars_total"]) for r in out["reports"]] == [
            (True, 0, 638)
        ] * 2
    assert pl.read_parquet(tmp_path / "other" / "data" / "candles" / "1d" / "ETH-USDT.parquet").height == 638
