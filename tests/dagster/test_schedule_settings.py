"""The schedule settings checked at load (huracan_core/cron.py, zoneinfo) agree with what Dagster accepts.

Why: huracan_core cannot import Dagster, so its cron and time-zone checks are its own; a setting they pass
must never break the code location later, and a setting Dagster schedules must not be refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterInvalidDefinitionError, ScheduleDefinition, job, op
from dagster._utils.schedules import is_valid_cron_string

from huracan_core.cron import CronError, check_cron

# Dagster schedules these: so must the settings
AGREED_VALID = [
    "0 2 * * *",
    "*/15 * * * *",
    "5/15 * * * *",
    "0 22-2 * * *",
    "0 2 1-31/2 * *",
    "0 2 * jan mon",
    "0 2 * JAN-MAR MON-FRI",
    "0 2 * * MON,WED",
    "0 2 ? * *",
    "0 2 * * ?",
    "0 2 L * *",
    "0 2 * * 1#2",
    "0 2 * * 7",
    "0 2 * * 0-7",
    "00 02 * * *",
    " 0  2 * * * ",
    "0 2 29 2 *",
]
# Dagster refuses these: so must the settings
AGREED_INVALID = [
    "99 2 * * *",
    "0 24 * * *",
    "0 2 0 * *",
    "0 2 32 * *",
    "0 2 * 13 *",
    "0 2 * * 8",
    "*/0 * * * *",
    "-1 2 * * *",
    "0,,1 * * * *",
    "H 2 * * *",
    "0 2 * * 5L",
    "0 2 W * *",
    "0 2 * * * *",
    "0 2 30 2 *",
]
# Dagster accepts these, but they never fire: refused at load on purpose
NEVER_FIRE = ["0 2 30,31 2 *", "0 2 31 4 *", "0 2 31 4,6,9,11 *"]


@pytest.mark.parametrize("expression", AGREED_VALID)
def test_cron_valid_for_both(expression: str) -> None:
    assert is_valid_cron_string(expression)
    assert check_cron(expression) == expression


@pytest.mark.parametrize("expression", AGREED_INVALID)
def test_cron_invalid_for_both(expression: str) -> None:
    assert not is_valid_cron_string(expression)
    with pytest.raises(CronError):
        check_cron(expression)


@pytest.mark.parametrize("expression", NEVER_FIRE)
def test_cron_that_never_fires_is_refused(expression: str) -> None:
    with pytest.raises(CronError, match="never fire"):
        check_cron(expression)


@op
def _noop() -> None:
    pass


@job
def _noop_job() -> None:
    _noop()


@pytest.mark.parametrize(
    ("name", "valid"),
    [("UTC", True), ("Europe/Zurich", True), ("America/New_York", True), ("Mars/Olympus", False)],
)
def test_timezone_agrees_with_dagster(home: Path, name: str, valid: bool) -> None:
    from huracan_core.config import ConfigError, load_settings

    try:
        ScheduleDefinition(name="probe", cron_schedule="0 2 * * *", execution_timezone=name, job=_noop_job)
        dagster_ok = True
    except DagsterInvalidDefinitionError:
        dagster_ok = False
    assert dagster_ok is valid
    if valid:
        assert load_settings(schedule={"timezone": name}).schedule.timezone == name
    else:
        with pytest.raises(ConfigError, match="schedule.timezone"):
            load_settings(schedule={"timezone": name})
