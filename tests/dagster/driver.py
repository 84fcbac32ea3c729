"""Drive the night's declarative automation in a test, tick by tick, the way the daemon does: evaluate
the automation sensor's conditions, then execute what they requested — a per-coin layer as one ranged
run per unbroken block of coins (what its backfill does under `BackfillPolicy.single_run`), day-level
assets of the same date requested together in one run."""

from __future__ import annotations

from dataclasses import dataclass

from dagster import AssetKey, DagsterInstance, evaluate_automation_conditions

from huracan_dagster.night.launch import RunOutcome, execute
from huracan_dagster.night.state import symbol_order
from huracan_dagster.partitions import block_tags, ranges, split_key

PER_COIN = ("candles", "features", "model")
DAILY = ("market_context", "shared_encoder", "roster", "exports")


@dataclass
class Launched:
    tick: int
    assets: tuple[str, ...]
    keys: list[str]
    outcome: RunOutcome


def requests(result, instance: DagsterInstance) -> list[tuple[tuple[str, ...], dict[str, str], list[str]]]:
    out = []
    order = symbol_order(instance)
    for asset in PER_COIN:
        keys = sorted(str(k) for k in result.get_requested_partitions(AssetKey(asset)))
        by_day: dict = {}
        for key in keys:
            day, symbol = split_key(key)
            by_day.setdefault(day, []).append(symbol)
        for day, coins in sorted(by_day.items()):
            for block in ranges(day, coins, order):
                out.append(((asset,), block_tags(day, block), [f"{day}|{c}" for c in block]))
    daily: dict[str, list[str]] = {}
    for asset in DAILY:
        for key in result.get_requested_partitions(AssetKey(asset)):
            daily.setdefault(str(key), []).append(asset)
    for key, assets in sorted(daily.items()):
        out.append((tuple(assets), {"dagster/partition": key}, [key]))
    return out


class Driver:
    """The automation sensor's ticks, with its cursor kept between them (as the daemon keeps it)."""

    def __init__(self, instance: DagsterInstance) -> None:
        from huracan_dagster.definitions import defs

        self.instance = instance
        self.defs = defs
        self.cursor = None
        self.ticks = 0
        self.tick()  # the first evaluation only records the state it starts from

    def tick(self) -> list[tuple[tuple[str, ...], dict[str, str], list[str]]]:
        result = evaluate_automation_conditions(defs=self.defs, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        self.ticks += 1
        return requests(result, self.instance)

    def drive(self, max_ticks: int = 20) -> list[Launched]:
        """Tick until the automation requests nothing more; returns every run it launched, in order."""
        launched: list[Launched] = []
        for _ in range(max_ticks):
            wanted = self.tick()
            if not wanted:
                return launched
            for assets, tags, keys in wanted:
                launched.append(Launched(self.ticks, assets, keys, execute(self.instance, assets, tags=tags)))
        raise AssertionError(f"automation still requesting runs after {max_ticks} ticks: {launched[-3:]}")
