"""`chain_sensor`: carries every day whose universe was materialised, whatever its date, to its exports.

Why one sensor and a cursor of open days: the nightly schedule, a UI backfill of `universe` for dates a
year ago, or a "Materialize all" of one date all start a generation by materialising `universe`. The
sensor reads those materialisations in order (cursor `after`), keeps each day *open* until its last
step is done, and each tick asks the planner what may start for every open day. The day's coins are
added to the dynamic `symbols` partitions in the same `SensorResult` as their first runs (schedules cannot
add partitions). Run keys make a request idempotent.

A step whose assets a running backfill targets on that day is left to the backfill (requesting it here
would duplicate the backfill's runs); steps the backfill does not target go on at once (a backfill of
`universe` alone is carried from the first tick after each universe run), and once the backfill ends
the sensor finishes whatever it left (coins it did not target, the roster after a failed coin).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterInstance,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus

from huracan_core.config import load_settings
from huracan_dagster.defs.pipeline.plan import STEP_BY_NAME, STEPS, day_state, next_steps
from huracan_dagster.jobs import CHAINED_JOBS
from huracan_dagster.partitions import symbols

DAYS_PER_TICK = 20  # open days evaluated per tick (oldest first); the rest wait for the next tick
RECORDS_PER_TICK = 100


@dataclass
class ChainCursor:
    after: int = 0  # storage id of the last root materialisation read
    open: list[str] = field(default_factory=list)  # days whose last step is not done yet

    @classmethod
    def parse(cls, text: str | None) -> ChainCursor:
        if not text:
            return cls()
        data = json.loads(text)
        return cls(int(data.get("after", 0)), sorted(set(data.get("open", []))))

    def dump(self) -> str:
        return json.dumps({"after": self.after, "open": sorted(set(self.open))})


def backfilled_assets(instance: DagsterInstance) -> dict[str, set[tuple[str, str]]]:
    """Per date, the (asset, partition key) pairs that a still-running asset backfill targets on it."""
    out: dict[str, set[tuple[str, str]]] = {}
    for backfill in instance.get_backfills(filters=BulkActionsFilter(statuses=[BulkActionStatus.REQUESTED])):
        data = backfill.asset_backfill_data
        if data is None:
            continue
        for asset_partition in data.target_subset.iterate_asset_partitions():
            if asset_partition.partition_key:
                key = str(asset_partition.partition_key)
                out.setdefault(key.split("|")[0], set()).add(
                    (asset_partition.asset_key.to_user_string(), key)
                )
    return out


@sensor(jobs=CHAINED_JOBS, minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING)
def chain_sensor(context: SensorEvaluationContext) -> SensorResult:
    instance = context.instance
    cursor = ChainCursor.parse(context.cursor)
    root = AssetKey(STEPS[0].assets[0])
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=root, after_storage_id=cursor.after),
        limit=RECORDS_PER_TICK,
        ascending=True,
    ).records
    for record in records:
        if record.partition_key:
            cursor.open.append(record.partition_key)
        cursor.after = max(cursor.after, record.storage_id)
    open_days = sorted(set(cursor.open))
    busy = backfilled_assets(instance) if open_days else {}
    training = load_settings().training
    known = set(instance.get_dynamic_partitions(symbols.name))
    new: list[str] = []
    requests: list[RunRequest] = []
    still_open = []
    for i, day_text in enumerate(open_days):
        if i >= DAYS_PER_TICK:
            still_open.append(day_text)
            continue
        state = day_state(instance, date.fromisoformat(day_text))
        if state.generation is None or state.finished():
            continue
        still_open.append(day_text)
        for symbol in state.generation.symbols:
            if symbol not in known:
                known.add(symbol)
                new.append(symbol)
        for step in next_steps(state, skip_started=True, training=training):
            if busy.get(day_text, set()) & {(a, step.partition_key) for a in STEP_BY_NAME[step.step].assets}:
                continue  # a running backfill targets this step's assets on that day: it runs them
            requests.append(
                RunRequest(
                    job_name=step.job, partition_key=step.partition_key, run_key=step.run_key, tags=step.tags
                )
            )
    cursor.open = still_open
    context.update_cursor(cursor.dump())
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[symbols.build_add_request(new)] if new else [],
    )
