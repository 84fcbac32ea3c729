"""Dagster wiring for one stage: assets, checks and sensors."""
