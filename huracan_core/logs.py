"""Structured logging: JSON lines into `$HURACAN_HOME/logs/`, readable lines on the console.

Every line carries the run id and, where known, the date and symbol: they are bound as structlog
context variables (`bind_context`) by whoever starts a run or a coin, so library code just logs.
"""

from __future__ import annotations

import logging
import sys
import uuid
from pathlib import Path
from typing import Any

import structlog

_CONFIGURED: dict[str, Any] = {}
_SECRET_KEYS = ("token", "secret", "password", "api_key")


def _mask_secrets(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    """Last line of defence: a field whose name looks secret is never written out."""
    for key in list(event):
        if any(s in key.lower() for s in _SECRET_KEYS):
            event[key] = "**********"
    return event


def _ensure_run_id(_: Any, __: str, event: dict[str, Any]) -> dict[str, Any]:
    event.setdefault("run_id", _CONFIGURED.get("run_id"))
    return event


def configure_logging(logs_dir: Path | None, run_id: str | None = None, level: str = "INFO") -> str:
    """Set up structlog once per process (idempotent per logs folder); returns the run id in use."""
    run_id = run_id or _CONFIGURED.get("run_id") or uuid.uuid4().hex[:12]
    _CONFIGURED["run_id"] = run_id
    key = str(logs_dir)
    if _CONFIGURED.get("dir") == key:
        structlog.contextvars.bind_contextvars(run_id=run_id)
        return run_id
    handlers: list[logging.Handler] = []
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(
        structlog.stdlib.ProcessorFormatter(processor=structlog.dev.ConsoleRenderer(colors=False))
    )
    console.setLevel(logging.WARNING)
    handlers.append(console)
    if logs_dir is not None:
        logs_dir.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(logs_dir / "huracan.jsonl")
        file_handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(processor=structlog.processors.JSONRenderer())
        )
        handlers.append(file_handler)
    root = logging.getLogger("huracan")
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _ensure_run_id,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _mask_secrets,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    _CONFIGURED["dir"] = key
    structlog.contextvars.bind_contextvars(run_id=run_id)
    return run_id


def bind_context(**values: Any) -> None:
    """Bind date/symbol/stage for every following log line of this context."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})


def clear_context(*keys: str) -> None:
    structlog.contextvars.unbind_contextvars(*keys)


def get_logger(name: str = "huracan") -> structlog.stdlib.BoundLogger:
    if not name.startswith("huracan"):
        name = f"huracan.{name}"
    return structlog.get_logger(name)
