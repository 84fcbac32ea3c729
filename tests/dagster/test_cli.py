"""`huracan` argument handling: dates inside the partitions, --top in range, --symbols exclusive with --top.

The pin parsing itself (lists, CSV files, BOM, duplicates, sorting) is tested in tests/core/test_run_request.py;
every command with bad input in tests/integration/test_cli_errors.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from huracan_dagster.cli import app, register_subapps

register_subapps()  # what the console script does first: names the lazily loaded commands (export, report, ...)


def test_symbols_and_top_are_exclusive(home: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--symbols", "BTC-USDT", "--top", "3", "--date", "2026-04-20"])
    assert result.exit_code == 2


def test_future_date_is_refused(home: Path) -> None:
    result = CliRunner().invoke(app, ["run", "--date", "2999-01-01"])
    assert result.exit_code == 2


@pytest.mark.parametrize("command", ["run", "universe", "export", "report"])
def test_a_date_before_the_first_partition_names_schedule_first_date(home: Path, command: str) -> None:
    """Before: `run --date 1990-01-01` was a DagsterUnknownPartitionError traceback (universe: an empty
    table, exit 0), never naming schedule.first_date."""
    result = CliRunner().invoke(app, [command, "--date", "1990-01-01"])
    assert result.exit_code == 2, result.output
    assert "--date 1990-01-01 is before schedule.first_date 2025-01-01" in result.output
    assert "HURACAN_SCHEDULE__FIRST_DATE" in result.output


def test_first_date_follows_the_setting(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HURACAN_SCHEDULE__FIRST_DATE", "2025-06-01")
    result = CliRunner().invoke(app, ["universe", "--date", "2025-05-31"])
    assert result.exit_code == 2 and "before schedule.first_date 2025-06-01" in result.output
    assert CliRunner().invoke(app, ["universe", "--date", "2025-06-01", "--json"]).exit_code == 0


@pytest.mark.parametrize("top", ["0", "-3", "501"])
def test_universe_top_out_of_range_is_refused(home: Path, top: str) -> None:
    """Before: `universe --top 0` printed an empty selection and exit 0 (`run --top 0` wiped a night)."""
    result = CliRunner().invoke(app, ["universe", "--date", "2025-11-10", "--top", top])
    assert result.exit_code == 2, result.output
    assert f"--top {top}: must be" in result.output
