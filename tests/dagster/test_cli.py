"""`huracan run` argument handling: symbols from a list or a CSV file, exclusive with --top."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from huracan_dagster.cli import _symbols_from, app


def test_symbols_from_list_and_csv(tmp_path: Path) -> None:
    assert _symbols_from("btc/usdt, ETH-USDT,btc-usdt", None) == ["BTC-USDT", "ETH-USDT"]
    csv = tmp_path / "coins.csv"
    csv.write_text("symbol,note\nSOL-USDT,x\n# comment\nbtc_usdt,y\n\nSOL-USDT,again\n")
    assert _symbols_from(None, csv) == ["SOL-USDT", "BTC-USDT"]
    assert _symbols_from(None, None) is None
    csv.write_text("BTC|USDT\n")
    with pytest.raises(typer.Exit):
        _symbols_from(None, csv)


def test_symbols_and_top_are_exclusive(home: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--symbols", "BTC-USDT", "--top", "3", "--date", "2026-04-20"])
    assert result.exit_code == 2


def test_future_date_is_refused(home: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--date", "2999-01-01"])
    assert result.exit_code == 2
