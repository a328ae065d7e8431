"""Logging set-up: one format for the whole process, every record passed through the credential redactor."""

from __future__ import annotations

import logging
import sys

import orjson

from headend.redact import RedactingFilter, redact
from headend.settings import LogSettings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = redact(record.exc_text)
        return orjson.dumps(payload).decode()


def setup_logging(settings: LogSettings, *, quiet: bool = False) -> None:
    """Configure the root logger. ``quiet`` (admin commands) shows warnings and errors only, unless debugging."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    if settings.json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = settings.level.upper()
    if quiet and level in ("INFO",):
        level = "WARNING"
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
