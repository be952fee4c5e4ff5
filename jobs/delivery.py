"""One outbox message sent, and what came of it: the sender (jobs/notifier.py) records
the outcomes of its sends together, a group at a time.

A chat that blocked the bot (403) is marked unreachable. The admin group never is: a
403 there is logged as an error and the message retried with a slow backoff. A 429 the
rate limiter could not wait out, a network error or a statement's file that could not
be written are retried later; a message Telegram refuses (400) or that cannot be made
is given up.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.db import Database
from bot.i18n import Translator
from bot.ratelimit import BULK
from bot.services import announcements, outbox
from bot.services.outbox import Outcome, Result
from bot.settings import Settings
from jobs import broadcast, notices, reports

log = logging.getLogger(__name__)


async def send_one(
    bot: ExtBot[Any],
    db: Database,
    settings: Settings,
    message: outbox.Due,
    t: Translator,
    copy: announcements.Content | None = None,
) -> Outcome:
    """Send ``message`` (an announcement's copy with its ``copy``, checked still queued)."""
    try:
        if message.kind == announcements.KIND:
            if copy is None:
                raise ValueError("an announcement's copy without its content")
            await broadcast.send_copy(bot, settings, message, copy, t)
        elif message.kind in notices.DOCUMENTS:
            await reports.send_statement(bot, db, settings, message.payload, t)
        else:
            text, markup = notices.render(message.kind, message.payload, settings, t)
            await bot.send_message(message.chat_id, text, reply_markup=markup, rate_limit_args=BULK)
    except Forbidden as exc:
        if message.chat_id == settings.admin_chat_id:
            return _admin_group_refused(settings, message, exc)
        log.info("chat %s blocked the bot; marking it unreachable", message.chat_id)
        return Outcome(message, Result.UNREACHABLE, str(exc), refused=True)
    except RetryAfter as exc:
        # The rate limiter already waited and retried; try this one again later.
        wait = exc.retry_after
        delay = wait if isinstance(wait, dt.timedelta) else dt.timedelta(seconds=wait)
        return Outcome(message, Result.RETRY, f"429: {exc}", wait=delay)
    except BadRequest as exc:
        log.warning("outbox message %s refused: %s", message.id, exc)
        return Outcome(message, Result.FAILED, f"400: {exc}")
    except NetworkError as exc:
        if outbox.gives_up(message, settings.outbox_max_attempts):
            log.warning("outbox message %s given up after network errors: %s", message.id, exc)
        return Outcome(message, Result.RETRY, f"network: {exc}")
    except OSError as exc:  # a statement's file could not be written: try it again later
        log.error("outbox message %s: its file could not be written: %s", message.id, exc)
        return Outcome(message, Result.RETRY, f"file: {exc}")
    except (TelegramError, ValueError, KeyError) as exc:
        log.error("outbox message %s cannot be sent: %s", message.id, exc)
        return Outcome(message, Result.FAILED, str(exc))
    return Outcome(message, Result.SENT)


# The admin group is never marked unreachable: a 403 there means the bot was removed from
# it or may not post, which an operator puts right, and top-up decisions depend on the
# group. So the message stays pending, with a slower backoff than a network error's (5,
# 10, 20, 40 minutes, then hourly) still bounded by OUTBOX_MAX_ATTEMPTS: with the default
# 8 attempts it is tried for about four hours, with an error logged at every one.
ADMIN_GROUP_FIRST_WAIT = dt.timedelta(minutes=5)
ADMIN_GROUP_MAX_WAIT = dt.timedelta(hours=1)


def _admin_group_refused(settings: Settings, message: outbox.Due, exc: Forbidden) -> Outcome:
    wait = min(ADMIN_GROUP_MAX_WAIT, ADMIN_GROUP_FIRST_WAIT * 2 ** min(message.attempts, 8))
    kept = not outbox.gives_up(message, settings.outbox_max_attempts)
    log.error(
        "the admin group %s refused outbox message %s (403: %s); check that the bot is "
        "still in the group and may post there. %s",
        message.chat_id,
        message.id,
        exc,
        f"Retrying in {wait}." if kept else "Given up after the last attempt.",
    )
    return Outcome(message, Result.RETRY, f"403: {exc}", wait=wait, refused=True)
