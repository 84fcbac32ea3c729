"""Partitions: daily dates, the dynamic `symbols` set, and date × symbol for per-coin assets.

Keys look like `2026-04-20|BTC-USDT` (dimensions sorted by name). Symbols are normalised before they
become keys: Dagster does not validate dynamic keys and `|`, `,`, `/` would break them.

Dates start at `schedule.first_date` (the history the desk keeps): per-coin partitions number
coins-ever-seen × days since then, which Dagster recommends keeping under 100,000 per asset.

A run over several coins of a date is a *ranged* run: Dagster orders date × symbol keys by date, then by
the symbols' insertion order, and a run covers one unbroken range of that order (its range tags).
"""

from __future__ import annotations

from collections.abc import Iterable
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
RECOMMENDED_MAX_PARTITIONS = 100_000  # Dagster's advice per asset; beyond it the UI slows down
# Dagster's run tags for a ranged run (dagster/_core/storage/tags.py; pinned by a test)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

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


def ranges(day: date, coins: Iterable[str], order: list[str]) -> list[list[str]]:
    """`coins` of `day` split into the fewest unbroken blocks of `order` (the dynamic symbols' order):
    one ranged run each (`block_tags`)."""
    wanted = {normalise_symbol(c) for c in coins}
    out: list[list[str]] = []
    block: list[str] = []
    for symbol in order:
        if symbol in wanted:
            block.append(symbol)
        elif block:
            out.append(block)
            block = []
    if block:
        out.append(block)
    return out


def block_tags(day: date, block: list[str]) -> dict[str, str]:
    """The run tags of a ranged run over one unbroken block of a date's coins."""
    return {RANGE_START_TAG: str(coin_key(day, block[0])), RANGE_END_TAG: str(coin_key(day, block[-1]))}
