"""Notifications (Telegram, or a null notifier when off) and the night's services around `huracan run`."""

from huracan_core.notify.telegram import (
    Notifier,
    NullNotifier,
    TelegramNotifier,
    Undelivered,
    build_notifier,
    scrub,
    secret_values,
)

__all__ = [
    "Notifier",
    "NullNotifier",
    "TelegramNotifier",
    "Undelivered",
    "build_notifier",
    "scrub",
    "secret_values",
]
