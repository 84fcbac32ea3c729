"""Check a 5-field cron expression the way Dagster's schedule will read it, at settings load.

Why here and not croniter: Dagster vendors its own croniter and adds rules of its own (five fields only,
no 30/31 February), so a second copy from PyPI would be one more version to keep in step and still not
say what Dagster says; huracan_core must not import Dagster. This checks the syntax Dagster's cron reads
(numbers, names, `*`, `?`, ranges, steps, lists, `L` for the last day, `d#n` for the n-th weekday), every
value's range, and refuses a day of the month that never occurs in the chosen months (the schedule would
never fire). tests/dagster/test_schedule_settings.py pins the agreement with Dagster.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_ITEM = re.compile(r"^(?P<base>\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:/(?P<step>[^/]*))?$")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day-of-month", 1, 31, {}),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 0, 7, _DAYS),
)


class CronError(ValueError):
    """A cron expression Dagster would refuse (or that never fires); the message names the field."""


def _value(text: str, field: _Field) -> int:
    word = text.lower()
    if word in field.names:
        return field.names[word]
    if not text.isdigit():
        allowed = f"a number {field.low}-{field.high}"
        if field.names:
            allowed += " or a name such as " + ", ".join(list(field.names)[:3])
        raise CronError(f"{field.name} {text!r} is not {allowed}")
    value = int(text)
    if not field.low <= value <= field.high:
        raise CronError(f"{field.name} {value} is out of range {field.low}-{field.high}")
    return value


def _item(text: str, field: _Field) -> set[int]:
    """The values one comma-separated item of a field stands for (used for the never-fires check)."""
    if text == "?" and field.name in ("day-of-month", "day-of-week"):
        return set(range(field.low, field.high + 1))
    if text == "L" and field.name == "day-of-month":
        return {28}  # the last day exists in every month
    if field.name == "day-of-week" and "#" in text:
        day, _, nth = text.partition("#")
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise CronError(f"day-of-week {text!r}: the n of d#n must be 1-5")
        return {_value(day, field)}
    match = _ITEM.match(text)
    if match is None:
        raise CronError(f"{field.name} {text!r} is not a value, range (a-b), step (*/n) or list (a,b)")
    base, step = match["base"], match["step"]
    if step is not None and (not step.isdigit() or int(step) < 1):
        raise CronError(f"{field.name} {text!r}: the step after '/' must be a whole number of at least 1")
    if base == "*":
        values = list(range(field.low, field.high + 1))
    else:
        first, _, last = base.partition("-")
        lo = _value(first, field)
        hi = _value(last, field) if last else (field.high if step else lo)
        # a reversed range wraps around (22-2 is 22, 23, 0, 1, 2), as Dagster's croniter reads it
        values = (
            list(range(lo, hi + 1)) if lo <= hi else [*range(lo, field.high + 1), *range(field.low, hi + 1)]
        )
    return set(values[:: int(step)] if step else values)


def check_cron(expression: str) -> str:
    """Return `expression` when Dagster can schedule it; raise `CronError` naming the field at fault."""
    parts = expression.split()
    if len(parts) != 5:
        raise CronError(
            "must be a 5-field cron expression (minute hour day-of-month month day-of-week) such as '0 2 * * *'"
        )
    values: list[set[int]] = []
    for text, field in zip(parts, FIELDS, strict=True):
        items = text.split(",")
        if any(not item for item in items):
            raise CronError(f"{field.name} {text!r} has an empty item in its list")
        values.append(set().union(*(_item(item, field) for item in items)))
    days, months = values[2], values[3]
    if parts[4] in ("*", "?"):  # with a weekday set, cron fires on either, so the day of the month may not
        longest = max(calendar.monthrange(2024, m)[1] for m in months)  # 2024: February has its 29th
        if min(days) > longest:
            month_names = ", ".join(calendar.month_abbr[m] for m in sorted(months))
            raise CronError(
                f"day-of-month {parts[2]} never occurs in {month_names}: the schedule would never fire"
            )
    return expression
