"""One job per step of the night. A job cannot mix partitions definitions, so the chain across
daily and date × symbol steps is driven by the planner (sensors in the daemon, `huracan run` in a
terminal) rather than by one big job.
"""

from __future__ import annotations

from dagster import AssetSelection, define_asset_job

from huracan_dagster.partitions import daily, date_symbol

universe_job = define_asset_job("universe_job", AssetSelection.assets("universe"), partitions_def=daily)
candles_job = define_asset_job("candles_job", AssetSelection.assets("candles"), partitions_def=date_symbol)
context_job = define_asset_job("market_context_job", AssetSelection.assets("market_context"), partitions_def=daily)
features_job = define_asset_job("features_job", AssetSelection.assets("features"), partitions_def=date_symbol)
encoder_job = define_asset_job("shared_encoder_job", AssetSelection.assets("shared_encoder"), partitions_def=daily)
model_job = define_asset_job(
    "model_job", AssetSelection.assets("model") | AssetSelection.checks_for_assets("model"),
    partitions_def=date_symbol,
)
publish_job = define_asset_job("publish_job", AssetSelection.assets("roster", "exports"), partitions_def=daily)

ALL_JOBS = [universe_job, candles_job, context_job, features_job, encoder_job, model_job, publish_job]
