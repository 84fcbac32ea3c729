"""`night_automation`: Dagster's declarative-automation sensor over the night's assets. It evaluates the
conditions of `huracan_dagster.automation` every few seconds and requests each layer of a date once its
inputs are ready; several coins of a layer become one backfill, which Dagster runs as one ranged run per
unbroken block of coins (the assets' `BackfillPolicy.single_run`)."""

from __future__ import annotations

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus

night_automation = AutomationConditionSensorDefinition(
    "night_automation",
    target=AssetSelection.all() - AssetSelection.assets("universe"),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=5,
    emit_backfills=True,  # a layer's coins in ranged runs; without it, one run per coin
    run_tags={"huracan/trigger": "automation"},
)
