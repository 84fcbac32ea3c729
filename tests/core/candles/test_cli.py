"""`huracan candles sync` on the offline synthetic market: output, idempotence, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from huracan_core.candles.cli import candles_app

runner = CliRunner()


def test_sync_prints_bars_requests_gaps_and_is_idempotent(home: Path) -> None:
    args = [
        "sync",
        "--symbols",
        "ALFA-USDT,BRAVO-USDT",
        "--timeframe",
        "1d",
        "--since",
        "2023-01-01",
        "--until",
        "2023-12-31",
    ]
    first = runner.invoke(candles_app, args)
    assert first.exit_code == 0, first.output
    assert "ALFA-USDT" in first.output and "BRAVO-USDT" in first.output
    assert "730 bars added, 0 requests made, 0 gaps" in first.output
    stored = pl.read_parquet(home / "data" / "candles" / "1d" / "ALFA-USDT.parquet")
    assert stored.height == 365 and str(stored["timestamp"].max()) == "2023-12-31 00:00:00+00:00"

    again = runner.invoke(candles_app, [*args, "--json"])
    assert again.exit_code == 0, again.output
    out = json.loads(again.output)
    assert [r["bars_added"] for r in out["reports"]] == [0, 0]
    assert all(r["skipped_fresh"] for r in out["reports"])


def test_a_failing_coin_is_skipped_and_the_others_go_on(home: Path) -> None:
    result = runner.invoke(
        candles_app,
        [
            "sync",
            "--symbols",
            "NOPE-USDT,ALFA-USDT",
            "--timeframe",
            "1d",
            "--since",
            "2023-06-01",
            "--until",
            "2023-06-30",
        ],
    )
    assert result.exit_code == 1
    assert "skipped NOPE-USDT" in result.output and "30 bars added" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "BTC/USDT/X", "--since", "2023-01-01"], "--symbols"),
        (["--symbols", "BTC-USDT", "--since", "2023-13-01"], "--since"),
        (["--symbols", "BTC-USDT", "--since", "2023-01-01", "--timeframe", "7m"], "--timeframe"),
        (["--symbols", "BTC-USDT", "--since", "2023-02-01", "--until", "2023-01-01"], "before --since"),
    ],
)
def test_bad_options_exit_2_with_the_reason(home: Path, args: list[str], message: str) -> None:
    result = runner.invoke(candles_app, ["sync", *args])
    assert result.exit_code == 2 and message in result.output
