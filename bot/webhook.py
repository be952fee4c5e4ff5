"""Webhook mode: PTB's own webhook server, and a log line for each refused request.

PTB's server (``telegram.ext._utils.webhookhandler``) answers 403 to a request whose
``X-Telegram-Bot-Api-Secret-Token`` header is missing or wrong (and to one that is not
``application/json``), before reading its body. It reports that only at DEBUG, and the
wrong-token line carries the token presented. ``RefusalLog`` turns PTB's report of a
refused request into one WARNING line with the client's address and the reason, without
the body or any token, and keeps PTB's other debug lines out unless DEBUG is on.

Certificates are left to the reverse proxy in front (see README, "Running in
production"): the server listens on plain HTTP.
"""

from __future__ import annotations

import logging
from typing import Any

import tornado.web
from telegram import Update

from bot.settings import Settings

# The logger PTB's webhook handler logs to ("This module is not visible to users, so
# we log as Updater").
PTB_WEBHOOK_LOGGER = "telegram.ext.Updater"
_PTB_EXCEPTION = "Exception in TelegramHandler"
_PTB_WRONG_TOKEN = "Request had the wrong secret token"
log = logging.getLogger("bot.webhook")


def webhook_options(settings: Settings) -> dict[str, Any]:
    """What ``run_webhook`` and ``Updater.start_webhook`` are given, from the settings."""
    assert settings.webhook_secret is not None  # Settings refuses webhook mode without it
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": settings.webhook_path,
        "webhook_url": settings.webhook_full_url,
        "secret_token": settings.webhook_secret.get_secret_value(),
        # Updates that arrived while the bot was down are still handled.
        "drop_pending_updates": False,
        "allowed_updates": Update.ALL_TYPES,
    }


class RefusalLog(logging.Filter):
    """On PTB's webhook logger: a refused request becomes one WARNING line."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(_PTB_WRONG_TOKEN):
            return False  # carries the token presented; the WARNING below says enough
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and args[1] == _PTB_EXCEPTION:
            error = record.exc_info[1] if record.exc_info else None
            if isinstance(error, tornado.web.HTTPError):
                record.levelno, record.levelname = logging.WARNING, "WARNING"
                record.name = log.name
                record.msg = "webhook request from %s refused (%s): %s"
                record.args = (args[0], error.status_code, error.reason or "")
                record.exc_info, record.exc_text = None, None
                return True
        return record.levelno >= self.level


def install_refusal_log(level: int | str) -> RefusalLog:
    """Log refused webhook requests at WARNING; PTB's other lines keep ``level``."""
    numeric = level if isinstance(level, int) else logging.getLevelName(level)
    logger = logging.getLogger(PTB_WEBHOOK_LOGGER)
    for old in [f for f in logger.filters if isinstance(f, RefusalLog)]:
        logger.removeFilter(old)
    refusal = RefusalLog(numeric)
    logger.addFilter(refusal)
    # PTB reports refusals at DEBUG: the logger must let them through to the filter.
    logger.setLevel(logging.DEBUG)
    return refusal
