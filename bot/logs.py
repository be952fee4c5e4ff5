"""Logging set-up that never lets the bot token or a panel's secrets reach a log line."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[REDACTED]"
# Every formatter installed, so secrets known only later (panel credentials, read from
# the database once it is migrated) can be added to all of them.
_FORMATTERS: list[RedactingFormatter] = []


class RedactingFormatter(logging.Formatter):
    """Replaces secrets in the fully formatted line, tracebacks included.

    The HTTP client logs request URLs and the Bot API URL contains the token, so
    redaction happens on the final text rather than on any one logger.
    """

    def __init__(self, secrets: list[str], fmt: str = LOG_FORMAT) -> None:
        super().__init__(fmt)
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: list[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        known = set(self._secrets) | {s for s in secrets if s}
        self._secrets = sorted(known, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def configure_logging(level: str, secrets: list[str], stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = RedactingFormatter(secrets)
    _FORMATTERS.append(formatter)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # One line per Bot API request is noise at INFO; keep it for DEBUG.
    if logging.getLevelName(level) > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)


def redact(secrets: list[str]) -> None:
    """Redact these too, from now on, in every line the configured logging writes."""
    for formatter in _FORMATTERS:
        formatter.add(secrets)
