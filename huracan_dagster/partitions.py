"""Partitions: daily dates, the dynamic `symbols` set, and date × symbol for per-coin assets.

Keys look like `2026-04-20|BTC-USDT` (dimensions sorted by name). Symbols are normalised before they
become keys: Dagster does not validate dynamic keys and `|`, `,`, `/` would break them.
"""

from __future__ import annotations

from datetime import date

from dagster import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    MultiToSingleDimensionPartitionMapping,
)

from huracan_core.config import load_settings
from huracan_core.symbols import normalise_symbol

FIRST_DATE = load_settings().schedule.first_date

daily = DailyPartitionsDefinition(start_date=FIRST_DATE.isoformat(), timezone="UTC")
symbols = DynamicPartitionsDefinition(name="symbols")
date_symbol = MultiPartitionsDefinition({"date": daily, "symbol": symbols})
by_date = MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")


def coin_key(day: date | str, symbol: str) -> MultiPartitionKey:
    return MultiPartitionKey({"date": str(day), "symbol": normalise_symbol(symbol)})


def split_key(key: str | MultiPartitionKey) -> tuple[date, str]:
    """`2026-04-20|BTC-USDT` → (date, symbol)."""
    if isinstance(key, MultiPartitionKey):
        dims = key.keys_by_dimension
        return date.fromisoformat(dims["date"]), dims["symbol"]
    day, symbol = str(key).split("|")
    return date.fromisoformat(day), symbol
