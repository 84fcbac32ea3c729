"""One retry policy for every remote backend: transient failures (429, 5xx, a dropped connection) are
retried with jittered exponential backoff, a server's Retry-After is honoured, and every wait is bounded.

Why not the SDKs' own loops: the Dropbox SDK retries a 429 forever by default and sleeps whatever the
server asks; a night must never hang on a remote, so a Retry-After longer than `max_wait_s` gives up at
once and the caller reports the file as not synced.

A `CircuitBreaker` (storage/breaker.py) bounds the sum over many calls: while the remote is suspect a
call gets a single attempt, and once it is considered down a call is refused without network.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from huracan_core.logs import get_logger
from huracan_core.storage.base import StorageError, TransientStorageError

if TYPE_CHECKING:
    from huracan_core.storage.breaker import CircuitBreaker

T = TypeVar("T")
log = get_logger("huracan.storage")


def with_retries(
    what: str,
    call: Callable[[], T],
    *,
    max_retries: int,
    max_wait_s: float,
    base_s: float = 0.5,
    sleep: Callable[[float], None] | None = None,
    breaker: CircuitBreaker | None = None,
) -> T:
    """Run `call`; retry `TransientStorageError` up to `max_retries` times. `what` names the operation.

    With a `breaker`: refused at once (`RemoteDownError`) while the remote is considered down, a single
    attempt while it is suspect, and every outcome reported to it (any answer of the remote closes it)."""
    single = False
    if breaker is not None:
        breaker.before_call(what)
        single = breaker.suspect and max_retries > 0
        if single:
            max_retries = 0

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = getattr(exc, "retry_after", None)
        backoff = min(max_wait_s, base_s * 2 ** (state.attempt_number - 1)) * (0.5 + random.random() / 2)
        return min(max_wait_s, max(float(asked), backoff)) if asked is not None else backoff

    def too_long(state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        asked = getattr(exc, "retry_after", None)
        return asked is not None and asked > max_wait_s

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "remote storage retry", operation=what, attempt=state.attempt_number, error=str(exc)[:300]
        )

    kwargs = {"sleep": sleep} if sleep is not None else {}
    retrying = Retrying(
        retry=retry_if_exception_type(TransientStorageError),
        stop=stop_after_attempt(max_retries + 1) | too_long,
        wait=wait,
        before_sleep=before_sleep,
        reraise=True,
        **kwargs,
    )
    started = time.monotonic()
    try:
        result = retrying(call)
    except TransientStorageError as exc:
        asked = (
            f" (server asked to wait {exc.retry_after:g} s, more than {max_wait_s:g} s)"
            if (exc.retry_after is not None and exc.retry_after > max_wait_s)
            else ""
        )
        tries = "(one attempt: the remote's previous call had failed too)" if single else "after retries"
        error = StorageError(f"{what} failed {tries}{asked}: {exc}")
        if breaker is not None:
            breaker.failed(str(exc), time.monotonic() - started)
        raise error from exc
    except Exception:
        if breaker is not None:
            breaker.succeeded()  # the remote answered, if only to refuse or to say "not found"
        raise
    if breaker is not None:
        breaker.succeeded()
    return result
