"""The night as Dagster runs it: its state read from Dagster's records, the per-coin layer steps, the
night's services (Telegram, remote sync) inside the steps, and `huracan run`'s thin client. Definitions
(assets, sensors, schedules) live in `huracan_dagster.defs`; this package holds what they call."""
