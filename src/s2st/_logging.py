"""Logging helpers shared by the client and the emulator."""

from __future__ import annotations

import logging

from .errors import redact

__all__ = ["RedactingFilter", "redacted_logger"]


class RedactingFilter(logging.Filter):
    """Redact credentials (Bearer/Token headers, API-key headers and query parameters, Google
    keys and tokens) from a record before any handler sees it. websockets logs the HTTP
    upgrade headers at DEBUG, Authorization included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


def redacted_logger(name: str) -> logging.Logger:
    """The logger ``name`` with a `RedactingFilter` attached (once)."""
    log = logging.getLogger(name)
    if not any(isinstance(f, RedactingFilter) for f in log.filters):
        log.addFilter(RedactingFilter())
    return log
