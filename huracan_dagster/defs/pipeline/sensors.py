"""`chain_sensor`: carries every day whose universe was materialised, whatever its date, to its exports.

Why one sensor and a cursor of open days: the nightly schedule, a UI backfill of `universe` for dates a
year ago, or a "Materialize all" of one date all start a generation by materialising `universe`. The
sensor reads those materialisations in order (cursor `after`) and keeps each day *open* until its last
step is done. When the planner has work for an open day and no night run of that day is in flight, it
requests one `night_job` run for the day, which executes every due step as its own run (see
`night.py`). The day's coins are added to the dynamic `symbols` partitions in the same `SensorResult`.
Run keys make a request idempotent.

Steps whose assets a running backfill targets on that day are the backfill's: they alone are no
reason to start a night (the night run, once started, leaves them to the backfill and waits for them).
While a `huracan run` on this host is carrying a day itself, or the nightly schedule's night run (which
materialises the universe and carries the day in one run), no night run is started for it (it would race
that process's runs); once that process is gone, the sensor finishes whatever it left.
A night run that died with its process (kill -9) leaves its runs in flight: each tick marks such runs
on this host failed (`reap_orphans`), and the next night run picks the day up where it stopped.
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
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus

from huracan_core.config import load_settings
from huracan_dagster.defs.pipeline.night import NIGHT_JOB, night_job
from huracan_dagster.defs.pipeline.plan import (
    IN_FLIGHT,
    STEP_BY_NAME,
    STEPS,
    TAG_DATE,
    TAG_GENERATION,
    day_state,
    next_steps,
)
from huracan_dagster.partitions import symbols

DAYS_PER_TICK = 20  # open days evaluated per tick (oldest first); the rest wait for the next tick
RECORDS_PER_TICK = 100
NIGHT_ATTEMPTS = 3  # night runs per generation: a night that keeps dying is left for a human


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


def _night_runs(instance: DagsterInstance, generation: str) -> list:
    return instance.get_run_records(RunsFilter(job_name=NIGHT_JOB, tags={TAG_GENERATION: generation}))


# the daemon's sensor loop runs every 5 s: a minimum interval of 5 s fell just short on every other loop
# and made the chain wait ~10 s per tick; under 5 s it is evaluated on each loop (one cheap query when
# no day is open)
@sensor(jobs=[night_job], minimum_interval_seconds=2, default_status=DefaultSensorStatus.RUNNING)
def chain_sensor(context: SensorEvaluationContext) -> SensorResult:
    from huracan_dagster.runner import carried_by_live_process, reap_orphans

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
        day = date.fromisoformat(day_text)
        if reap_orphans(instance, day):
            context.log.warning(f"{day_text}: marked failed the runs of a night process that died")
        state = day_state(instance, day)
        if state.generation is None or state.finished():
            continue
        still_open.append(day_text)
        for symbol in state.generation.symbols:
            if symbol not in known:
                known.add(symbol)
                new.append(symbol)
        theirs = busy.get(day_text, set())
        due = [
            step
            for step in next_steps(state, skip_started=True, training=training)
            if not theirs & {(a, step.partition_key) for a in STEP_BY_NAME[step.step].assets}
        ]
        nights = _night_runs(instance, state.generation.run_id)
        if not due or any(r.dagster_run.status in IN_FLIGHT for r in nights):
            continue
        if carried_by_live_process(instance, state.generation.run_id):
            continue  # `huracan run` or the scheduled night run carries it; if it dies, the next tick takes over
        if len(nights) >= NIGHT_ATTEMPTS:
            context.log.error(
                f"{day_text}: {len(nights)} night runs of generation {state.generation.run_id} ended with "
                f"steps still due ({', '.join(s.step for s in due[:5])}): not starting another"
            )
            continue
        requests.append(
            RunRequest(
                job_name=NIGHT_JOB,
                partition_key=day_text,
                run_key=f"{state.generation.run_id}:night" + (f":{len(nights)}" if nights else ""),
                tags={TAG_DATE: day_text, TAG_GENERATION: state.generation.run_id},
            )
        )
    cursor.open = still_open
    context.update_cursor(cursor.dump())
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[symbols.build_add_request(new)] if new else [],
    )
