"""A circuit breaker per remote: once the remote has failed `storage.breaker_failures` calls in a row, it
is considered down and every further call fails at once, without touching the network.

Why: each remote call's retries are bounded (`with_retries`), but a night makes hundreds of calls (a
`stat` per model file, two final passes, the verify step): with the remote gone, the sum of bounded
waits kept a night busy for 14 minutes and more. With the breaker the night spends one call's retries
plus a few single attempts on a dead remote, then goes on with its outputs local; the files not
uploaded stay out of the manifest, so the next pass after the remote is back uploads them.

States:
- closed: calls go through with their full retries;
- suspect: the last call gave up after its retries: further calls get one attempt each (no backoff)
  until one succeeds (closed again) or `breaker_failures` calls in a row have failed (open);
- open: calls raise `RemoteDownError` at once. After `breaker_cooldown_minutes` one call is let
  through as a probe (a long-lived process, or a night of many hours, sees a remote that came back);
  its success closes the breaker, its failure opens it for another cooldown.

One breaker per remote per process (`breaker_for`): every `Storage` the process builds for the same
remote shares it, so the night's sync, the candle store and the verify step all learn the remote is
down once. A new process (the next night, the daemon's next sync run) starts closed and catches up.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from huracan_core.config import StorageSettings
from huracan_core.logs import get_logger
from huracan_core.storage.base import StorageError

log = get_logger("huracan.storage")


class RemoteDownError(StorageError):
    """The remote is considered down (the breaker is open): the call was not tried."""


class CircuitBreaker:
    """Counts consecutive failed calls to one remote (thread-safe). See the module docstring."""

    def __init__(
        self,
        name: str,
        failures: int,
        cooldown_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.threshold = max(1, failures)
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self.consecutive = 0
        self.down_since: datetime | None = None  # wall time the breaker first opened (this outage)
        self.last_error = ""
        self.failed_calls = 0  # calls that gave up on a transient failure, this process
        self.refused_calls = 0  # calls refused at once while open
        self.failed_seconds = 0.0  # wall time spent in calls that gave up (their attempts and waits)
        self._opened_at: float | None = None  # monotonic time of the latest opening
        self._probing = False

    # ------------------------------------------------------------------ state
    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None

    @property
    def suspect(self) -> bool:
        """The last call failed: the next ones get a single attempt each."""
        with self._lock:
            return self.consecutive > 0

    def down_message(self) -> str | None:
        """Why the remote is considered down, or None while it is not, or while a probe call is due
        (the cooldown has passed: the next call goes to the remote)."""
        with self._lock:
            if self._opened_at is None:
                return None
            if not self._probing and self._clock() - self._opened_at >= self.cooldown_s:
                return None
            return self._message()

    def _message(self) -> str:
        since = self.down_since.strftime("%Y-%m-%d %H:%M:%S UTC") if self.down_since else "?"
        return (
            f"remote {self.name} down since {since} ({self.consecutive} calls in a row failed; "
            f"last: {self.last_error[:200]})"
        )

    # ------------------------------------------------------------------ transitions
    def before_call(self, what: str) -> None:
        """Raise `RemoteDownError` while open; let one probe through once the cooldown has passed."""
        with self._lock:
            if self._opened_at is None:
                return
            if not self._probing and self._clock() - self._opened_at >= self.cooldown_s:
                self._probing = True  # this call is the probe; the others still fail fast
                log.info("remote storage: probing a remote considered down", remote=self.name, operation=what)
                return
            self.refused_calls += 1
            raise RemoteDownError(f"{what}: not tried: {self._message()}")

    def succeeded(self) -> None:
        """The remote answered (any answer: a file, a not-found, a refusal of a bad request)."""
        with self._lock:
            if self._opened_at is not None:
                log.info("remote storage is back", remote=self.name, down_since=str(self.down_since))
            self.consecutive = 0
            self._opened_at = None
            self._probing = False
            self.down_since = None

    def failed(self, error: str, seconds: float = 0.0) -> None:
        """A call gave up on a transient failure (after its retries, or its single attempt)."""
        with self._lock:
            self.consecutive += 1
            self.failed_calls += 1
            self.failed_seconds += seconds
            self.last_error = error
            if self._probing:  # the probe failed: another cooldown
                self._probing = False
                self._opened_at = self._clock()
            elif self._opened_at is None and self.consecutive >= self.threshold:
                self._opened_at = self._clock()
                self.down_since = datetime.now(UTC)
                log.error(
                    "remote storage considered down for the rest of this night: further calls fail at once",
                    remote=self.name,
                    failures=self.consecutive,
                    error=error[:300],
                    retry_after_minutes=round(self.cooldown_s / 60, 1),
                )

    def stats(self) -> dict[str, object]:
        with self._lock:
            return {
                "remote": self.name,
                "down": self._opened_at is not None,
                "down_since": self.down_since.isoformat() if self.down_since else None,
                "consecutive_failures": self.consecutive,
                "failed_calls": self.failed_calls,
                "refused_calls": self.refused_calls,
                "seconds_in_failed_calls": round(self.failed_seconds, 3),
                "last_error": self.last_error[:300],
            }


_BREAKERS: dict[str, CircuitBreaker] = {}
_REGISTRY_LOCK = threading.Lock()


def remote_key(settings: StorageSettings) -> str:
    """Which remote the settings point at (never a secret: the credentials are hashed)."""
    if settings.backend == "s3":
        where = f"{settings.s3_endpoint_url}|{settings.s3_bucket}"
    elif settings.backend == "dropbox":
        app = settings.dropbox_app_key or settings.dropbox_token
        where = hashlib.sha256(app.get_secret_value().encode()).hexdigest()[:12] if app else ""
    else:
        where = str(settings.remote_dir)
    return f"{settings.backend}:{where}"


def breaker_for(settings: StorageSettings) -> CircuitBreaker:
    """This process's breaker of the remote `settings` point at (created closed on first use)."""
    key = remote_key(settings)
    with _REGISTRY_LOCK:
        breaker = _BREAKERS.get(key)
        if breaker is None:
            breaker = CircuitBreaker(
                settings.backend, settings.breaker_failures, settings.breaker_cooldown_minutes * 60
            )
            _BREAKERS[key] = breaker
        return breaker


def reset_breakers() -> None:
    """Forget every breaker (as a new process would): for tests and for a caller that knows better."""
    with _REGISTRY_LOCK:
        _BREAKERS.clear()


def breaker_of(storage: object) -> CircuitBreaker | None:
    """The breaker a `Storage` reports through (None for a backend without one, like a local folder)."""
    breaker = getattr(storage, "breaker", None)
    return breaker if isinstance(breaker, CircuitBreaker) else None
