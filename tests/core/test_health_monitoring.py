"""`huracan health`'s core: the Telegram probe (a real python-telegram-bot getMe against the loopback Bot API)
and the seed's monitoring JSON it writes next to its three files."""

from __future__ import annotations

from pathlib import Path

from huracan_core.atomic import read_json
from huracan_core.config import Settings
from huracan_core.health import check_telegram, run_health, write_health
from tests.support.fake_telegram import FakeTelegram


def _settings(root: Path, server: FakeTelegram | None, **telegram: object) -> Settings:
    tg: dict[str, object] = {"enabled": False}
    if server is not None:
        tg = {
            "enabled": True,
            "token": FakeTelegram.TOKEN,
            "chat_id": FakeTelegram.CHAT,
            "api_url": server.base_url,
            "timeout_s": 3,
        }
    tg.update(telegram)
    return Settings(home=root, telegram=tg)


def test_health_probes_telegram_with_get_me(tmp_path: Path) -> None:
    with FakeTelegram() as server:
        result = check_telegram(_settings(tmp_path, server))
        assert result.status == "healthy", result.detail
        assert "@huracan_test_bot" in result.detail and result.latency_ms is not None
        assert server.requests["getMe"] >= 1 and server.messages == []  # a probe sends no message
        report = run_health(_settings(tmp_path, server))
        assert {c.name: c.status for c in report.checks}["telegram"] == "healthy"


def test_a_refused_token_and_a_dead_api_are_unhealthy_without_the_secret(tmp_path: Path) -> None:
    wrong = "999:WRONG-token-that-is-secret"
    with FakeTelegram() as server:
        result = check_telegram(_settings(tmp_path, server, token=wrong), secrets=[wrong])
        assert result.status == "unhealthy" and "refused telegram.token" in result.detail
        assert wrong not in result.detail
        server.down()
        dead = check_telegram(_settings(tmp_path, server), secrets=[FakeTelegram.TOKEN])
        assert dead.status == "unhealthy" and FakeTelegram.TOKEN not in dead.detail
    assert check_telegram(_settings(tmp_path, None)).status == "not_applicable"


def test_health_writes_the_seeds_monitoring_json(tmp_path: Path) -> None:
    with FakeTelegram() as server:
        settings = _settings(tmp_path / "home", server)
        report = run_health(settings)
        files = write_health(settings, report)
    monitoring = [p for p in files if p.name.startswith("monitoring_")]
    assert [p.name for p in monitoring][-1] == "monitoring_latest.json" and len(monitoring) == 2
    assert monitoring[0].name.endswith("_health.json")
    record = read_json(monitoring[0])
    assert record == read_json(monitoring[1])
    for key in ("component", "status", "error_rate", "data_gaps", "model_load_time_ms", "timestamp"):
        assert key in record, key
    assert record["component"] == "engine" and record["phase"] == "health"
    by_name = {c["component"]: c for c in record["components"]}
    assert set(by_name) >= {"database", "exchange", "storage", "disk", "ray", "telegram"}
    assert by_name["telegram"]["status"] == "healthy" and by_name["telegram"]["latency_ms"] is not None
    for c in record["components"]:
        assert {"component", "status", "error_rate", "data_gaps", "model_load_time_ms"} <= set(c)
    assert record["status"] == ("healthy" if report.healthy else "unhealthy")
