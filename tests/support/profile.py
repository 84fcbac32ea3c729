"""The settings profile the test suite's nights run on.

`daily` (config/daily.yaml: the seed's 1d bars, 150 days) keeps a night's training to seconds a coin; the
engine's hourly default is exercised by the tests that drop it (tests/integration/test_quickstart.py).
Subprocess tests that build a clean environment pass it on explicitly."""

TEST_PROFILE = "daily"
