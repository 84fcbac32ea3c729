"""The candle rules as polars expressions report what the pandera schema reported (recorded from it before
the switch): a null is `no_missing_values`, a NaN is `values_finite`, a repeated open time is reported as
`timestamp_strictly_increasing` (earlier in the rule order at the same bar), and the earliest bar wins."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from huracan_core.candles.validation import CandleValidationError, validate_candles

H = 3_600_000
T0 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
COLS = ("open", "high", "low", "close", "volume")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def frame(patches: list[tuple[int, int, float | None]]) -> pl.DataFrame:
    rows: list[list[float | None]] = [
        [T0 + i * H, 100.0 + i, 102.0 + i, 99.0 + i, 101.0 + i, 5.0] for i in range(8)
    ]
    for i, j, v in patches:
        rows[i][j] = v
    data = {"timestamp": [int(r[0]) for r in rows]} | {
        c: [r[k + 1] for r in rows] for k, c in enumerate(COLS)
    }
    return pl.DataFrame(data, schema_overrides=dict.fromkeys(COLS, pl.Float64)).with_columns(
        pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC").dt.cast_time_unit("ms")
    )


@pytest.mark.parametrize(
    ("patches", "message"),
    [
        (
            [(2, 4, None)],
            "candles fail rule 'no_missing_values' at 2024-01-01 02:00 UTC (1 rows; close is empty)",
        ),
        (
            [(0, 5, None), (3, 2, 50.0)],
            "candles fail rule 'no_missing_values' at 2024-01-01 00:00 UTC (1 rows; volume is empty)",
        ),
        (
            [(2, 4, float("nan"))],
            "candles fail rule 'values_finite' at 2024-01-01 02:00 UTC (1 bad rows; close is nan)",
        ),
        (
            [(2, 4, float("nan")), (1, 2, 90.0)],
            "candles fail rule 'high_at_least_open_close' at 2024-01-01 01:00 UTC (1 bad rows)",
        ),
        (
            [(4, 0, T0 + 3 * H)],
            "candles fail rule 'timestamp_strictly_increasing' at 2024-01-01 03:00 UTC (1 bad rows)",
        ),
        (
            [(5, 2, 100.0), (2, 5, -3.0)],
            "candles fail rule 'volume_not_negative' at 2024-01-01 02:00 UTC (1 bad rows)",
        ),
        (
            [(7, 0, int(datetime(2030, 1, 1, tzinfo=UTC).timestamp() * 1000))],
            "candles fail rule 'timestamp_not_in_future' at 2030-01-01 00:00 UTC (1 bad rows)",
        ),
    ],
)
def test_reported_rule_and_first_bar(patches: list[tuple[int, int, float | None]], message: str) -> None:
    with pytest.raises(CandleValidationError) as info:
        validate_candles(frame(patches), "BTC-USDT", 3600, now=NOW)
    assert str(info.value) == f"BTC-USDT: {message}"


def test_good_and_empty_frames_pass() -> None:
    good = frame([])
    assert validate_candles(good, "BTC-USDT", 3600, now=NOW) is good
    assert validate_candles(good.clear(), "BTC-USDT", 3600, now=NOW).height == 0
