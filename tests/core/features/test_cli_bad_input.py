"""`features compute` on a bad candle file: exit 2 with one line naming the option, the file and what is
wrong, no traceback, and nothing written (never features dated 1970, never features over NaN prices)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from click.testing import Result
from typer.testing import CliRunner

from huracan_core.features.cli import features_app
from tests.core.candles.bad_files import BAD_FILES

RUNNER = CliRunner()


def compute(tmp_path: Path, source: Path, *extra: str) -> tuple[Result, Path]:
    out = tmp_path / "out" / "features.parquet"
    args = ["compute", "--input", str(source), "--output", str(out), *extra]
    return RUNNER.invoke(features_app, args), out


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_input_file_is_named_in_one_line_and_nothing_is_written(
    case: str, tmp_path: Path, shared_data: Path
) -> None:
    bad = BAD_FILES[case]
    source = tmp_path / bad.name
    source.write_bytes(bad.make(shared_data))
    result, out = compute(tmp_path, source, "--timeframe", "1d")
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    message = result.output.strip()
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"--input {source}: ")
    assert re.search(bad.says.replace("market.timeframe '1d'", "--timeframe 1d"), message), message
    assert not out.exists()


def test_second_resolution_timestamps_never_become_features_dated_1970(
    tmp_path: Path, shared_data: Path
) -> None:
    source = tmp_path / "ADA-USDT.csv"
    source.write_bytes(BAD_FILES["seconds"].make(shared_data))
    result, out = compute(tmp_path, source)
    assert result.exit_code == 2 and "timestamps look like seconds, not milliseconds" in result.output
    assert not out.exists()


def test_a_bad_reference_file_is_named_by_its_option(tmp_path: Path, shared_data: Path) -> None:
    btc = tmp_path / "BTC-USDT.csv"
    btc.write_bytes(BAD_FILES["nan_close"].make(shared_data))
    result, out = compute(tmp_path, shared_data / "binance" / "1d" / "ETH-USDT.csv", "--btc", str(btc))
    assert result.exit_code == 2
    assert result.output.startswith(f"--btc {btc}: ") and "close is nan" in result.output
    assert not out.exists()


def test_a_byte_order_mark_is_read_like_the_plain_file(tmp_path: Path, shared_data: Path) -> None:
    plain = shared_data / "binance" / "1d" / "ADA-USDT.csv"
    marked = tmp_path / "ADA-USDT-bom.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    first, out = compute(tmp_path, plain)
    assert first.exit_code == 0, first.output
    expected = pl.read_parquet(out)
    second, out = compute(tmp_path, marked)
    assert second.exit_code == 0, second.output
    assert pl.read_parquet(out).equals(expected)


def test_a_bad_timeframe_is_one_line(tmp_path: Path, shared_data: Path) -> None:
    result, out = compute(tmp_path, shared_data / "binance" / "1d" / "ADA-USDT.csv", "--timeframe", "2d")
    assert result.exit_code == 2
    assert result.output.strip().startswith("--timeframe: unknown timeframe '2d'")
    assert "\n" not in result.output.strip() and not out.exists()


def test_an_output_that_cannot_be_written_is_one_line(tmp_path: Path, shared_data: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a folder is expected")
    out = tmp_path / "blocker" / "features.parquet"
    args = ["compute", "--input", str(shared_data / "binance" / "1d" / "ADA-USDT.csv"), "--output", str(out)]
    result = RUNNER.invoke(features_app, args)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    message = result.output.strip()
    assert "\n" not in message and message.startswith(f"--output {out}: cannot be written (")
