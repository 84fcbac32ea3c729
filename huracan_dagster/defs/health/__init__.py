"""Health: `huracan health`, freshness checks on candles and the roster, and run-failure alerts."""
