"""The night's state, read from Dagster's own records (the one source of truth).

A *generation* of date D is one materialisation of `universe` for D: it fixes the day's coins. Within a
generation, a coin's outcome at each per-coin layer (`coin`, `candles`, `features`, `model`) is its latest
event of that layer after the generation began: a materialisation (done), or an observation the step
recorded with `status` = `skipped` (not trained, with the reason) or `failed` (with the error). A run that
planned the coin and ended badly without either (a crash, a cancel from the UI) counts as failed too.

`write_status` turns this into the seed's `runs/{YYYYMMDD}Z/status.json`, so that file is a view of
Dagster's records, rebuilt whole whenever a step of the night ends (an unreadable one is simply rebuilt).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DagsterRunStatus,
    EventLogRecord,
    RunsFilter,
)

from huracan_core.config import Settings
from huracan_core.ledger import CoinEntry, LedgerError, RunLedger
from huracan_core.outputs import outputs_problem
from huracan_core.paths import EngineHome
from huracan_dagster.partitions import RANGE_END_TAG, RANGE_START_TAG, coin_key, split_key, symbols

UNIVERSE = "universe"
COIN_LAYERS = ("coin", "candles", "features", "model")  # per-coin assets, in graph order (`coin`: the
# universe step's record of each selected coin)
UPSTREAM = {"candles": "coin", "features": "candles", "model": "features"}
TAG_FORCE = "huracan/force"  # a run with this tag "true" redoes coins and days that are already complete
TAG_TRIGGER = "huracan/trigger"  # who launched a run: cli, schedule (automation and the UI add their own)
STATUS_KEY = "status"
IN_FLIGHT = (
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
)
ENDED_BADLY = (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED)


@dataclass(frozen=True)
class Generation:
    run_id: str
    storage_id: int
    timestamp: float
    symbols: list[str]
    requested: dict[str, Any]


def generation(instance: DagsterInstance, day: date) -> Generation | None:
    """The latest universe of `day` (None: the day has none yet)."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(UNIVERSE), asset_partitions=[day.isoformat()]), limit=1
    ).records
    if not records:
        return None
    record = records[0]
    meta = record.asset_materialization.metadata if record.asset_materialization else {}
    chosen = list(meta["symbols"].value) if "symbols" in meta else []
    requested = dict(meta["requested"].value) if "requested" in meta else {}
    return Generation(record.run_id, record.storage_id, record.timestamp, chosen, requested)


def _latest(
    instance: DagsterInstance, kind: str, asset: str, keys: list[str], after: int
) -> dict[str, EventLogRecord]:
    """The newest materialisation (or observation) per key of `asset` after storage id `after`."""
    if not keys:
        return {}
    fetch = instance.fetch_materializations if kind == "materialization" else instance.fetch_observations
    out: dict[str, EventLogRecord] = {}
    cursor = None
    while True:
        result = fetch(
            AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=keys, after_storage_id=after),
            limit=1000,
            cursor=cursor,
        )
        for record in result.records:  # newest first
            if record.partition_key is not None:
                out.setdefault(record.partition_key, record)
        if not result.has_more:
            return out
        cursor = result.cursor


def _meta(record: EventLogRecord) -> dict[str, Any]:
    event = record.asset_materialization or record.asset_observation
    return {k: v.value for k, v in (event.metadata if event else {}).items()}


@dataclass
class LayerState:
    """Where each key of one per-coin layer stands in the generation."""

    done: dict[str, dict[str, Any]]  # key -> materialisation metadata
    skipped: dict[str, dict[str, Any]]  # key -> observation metadata
    failed: dict[str, dict[str, Any]]
    done_at: dict[str, float]
    storage_id: dict[str, int]  # key -> storage id of the record that gave its outcome (event order)

    def outcome(self, key: str) -> str | None:
        if key in self.done:
            return "done"
        if key in self.failed:
            return "failed"
        if key in self.skipped:
            return "skipped"
        return None


def layer_state(instance: DagsterInstance, asset: str, keys: list[str], gen: Generation) -> LayerState:
    """The latest outcome per key of a per-coin layer since the generation began (the newer of its
    materialisation and its observation wins: a healed coin is done, a redone-and-failed one failed)."""
    mats = _latest(instance, "materialization", asset, keys, gen.storage_id)
    obs = _latest(instance, "observation", asset, keys, gen.storage_id)
    state = LayerState({}, {}, {}, {}, {})
    for key in keys:
        mat, ob = mats.get(key), obs.get(key)
        if mat is not None and (ob is None or mat.storage_id > ob.storage_id):
            state.done[key] = _meta(mat)
            state.done_at[key] = mat.timestamp
            state.storage_id[key] = mat.storage_id
        elif ob is not None:
            meta = _meta(ob)
            (state.failed if meta.get(STATUS_KEY) == "failed" else state.skipped)[key] = meta
            state.storage_id[key] = ob.storage_id
    return state


def day_done(instance: DagsterInstance, asset: str, day: date, gen: Generation) -> dict[str, Any] | None:
    """The metadata of a day-level asset's materialisation in this generation, or None."""
    found = _latest(instance, "materialization", asset, [day.isoformat()], gen.storage_id)
    record = found.get(day.isoformat())
    return _meta(record) if record is not None else None


