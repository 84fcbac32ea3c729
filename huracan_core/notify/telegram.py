"""Telegram notifications on python-telegram-bot (22.x), never able to fail or stall a night.

Messages go through a queue to one background thread with its own event loop: `send` never blocks the
caller. The thread keeps at most one message per `min_interval_s` (Telegram allows about one a second
per chat), honours a 429's `retry_after` (`telegram.error.RetryAfter`) up to `max_retry_wait_s`, retries
network errors `max_retries` times with backoff, and records every message it could not deliver with the
reason; `close()` waits a bounded time and reports the rest as not delivered. Every text is scrubbed of
the configured secrets (the bot token above all) before it is queued, and so is every error reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from huracan_core.config import Settings, TelegramSettings
from huracan_core.logs import get_logger

log = get_logger("huracan.notify")
MAX_TEXT = 4000  # Telegram's limit is 4096 characters


@dataclass(frozen=True)
class Undelivered:
    text: str
    reason: str


class Notifier(Protocol):
    def send(self, text: str) -> None: ...

    def close(self, timeout_s: float = 30.0) -> list[Undelivered]: ...


class NullNotifier:
    """Telegram off (no token): messages go to the log only."""

    enabled = False

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, text: str) -> None:
        self.sent.append(text)
        log.info("notification (telegram off)", text=text[:300])

    def close(self, timeout_s: float = 30.0) -> list[Undelivered]:
        return []


def secret_values(settings: Settings) -> list[str]:
    """Every secret string in the settings (a message must never contain any of them)."""
    from pydantic import SecretStr

    values: list[str] = []

    def walk(obj: object) -> None:
        if isinstance(obj, SecretStr):
            value = obj.get_secret_value()
            if len(value) >= 4:
                values.append(value)
        elif hasattr(obj, "__pydantic_fields__"):
            for name in type(obj).__pydantic_fields__:
                walk(getattr(obj, name))

    walk(settings)
    return sorted(set(values), key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        text = text.replace(value, "**********")
    return text


class TelegramNotifier:
    """Send texts to one chat through the Bot API at `telegram.api_url` (default api.telegram.org)."""

    enabled = True

    def __init__(self, settings: TelegramSettings, secrets: Iterable[str] = ()) -> None:
        if settings.token is None or not settings.chat_id:
            raise ValueError("telegram.token and telegram.chat_id are needed to send notifications")
        self.settings = settings
        self._secrets = sorted({settings.token.get_secret_value(), *secrets}, key=len, reverse=True)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.delivered: list[str] = []
        self.undelivered: list[Undelivered] = []
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="huracan-telegram", daemon=True)
        self._thread.start()

    def send(self, text: str) -> None:
        self._queue.put(scrub(text, self._secrets)[:MAX_TEXT])

    def close(self, timeout_s: float = 30.0) -> list[Undelivered]:
        """Deliver what is queued within `timeout_s`; everything else is reported as not delivered."""
        self._queue.put(None)
        self._thread.join(timeout=timeout_s)
        self._closing.set()  # tells a message still in retries to give up
        self._thread.join(timeout=self.settings.timeout_s + 1)
        leftover: list[Undelivered] = []
        while True:
            try:
                text = self._queue.get_nowait()
            except queue.Empty:
                break
            if text is not None:
                leftover.append(Undelivered(text, "not sent before the night ended"))
        self.undelivered.extend(leftover)
        for item in self.undelivered:
            log.warning("telegram message not delivered", text=item.text[:200], reason=item.reason)
        return list(self.undelivered)

    # ------------------------------------------------------------------ worker thread
    def _run(self) -> None:
        asyncio.run(self._main())

    def _bot(self):  # type: ignore[no-untyped-def]
        from telegram import Bot
        from telegram.request import HTTPXRequest

        t = self.settings.timeout_s

        def request() -> HTTPXRequest:
            return HTTPXRequest(
                connection_pool_size=2, connect_timeout=t, read_timeout=t, write_timeout=t, pool_timeout=t
            )

        kwargs = {"base_url": self.settings.api_url} if self.settings.api_url else {}
        return Bot(
            self.settings.token.get_secret_value(), request=request(), get_updates_request=request(), **kwargs
        )

    async def _main(self) -> None:
        bot = self._bot()
        last = 0.0
        try:
            while True:
                text = await asyncio.to_thread(self._queue.get)
                if text is None:
                    return
                if self._closing.is_set():
                    self.undelivered.append(Undelivered(text, "not sent before the night ended"))
                    continue
                wait = last + self.settings.min_interval_s - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                reason = await self._deliver(bot, text)
                last = time.monotonic()
                if reason is None:
                    self.delivered.append(text)
                else:
                    self.undelivered.append(Undelivered(text, reason))
        finally:
            with contextlib.suppress(Exception):  # nothing left to deliver: shutting down is best effort
                await asyncio.wait_for(bot.shutdown(), timeout=self.settings.timeout_s)

    async def _deliver(self, bot, text: str) -> str | None:  # type: ignore[no-untyped-def]
        """None when delivered, else the reason (secrets scrubbed)."""
        from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

        attempts = 0
        while True:
            attempts += 1
            try:
                await bot.initialize()  # a no-op once done; calls getMe the first time
                await bot.send_message(chat_id=self.settings.chat_id, text=text)
                return None
            except RetryAfter as exc:
                after = exc._retry_after
                seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
                if seconds > self.settings.max_retry_wait_s or attempts > self.settings.max_retries:
                    return f"Telegram rate limit (429): retry after {seconds:g} s"
                if await self._sleep(seconds):
                    return "Telegram rate limit (429): the night ended while waiting"
            except (TimedOut, NetworkError) as exc:
                if attempts > self.settings.max_retries:
                    return scrub(f"Telegram unreachable: {type(exc).__name__}: {exc}", self._secrets)[:300]
                if await self._sleep(min(self.settings.max_retry_wait_s, 0.5 * 2 ** (attempts - 1))):
                    return "Telegram unreachable: the night ended while retrying"
            except TelegramError as exc:
                return scrub(f"Telegram refused the message: {type(exc).__name__}: {exc}", self._secrets)[
                    :300
                ]

    async def _sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True when close() asked to give up meanwhile."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self._closing.is_set():
                return True
            await asyncio.sleep(min(0.1, end - time.monotonic()))
        return self._closing.is_set()


def build_notifier(settings: Settings) -> Notifier:
    """Telegram when enabled with a token and chat, else the null notifier (off when no token)."""
    tg = settings.telegram
    if tg.enabled and tg.token is not None and tg.chat_id:
        return TelegramNotifier(tg, secret_values(settings))
    return NullNotifier()
