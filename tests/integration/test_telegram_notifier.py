"""Telegram notifications against a loopback Bot API: order, rate limit, 429, outage, secrets, milestones."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from huracan_core.config import Settings, TelegramSettings
from huracan_core.notify import NullNotifier, TelegramNotifier, build_notifier
from tests.support.fake_telegram import FakeTelegram


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    with FakeTelegram() as server:
        yield server


def _settings(fake: FakeTelegram, **kw) -> TelegramSettings:  # type: ignore[no-untyped-def]
    base = {
        "enabled": True,
        "token": fake.TOKEN,
        "chat_id": fake.CHAT,
        "api_url": fake.base_url,
        "min_interval_s": 0.05,
        "timeout_s": 2.0,
        "max_retry_wait_s": 3.0,
        "max_retries": 2,
    }
    return TelegramSettings(**{**base, **kw})


def test_messages_arrive_in_order_rate_limited_and_scrubbed(fake: FakeTelegram) -> None:
    notifier = TelegramNotifier(_settings(fake, min_interval_s=0.3), secrets=["db-password-secret"])
    started = time.monotonic()
    for i in range(4):
        notifier.send(f"message {i} token={fake.TOKEN} db=db-password-secret")
    assert notifier.close(timeout_s=20) == []
    assert fake.texts() == [f"message {i} token=********** db=**********" for i in range(4)]
    assert time.monotonic() - started >= 0.9  # 4 messages, at most one per 0.3 s
    assert fake.messages[0]["chat_id"] == fake.CHAT


def test_429_retry_after_is_honoured(fake: FakeTelegram) -> None:
    notifier = TelegramNotifier(_settings(fake, max_retries=3))

    def send_and_time(text: str) -> float:
        started = time.monotonic()
        notifier.send(text)
        while text not in fake.texts() and time.monotonic() < started + 15:
            time.sleep(0.02)
        return time.monotonic() - started

    send_and_time("warm-up")  # the bot's first call (imports, getMe) is not what is measured
    fake.faults.add("429:2", "sendMessage")
    arrived = send_and_time("hello")
    assert notifier.close(timeout_s=20) == []
    assert fake.texts() == ["warm-up", "hello"]
    assert arrived >= 2.0, f"delivered after {arrived:.2f} s: retry_after 2 ignored"


def test_server_errors_and_dropped_connections_are_retried(fake: FakeTelegram) -> None:
    fake.faults.add("503", "sendMessage")
    fake.faults.add("drop", "sendMessage")
    notifier = TelegramNotifier(_settings(fake, max_retries=3))
    notifier.send("hello")
    assert notifier.close(timeout_s=20) == []
    assert fake.texts() == ["hello"]
    assert [k for _, k in fake.faults.injected] == ["503", "drop"]


def test_long_429_and_outage_are_reported_not_raised(fake: FakeTelegram) -> None:
    fake.faults.add("429:600", "sendMessage")
    notifier = TelegramNotifier(_settings(fake))
    notifier.send("first")
    fake_down_after = time.monotonic()
    time.sleep(0.5)
    fake.down()
    notifier.send("second")
    undelivered = notifier.close(timeout_s=15)
    assert time.monotonic() - fake_down_after < 20
    reasons = {u.text: u.reason for u in undelivered}
    assert "retry after 600" in reasons["first"]
    assert "unreachable" in reasons["second"] or "ended" in reasons["second"]
    assert fake.texts() == []
    assert all(fake.TOKEN not in r for r in reasons.values())


def test_off_without_token(tmp_path: Path) -> None:
    assert isinstance(build_notifier(Settings(home=tmp_path)), NullNotifier)


def test_a_night_carried_by_automation_sends_its_milestones(
    fake: FakeTelegram, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The milestones come from the night's own steps, whoever launched them: here Dagster's automation
    (the steps the daemon runs), with no `huracan run` process around the night."""
    from dagster import instance_for_test

    from huracan_dagster.night.launch import execute
    from tests.dagster.driver import Driver

    for key, value in {
        **fake.env(),
        "HURACAN_UNIVERSE__TOP_N": "3",
        "HURACAN_TRAINING__N_TRIALS": "2",
        "HURACAN_TRAINING__NUM_BOOST_ROUND": "40",
    }.items():
        monkeypatch.setenv(key, value)
    day = date(2025, 11, 3)
    with instance_for_test() as instance:
        automation = Driver(instance)
        assert execute(instance, ("universe",), tags={"dagster/partition": day.isoformat()}).success
        launched = automation.drive()
    assert launched and launched[-1].assets == ("roster", "exports")
    texts = fake.texts()
    assert texts[0].startswith(f"Huracan {day} started: synthetic market, 1d bars")
    trained = [t for t in texts if t.startswith(("Model trained: ", "Model skipped: "))]
    assert len(trained) == 3 and sum(t.startswith("Training ") for t in texts) == 3, texts
    for text in trained:
        coin = text.split()[2].rstrip(":")
        announce = next(t for t in texts if t.startswith(f"Training {coin} ("))
        assert texts.index(announce) < texts.index(text), texts
    assert texts[-1].startswith(f"Huracan {day}: 3 models, ")
    assert all(fake.TOKEN not in t for t in texts)
