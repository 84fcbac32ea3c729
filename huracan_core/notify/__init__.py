"""Notifications (Telegram, or a null notifier when off) and the milestones the night's steps send."""

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
