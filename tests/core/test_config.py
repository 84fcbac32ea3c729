"""Settings: seed defaults, env overrides, alternate files, clear errors, secrets never shown."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from huracan_core.config import ConfigError, load_settings, public_dict

REPO = Path(__file__).resolve().parents[2]


def test_seed_defaults(home: Path) -> None:
    s = load_settings()
    assert s.profile == "local"
    assert s.schedule.cron == "0 2 * * *" and s.schedule.timezone == "UTC"
    assert (
        s.universe.min_quote_volume_usd,
        s.universe.min_age_days,
        s.universe.market_type,
        s.universe.top_n,
    ) == (1_000_000, 30, "spot", 20)
    assert (s.market.lookback_days, s.market.timeframe) == (150, "1d")
    assert (
        s.costs.maker_fee_bps,
        s.costs.taker_fee_bps,
        s.costs.funding_bps_per_8h,
        s.costs.safety_margin_bps,
    ) == (2.0, 4.0, 1.0, 3.0)
    g = s.gates
    assert (g.min_sharpe, g.min_hit_rate, g.min_net_pnl_bps, g.max_drawdown_pct, g.min_trades) == (
        0.5,
        0.45,
        0,
        20,
        100,
    )
    assert (s.training.timeout_minutes, s.training.retries, s.training.mode) == (45, 2, "hybrid")
    assert s.home == home.resolve()
    assert load_settings(home="rel/dir").home == Path.cwd() / "rel" / "dir"  # absolute for Ray workers


def test_env_overrides_nested_keys(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HURACAN_UNIVERSE__TOP_N", "7")
    monkeypatch.setenv("HURACAN_MARKET__TIMEFRAME", "1h")
    monkeypatch.setenv("HURACAN_MARKET__SOURCE", "replay")
    monkeypatch.setenv("HURACAN_MARKET__REPLAY_DIR", "/tmp")
    s = load_settings()
    assert s.universe.top_n == 7 and s.market.timeframe == "1h" and s.market.timeframe_seconds == 3600
    assert s.market.source == "replay" and str(s.market.replay_dir) == "/tmp"


def test_alternate_config_file(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "alt.yaml"
    cfg.write_text("universe:\n  top_n: 4\ngates:\n  min_trades: 30\n")
    monkeypatch.setenv("HURACAN_CONFIG", str(cfg))
    s = load_settings()
    assert s.universe.top_n == 4 and s.gates.min_trades == 30
    assert s.universe.min_age_days == 30  # untouched keys keep their defaults


def test_invalid_value_names_key_value_and_allowed(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HURACAN_MARKET__SOURCE", "bogus")
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    assert "market.source" in text and "'bogus'" in text and "synthetic" in text and "replay" in text
    assert "HURACAN_MARKET__SOURCE" in text


def test_unknown_and_duplicate_keys_are_errors(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "dup.yaml"
    cfg.write_text("universe:\n  top_n: 4\nuniverse:\n  top_n: 5\n")
    monkeypatch.setenv("HURACAN_CONFIG", str(cfg))
    with pytest.raises(ConfigError, match="duplicate key 'universe'"):
        load_settings()
    cfg.write_text("universe:\n  top_nn: 4\n")
    with pytest.raises(ConfigError, match="universe.top_nn"):
        load_settings()


def test_secrets_are_masked(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HURACAN_TELEGRAM__TOKEN", "123456789:SECRET-token-value")
    monkeypatch.setenv("HURACAN_DATABASE__URL", "postgresql://u:hunter2pass@localhost/db")
    s = load_settings()
    dumped = str(public_dict(s)) + repr(s) + str(s)
    assert "SECRET-token-value" not in dumped and "hunter2pass" not in dumped
    assert s.database_url.endswith("/db")


def test_production_profile_requires_database(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HURACAN_PROFILE", "production")
    with pytest.raises(ConfigError, match="database.url"):
        load_settings()
    monkeypatch.setenv("HURACAN_DATABASE__URL", "postgresql+psycopg://127.0.0.1/test")
    s = load_settings()
    assert s.profile == "production" and s.market.source == "ccxt" and s.market.timeframe == "1h"


def test_cli_exits_2_naming_the_key(home: Path) -> None:
    env = {**os.environ, "HURACAN_UNIVERSE__TOP_N": "-3"}
    proc = subprocess.run(
        [sys.executable, "-m", "huracan_dagster", "run", "--date", "2026-04-20"],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert (
        "universe.top_n" in proc.stderr
        and "-3" in proc.stderr
        and "greater than or equal to 1" in proc.stderr
    )
