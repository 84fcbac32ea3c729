"""Account currency: point-in-time rate series from each market source, and trade money converted with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from huracan_core.config import Settings
from huracan_core.market.base import MarketDataError
from huracan_core.market.fx import account_rates, replay_rates, synthetic_rates
from huracan_core.trades import account_currency, account_rates_for, quote_currency

H = 3_600_000
START = datetime(2024, 3, 1, tzinfo=UTC)


def _rate_file(
    folder: Path, name: str, closes: list[float], start: datetime = START, step_ms: int = H
) -> Path:
    """A small recorded-style rate file: bar open times from `start`, one close per bar."""
    folder.mkdir(parents=True, exist_ok=True)
    t0 = int(start.timestamp() * 1000)
    lines = ["timestamp,open,high,low,close,volume"]
    for i, c in enumerate(closes):
        lines.append(f"{t0 + i * step_ms},{c},{c},{c},{c},100")
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_replay_rate_is_the_last_close_known_at_the_moment(tmp_path: Path) -> None:
    _rate_file(tmp_path, "GBP-USDT.csv", [1.20, 1.21, 1.22, 1.23, 1.24])
    series = replay_rates(tmp_path, "GBP", "USDT", START + timedelta(hours=4))
    # the bar opened at 03:00 closes at 04:00: at the as-of moment it is not closed yet, so not served
    assert list(series.rate) == [1.20, 1.21, 1.22, 1.23]
    assert series.rate_at(START + timedelta(hours=1)) == 1.20  # first bar closed at exactly 01:00
    assert series.rate_at(START + timedelta(hours=2, minutes=59)) == 1.21  # 02:00-03:00 bar not closed yet
    assert series.to_account(123.0, START + timedelta(hours=3)) == pytest.approx(123.0 / 1.22)
    with pytest.raises(MarketDataError, match=r"no GBP-USDT rate known at 2024-03-01 00:30 UTC"):
        series.rate_at(START + timedelta(minutes=30))
    with pytest.raises(MarketDataError, match=r"older than 72 h \(a gap in the rate bars\)"):
        series.rate_at(START + timedelta(days=4))


def test_an_inverse_pair_is_inverted(tmp_path: Path) -> None:
    _rate_file(tmp_path, "USDT-GBP.csv", [0.8, 0.5])
    series = replay_rates(tmp_path, "GBP", "USDT", START + timedelta(hours=2))
    assert series.pair == "USDT-GBP" and series.rate_at(START + timedelta(hours=2)) == pytest.approx(2.0)


def test_a_replay_folder_without_the_rate_file_says_so(tmp_path: Path, shared_data: Path) -> None:
    # the recorded data holds EUR-USDT (binance/1d-top250) but no GBP-USDT anywhere
    assert not list(shared_data.rglob("GBP-USDT.*")) and not list(shared_data.rglob("GBPUSDT*"))
    settings = Settings(
        home=tmp_path,
        market={"source": "replay", "replay_dir": shared_data / "binance" / "1d", "account_currency": "gbp"},
    )
    assert account_currency(settings) == "GBP" and quote_currency(settings) == "USDT"
    with pytest.raises(MarketDataError) as err:
        account_rates_for(settings, datetime(2024, 1, 2, tzinfo=UTC))
    text = str(err.value)
    assert "market.account_currency GBP" in text and str(shared_data / "binance" / "1d") in text
    assert "GBP-USDT.csv" in text and "leave market.account_currency unset" in text


def test_the_recorded_eur_rates_serve_a_replay_account(tmp_path: Path, shared_data: Path) -> None:
    folder = shared_data / "binance" / "1d-top250"
    settings = Settings(
        home=tmp_path, market={"source": "replay", "replay_dir": folder, "account_currency": "EUR"}
    )
    series = account_rates_for(settings, datetime(2024, 6, 1, tzinfo=UTC))
    assert series is not None and series.bar_ms == 86_400_000
    recorded = pl.read_csv(folder / "EUR-USDT.csv")
    # 2024-01-01 12:00: the last closed daily bar is the one opened 2023-12-31 (closed at midnight)
    expected = recorded.filter(pl.col("timestamp") == 1703980800000)["close"].item()
    assert series.rate_at(datetime(2024, 1, 1, 12, tzinfo=UTC)) == expected
    assert series.close_ms[-1] <= int(datetime(2024, 6, 1, tzinfo=UTC).timestamp() * 1000)


def test_the_quote_needs_no_rates(tmp_path: Path) -> None:
    assert account_rates_for(Settings(home=tmp_path), datetime(2024, 1, 2, tzinfo=UTC)) is None
    same = Settings(home=tmp_path, market={"account_currency": "usdt"})
    assert account_rates_for(same, datetime(2024, 1, 2, tzinfo=UTC)) is None
    with pytest.raises(ValueError, match="not a currency code"):
        Settings(home=tmp_path, market={"account_currency": "GB P"})


def test_synthetic_rates_are_point_in_time_and_prefix_stable(tmp_path: Path) -> None:
    early = synthetic_rates(7, "GBP", "USDT", "1h", datetime(2026, 4, 1, tzinfo=UTC))
    late = synthetic_rates(7, "GBP", "USDT", "1h", datetime(2026, 4, 21, tzinfo=UTC))
    assert len(late.rate) == len(early.rate) + 20 * 24
    assert np.array_equal(late.rate[: len(early.rate)], early.rate)  # a later as-of only adds bars
    assert early.close_ms[-1] == int(datetime(2026, 4, 1, tzinfo=UTC).timestamp() * 1000)
    window = late.rate[-24 * 60 :]
    assert 1.0 < window.min() < window.max() < 1.6 and window.std() > 0  # a moving, plausible GBP rate
    settings = Settings(home=tmp_path, market={"timeframe": "1h", "account_currency": "GBP"})
    assert np.array_equal(account_rates(settings, "GBP", datetime(2026, 4, 21, tzinfo=UTC)).rate, late.rate)


def test_ccxt_rates_come_from_the_exchanges_klines(tmp_path: Path, shared_data: Path) -> None:
    from tests.support.binance_server import BinanceServer

    recorded = pl.read_csv(shared_data / "binance" / "1d-top250" / "EUR-USDT.csv")
    rows = [
        [int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), int(r[0]) + 86_399_999]
        + ["0", 0, "0", "0", "0"]
        for r in recorded.iter_rows()
    ]
    as_of = datetime(2024, 6, 1, tzinfo=UTC)
    with BinanceServer(shared_data, now=as_of, retry_after_s=0) as server:
        server.add_klines("EURUSDT", "1d", rows)
        settings = Settings(
            home=tmp_path,
            market={
                "source": "ccxt",
                "api_url": server.url,
                "account_currency": "EUR",
                "timeframe": "1d",  # the recorded EUR-USDT bars are daily
                "lookback_days": 60,
            },
        )
        series = account_rates_for(settings, as_of)
        assert series is not None and server.counts["klines"] >= 1
    assert series.where == "binance EUR-USDT"
    expected = recorded.filter(pl.col("timestamp") == 1716940800000)["close"].item()  # bar of 2024-05-29
    assert series.rate_at(datetime(2024, 5, 30, 6, tzinfo=UTC)) == expected
    assert series.close_ms[-1] == int(as_of.timestamp() * 1000)  # nothing past the as-of moment
