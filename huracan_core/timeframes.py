"""Candle timeframes and their length in seconds.

Why a module of its own: the feature recipe needs the names and the CLI's `features compute` path must not
import pydantic-settings (huracan_core.config) just for this table; config re-exports it.
"""

from __future__ import annotations

TIMEFRAMES = {"1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "4h": 14400, "1d": 86400}
