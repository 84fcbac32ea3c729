"""The candle contract: every rule names the symbol, the rule and the first offending bar; every recorded
Binance file passes; gaps are found as SOURCES.md lists them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from huracan_core.candles.frame import candles_from_rows, conform
from huracan_core.candles.gaps import find_gaps
from huracan_core.candles.validation import CandleValidationError, validate_candles

H = 3_600_000
T0 = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)


def bars(n: int = 6) -> list[list[float]]:
    return [[T0 + i * H, 100.0 + i, 102.0 + i, 99.0 + i, 101.0 + i, 5.0] for i in range(n)]


def check(rows: list[list[float]]) -> CandleValidationError:
    frame = pl.DataFrame(
        {
            "timestamp": [int(r[0]) for r in rows],
            **{
                c: [float(r[i + 1]) for r in rows]
                for i, c in enumerate(("open", "high", "low", "close", "volume"))
            },
        }
    ).with_columns(
        pl.from_epoch("timestamp", time_unit="ms").dt.replace_time_zone("UTC").dt.cast_time_unit("ms")
    )
    with pytest.raises(CandleValidationError) as info:
        validate_candles(frame, "BTC-USDT", 3600)
    return info.value


def at(i: int) -> datetime:
    return datetime.fromtimestamp((T0 + i * H) / 1000, tz=UTC)


def test_good_bars_pass_and_zero_volume_is_allowed() -> None:
    rows = bars()
    rows[2] = [rows[2][0], 100.0, 100.0, 100.0, 100.0, 0.0]  # Binance's outage bars: O=H=L=C, volume 0
    frame = candles_from_rows(rows)
    assert validate_candles(frame, "BTC-USDT", 3600) is frame


@pytest.mark.parametrize(
    ("index", "patch", "rule"),
    [
        (3, {2: 100.0}, "high_at_least_open_close"),  # high below close
        (4, {3: 110.0}, "low_at_most_open_close"),  # low above open
        (1, {1: 0.0, 3: 0.0}, "prices_positive"),
        (2, {5: -1.0}, "volume_not_negative"),
        (5, {4: float("inf"), 2: float("inf")}, "values_finite"),
    ],
)
def test_each_price_rule_names_the_first_offending_bar(
    index: int, patch: dict[int, float], rule: str
) -> None:
    rows = bars()
    for col, value in patch.items():
        rows[index][col] = value
    err = check(rows)
    assert (err.rule, err.first_bad, err.symbol) == (rule, at(index), "BTC-USDT")
    assert "BTC-USDT" in str(err) and rule in str(err) and f"{at(index):%Y-%m-%d %H:%M}" in str(err)


def test_time_rules() -> None:
    rows = bars()
    rows[3][0] += 60_000  # 03:01, not on the hour
    assert check(rows).rule == "timestamp_aligned_to_timeframe" and check(rows).first_bad == at(3).replace(
        minute=1
    )
    rows = bars()
    rows[4][0] = rows[2][0]  # out of order and duplicated
    err = check(rows)
    assert err.rule == "timestamp_strictly_increasing" and err.first_bad == at(2)
    rows = [[r[0] // 1000, *r[1:]] for r in bars()]  # ms divided by 1000: January 1970
    err = check(rows)
    assert (
        err.rule == "timestamp_not_before_2009" and err.first_bad is not None and err.first_bad.year == 1970
    )
    future = int(datetime(2100, 1, 1, tzinfo=UTC).timestamp() * 1000)
    rows = [*bars(), [future, 1.0, 1.0, 1.0, 1.0, 1.0]]
    assert check(rows).rule == "timestamp_not_in_future"


def test_wrong_columns_or_dtypes_are_refused() -> None:
    frame = candles_from_rows(bars())
    with pytest.raises(CandleValidationError, match="canonical_schema"):
        validate_candles(frame.drop("volume"), "BTC-USDT", 3600)
    with pytest.raises(CandleValidationError, match="canonical_schema"):
        validate_candles(frame.with_columns(pl.col("timestamp").dt.epoch("ms")), "BTC-USDT", 3600)


def test_every_recorded_binance_file_passes_and_gaps_match_the_sources(shared_data: Path) -> None:
    checked = 0
    for interval, step in (("1h", 3600), ("1d", 86400), ("5m", 300)):
        for path in sorted((shared_data / "binance" / interval).glob("*.csv")):
            validate_candles(conform(pl.read_csv(path)), path.stem, step)
            checked += 1
    assert checked == 25
    btc = conform(pl.read_csv(shared_data / "binance" / "1h" / "BTC-USDT.csv"))
    gaps = find_gaps(btc, 3600)
    assert len(gaps) == 27 and sum(g.missing_bars for g in gaps) == 127  # as SOURCES.md lists them
    feb_2018 = max(gaps, key=lambda g: g.missing_bars)
    assert (feb_2018.start, feb_2018.end, feb_2018.missing_bars) == (
        datetime(2018, 2, 8, 1, tzinfo=UTC),
        datetime(2018, 2, 9, 9, tzinfo=UTC),
        33,
    )
