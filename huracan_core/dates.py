"""What a partition date means. Partition D covers the UTC day D; its run sees bars closed by D+1 00:00.

The 02:00 UTC schedule therefore materialises yesterday's partition, and `huracan run --date D`
reproduces exactly what that night saw.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def as_of_for(day: date) -> datetime:
    """The moment a partition's data is complete: the next UTC midnight."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def day_for(as_of: datetime) -> date:
    """The partition a moment belongs to (inverse of `as_of_for` at midnight)."""
    return (as_of.astimezone(UTC) - timedelta(microseconds=1)).date()


def last_complete_day(now: datetime | None = None) -> date:
    """Yesterday in UTC: the newest day whose bars have all closed."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).date() - timedelta(days=1)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"date {text!r} is not of the form YYYY-MM-DD") from None
