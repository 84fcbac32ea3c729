"""`symbols_sensor`: each new `universe` materialisation adds its coins to the dynamic `symbols`
partitions and requests their `candles` runs in the same tick (schedules cannot add partitions)."""

from __future__ import annotations

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from huracan_dagster.defs.pipeline.plan import TAG_DATE, TAG_GENERATION, TAG_STEP
from huracan_dagster.jobs import candles_job
from huracan_dagster.partitions import coin_key, symbols


@sensor(jobs=[candles_job], minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
def symbols_sensor(context: SensorEvaluationContext) -> SensorResult:
    instance = context.instance
    cursor = int(context.cursor or 0)
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("universe"), after_storage_id=cursor), limit=50, ascending=True
    ).records
    known = set(instance.get_dynamic_partitions(symbols.name))
    new: list[str] = []
    requests: list[RunRequest] = []
    for record in records:
        metadata = record.asset_materialization.metadata if record.asset_materialization else {}
        day = record.partition_key
        for symbol in metadata["symbols"].value if "symbols" in metadata else []:
            if symbol not in known:
                known.add(symbol)
                new.append(symbol)
            key = str(coin_key(day, symbol))
            requests.append(
                RunRequest(
                    job_name=candles_job.name,
                    partition_key=key,
                    run_key=f"{record.run_id}:candles:{key}",
                    tags={TAG_DATE: day, TAG_STEP: f"candles:{key}", TAG_GENERATION: record.run_id},
                )
            )
        cursor = max(cursor, record.storage_id)
    context.update_cursor(str(cursor))
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[symbols.build_add_request(new)] if new else [],
    )
