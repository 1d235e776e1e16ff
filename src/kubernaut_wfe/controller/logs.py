"""Structured logs (spec §7): JSON by default, key=value text on request; the standard library's
loggers (kopf, httpx, ours) go through the same formatter."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from kubernaut_wfe.core.config import LogFormat, LogLevel

QUIET_LOGGERS = ("httpx", "httpcore", "aiohttp.access", "kopf.objects")
"""Per-request and per-handler chatter; their warnings and errors still show."""

PYTHON_LEVELS = {
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.INFO: logging.INFO,
    LogLevel.WARN: logging.WARNING,
    LogLevel.ERROR: logging.ERROR,
}


def configure_logging(
    log_format: LogFormat = LogFormat.JSON, level: LogLevel = LogLevel.INFO
) -> None:
    """Route structlog and stdlib logging to stderr in one format."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if log_format is LogFormat.JSON
        else structlog.processors.LogfmtRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    logging.getLogger().handlers[:] = [handler]
    set_log_level(level)
    # Python warnings (deprecations and the like) become log lines in the same format.
    logging.captureWarnings(True)


def set_log_level(level: LogLevel) -> None:
    """Log from `level` on; the quiet loggers from WARN on at least. Takes effect at once (the
    loggers are checked on every call)."""
    threshold = PYTHON_LEVELS[level]
    logging.getLogger().setLevel(threshold)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(threshold, logging.WARNING))