def complete(
    settings: Settings, asset: str, day: date, symbol: str | None, meta: dict[str, Any] | None
) -> str | None:
    """None when a recorded output is still on disk and intact, else what is wrong with it."""
    if meta is None:
        return "not materialised in this generation"
    return outputs_problem(settings, asset, day, symbol, meta.get("model_dir"))


def symbol_order(instance: DagsterInstance) -> list[str]:
    """The dynamic `symbols` partition keys in their order (the order Dagster ranges over)."""
    return list(instance.get_dynamic_partitions(symbols.name))


def keys_of_run(tags: dict[str, str], order: list[str]) -> set[str]:
    """The date x symbol keys a run covers: its single partition, or its partition range."""
    if "|" in tags.get("dagster/partition", ""):
        return {tags["dagster/partition"]}
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if not start or not end or "|" not in start:
        return set()
    (d0, s0), (d1, s1) = split_key(start), split_key(end)
    index = {s: i for i, s in enumerate(order)}
    lo, hi = (d0, index.get(s0, 0)), (d1, index.get(s1, len(order)))
    out = set()
    day = d0
    while day <= d1:
        for i, sym in enumerate(order):
            if lo <= (day, i) <= hi:
                out.add(str(coin_key(day, sym)))
        day = date.fromordinal(day.toordinal() + 1)
    return out


def _runs_since(instance: DagsterInstance, gen: Generation) -> list:
    after = datetime.fromtimestamp(gen.timestamp, UTC)
    return instance.get_run_records(RunsFilter(created_after=after), limit=2000)


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds") if ts else None


def coin_outcomes(instance: DagsterInstance, day: date) -> dict[str, CoinEntry] | None:
    """Every coin of the day's generation with its outcome (None: no universe yet)."""
    gen = generation(instance, day)
    if gen is None:
        return None
    keys = {s: str(coin_key(day, s)) for s in gen.symbols}
    layers = {asset: layer_state(instance, asset, list(keys.values()), gen) for asset in COIN_LAYERS}
    order = symbol_order(instance)
    running: dict[str, str] = {}
    crashed: dict[str, tuple[str, str]] = {}
    for record in _runs_since(instance, gen):
        run = record.dagster_run
        selected = {k.to_user_string() for k in (run.asset_selection or ())} & set(COIN_LAYERS)
        if not selected:
            continue
        covered = keys_of_run(dict(run.tags), order) & set(keys.values())
        for key in covered:
            for asset in selected:
                if run.status in IN_FLIGHT:
                    running[key] = asset
                elif run.status in ENDED_BADLY and layers[asset].outcome(key) is None:
                    crashed.setdefault(key, (asset, f"run {run.run_id[:8]} ended {run.status.value}"))
    out: dict[str, CoinEntry] = {}
    for symbol, key in keys.items():
        entry = CoinEntry()
        for asset in COIN_LAYERS:
            state = layers[asset]
            outcome = state.outcome(key)
            if outcome == "done":
                entry.stage = asset
                if asset == "model":
                    meta = state.done[key]
                    entry = CoinEntry(
                        status="success",
                        stage="model",
                        started_at=meta.get("started_at"),
                        ended_at=meta.get("ended_at") or _iso(state.done_at.get(key)),
                        wall_minutes=meta.get("wall_minutes"),
                        output_path=meta.get("model_dir"),
                        metrics_path=meta.get("metrics_path"),
                        retry_count=max(int(meta.get("attempts") or 1) - 1, 0),
                        reason=meta.get("decision"),
                        metrics=dict(meta.get("metrics") or {}),
                    )
                continue
            if outcome in ("failed", "skipped"):
                meta = (state.failed if outcome == "failed" else state.skipped)[key]
                entry = CoinEntry(
                    status="failed" if outcome == "failed" else "skipped",
                    stage=asset,
                    started_at=meta.get("started_at"),
                    ended_at=meta.get("ended_at"),
                    output_path=meta.get("model_dir") or None,
                    error=meta.get("error") or None,
                    error_type=meta.get("error_type") or None,
                    reason=meta.get("reason") or None,
                    retry_count=max(int(meta.get("attempts") or 1) - 1, 0),
                )
            elif key in crashed and crashed[key][0] == asset:
                entry = CoinEntry(
                    status="failed", stage=asset, error=crashed[key][1], error_type="RunFailure"
                )
            elif running.get(key) == asset:
                entry.status, entry.stage = "running", asset
            break
        out[symbol] = entry
    return out


def write_status(instance: DagsterInstance, settings: Settings, day: date) -> dict[str, CoinEntry]:
    """Rebuild the day's status.json from Dagster's records; returns its entries."""
    entries = coin_outcomes(instance, day)
    if entries is None:
        return {}
    ledger = RunLedger(EngineHome(settings.home), day)
    try:
        unchanged = ledger.entries() == entries
    except LedgerError:  # unreadable: rebuilt below
        unchanged = False
    if not unchanged:  # a night that did not change keeps its file byte for byte
        ledger.write(entries)
    return entries
