"""`huracan run`'s up-front checks (huracan_core/run_request.py): pins, --top, pins the source lists.

Today an empty pin list trains the whole universe and replaces the pinned night, a BOM header fails as
symbol '\\ufeffsymbol', the same coins in another order are another night, and `--symbols NOPE-USDT` or
`--top 0` wipe a finished night with "no candles for any of the 0 coins"."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from huracan_core.config import load_settings
from huracan_core.run_request import (
    RunRequestError,
    RunSelection,
    check_pins_listed,
    check_run_request,
    check_top,
    parse_pins,
)

DAY = date(2025, 11, 10)


def test_pins_are_sorted_unique_and_normalised(tmp_path: Path) -> None:
    assert parse_pins("eth/usdt, BTC-USDT,btc_usdt", None) == ["BTC-USDT", "ETH-USDT"]
    assert parse_pins("BTC-USDT,ETH-USDT", None) == parse_pins("ETH-USDT,BTC-USDT", None)
    coins = tmp_path / "coins.csv"
    coins.write_text("symbol,note\nSOL-USDT,x\n# comment\nbtc_usdt,y\n\nSOL-USDT,again\n")
    assert parse_pins(None, coins) == ["BTC-USDT", "SOL-USDT"]
    assert parse_pins(None, None) is None


def test_a_byte_order_mark_is_read_not_taken_for_a_symbol(tmp_path: Path) -> None:
    coins = tmp_path / "excel.csv"
    coins.write_bytes("\ufeffsymbol\r\nETH-USDT\r\nBTC-USDT\r\n".encode())
    assert parse_pins(None, coins) == ["BTC-USDT", "ETH-USDT"]
    coins.write_bytes("\ufeffETH-USDT\n".encode())  # no header: the first symbol keeps its name
    assert parse_pins(None, coins) == ["ETH-USDT"]


@pytest.mark.parametrize("text", ["", ",,,", " , ,"])
def test_an_empty_symbols_option_is_refused(text: str) -> None:
    with pytest.raises(RunRequestError, match="--symbols .* names no symbol"):
        parse_pins(text, None)


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        ("", "holds no symbol"),
        ("\n\n# only comments\n", "holds no symbol"),
        ("symbol\n", "holds only a header"),
        ("\ufeffsymbol\n", "holds only a header"),
        ("symbol\nBTC|USDT\n", "line 2: symbol 'BTC|USDT' is not of the form BASE-QUOTE"),
        ("BTC-USDT;ETH-USDT\n", "line 1: symbol 'BTC-USDT;ETH-USDT'"),
    ],
)
def test_a_symbols_file_naming_no_coin_or_a_bad_one_is_refused(
    tmp_path: Path, content: str, fault: str
) -> None:
    coins = tmp_path / "coins.csv"
    coins.write_text(content, encoding="utf-8")
    with pytest.raises(RunRequestError) as err:
        parse_pins(None, coins)
    assert str(err.value).startswith(f"--symbols-file {coins}") and fault in str(err.value)


def test_a_missing_directory_or_binary_symbols_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RunRequestError, match="no such file"):
        parse_pins(None, tmp_path / "absent.csv")
    with pytest.raises(RunRequestError, match="not a file"):
        parse_pins(None, tmp_path)
    binary = tmp_path / "coins.parquet"
    binary.write_bytes(b"PAR1\xff\xfe\x00\x81")
    with pytest.raises(RunRequestError, match="not UTF-8 text"):
        parse_pins(None, binary)
    with pytest.raises(RunRequestError, match="exclusive"):
        parse_pins("BTC-USDT", binary)


def test_a_bad_symbol_on_the_command_line_is_named() -> None:
    with pytest.raises(RunRequestError, match=r"--symbols: symbol 'BTC\|USDT'"):
        parse_pins("ETH-USDT,BTC|USDT", None)


@pytest.mark.parametrize(("top", "fault"), [(0, "at least 1"), (-3, "at least 1"), (501, "at most 500")])
def test_top_out_of_range_is_refused_naming_top(top: int, fault: str) -> None:
    with pytest.raises(RunRequestError, match=f"--top {top}: must be {fault}"):
        check_top(top)


def test_top_in_range_passes() -> None:
    assert (check_top(None), check_top(1), check_top(500)) == (None, 1, 500)


def test_pins_the_source_does_not_list_are_named(home: Path) -> None:
    settings = load_settings()
    check_pins_listed(settings, DAY, ["ALFA-USDT", "BRAVO-USDT"])  # listed, active: no error
    check_pins_listed(settings, DAY, None)
    with pytest.raises(RunRequestError) as err:
        check_pins_listed(settings, DAY, ["ALFA-USDT", "NOPE-USDT", "ZZZ-USDT"])
    text = str(err.value)
    assert text.startswith(
        "--symbols: NOPE-USDT, ZZZ-USDT are not a market of the synthetic source on 2025-11-10"
    )
    assert "known: ALFA-USDT, BRAVO-USDT" in text and "ALFA-USDT," in text


def test_a_delisted_pin_is_named(home: Path) -> None:
    settings = load_settings()
    with pytest.raises(RunRequestError, match="SIERRA-USDT is delisted or inactive at the synthetic source"):
        check_pins_listed(settings, DAY, ["ALFA-USDT", "SIERRA-USDT"], option="--symbols-file")


def test_check_run_request_runs_every_check(home: Path, tmp_path: Path) -> None:
    settings = load_settings()
    assert check_run_request(settings, DAY, "BRAVO-USDT,ALFA-USDT", None, None) == RunSelection(
        ["ALFA-USDT", "BRAVO-USDT"], None
    )
    assert check_run_request(settings, DAY, None, None, 3) == RunSelection(None, 3)
    with pytest.raises(RunRequestError, match="exclusive"):
        check_run_request(settings, DAY, "ALFA-USDT", None, 3)
    with pytest.raises(RunRequestError, match="--top 0"):
        check_run_request(settings, DAY, None, None, 0)
    coins = tmp_path / "coins.csv"
    coins.write_text("symbol\nNOPE-USDT\n")
    with pytest.raises(RunRequestError, match="^--symbols-file: NOPE-USDT is not a market"):
        check_run_request(settings, DAY, None, coins, None)
