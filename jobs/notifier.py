"""The sender: drains the outbox within Telegram's limits, one message at a time.

Notices are bulk: the bot's rate limiter (``bot/ratelimit.py``) gives them only the part
of Telegram's budget that replies to users leave free (about 30 messages a second
overall, 20 a minute per group, less a reserve for replies there), so a reply never
waits behind a queue of notices; it also waits out a 429's ``retry_after``. Here: at
most one message a second per chat, backoff on network errors, and a chat that blocked
the bot (403) is marked unreachable and written to no more until it does anything with
the bot again. The admin group is never marked: a 403 there is logged as an error and
retried.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot import metrics
from bot.db import Database
from bot.i18n import Catalogs, Translator
from bot.ratelimit import BULK
from bot.services import announcements, outbox
from bot.services.languages import languages_of
from bot.settings import Settings
from jobs import broadcast, notices, reports

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL = 1.0  # seconds between two messages to one chat
BATCH = 200


async def drain(
    bot: ExtBot[Any],
    db: Database,
    settings: Settings,
    now: dt.datetime,
    *,
    budget_seconds: float,
    last_sent: dict[int, float],
    catalogs: Catalogs,
    still_leader: Callable[[], bool] | None = None,
) -> int:
    """Send what is due, for at most ``budget_seconds``. Returns how many went out.

    Each message is written in its chat's stored language at this moment (the admin
    group's in the default language); ``catalogs`` are the application's. With several
    instances, ``still_leader`` is asked before each message: one that lost the jobs'
    lock stops at once, so only the message in flight may go out twice.
    """
    started = time.monotonic()
    # Only the last second matters: forget older sends, or the map would grow to one
    # entry for every chat ever written to (100,000 after a round of reminders).
    for chat_id in [c for c, at in last_sent.items() if started - at >= PER_CHAT_INTERVAL]:
        del last_sent[chat_id]
    sent = 0
    blocked: set[int] = set()  # refused with a 403 during this run: the batch is stale
    while time.monotonic() - started < budget_seconds:
        batch = await outbox.due(db, now, limit=BATCH)
        if not batch:
            break
        async with db.transaction() as session:
            languages = await languages_of(session, {m.chat_id for m in batch})
        progressed = False
        for message in batch:
            if time.monotonic() - started >= budget_seconds:
                break
            if message.chat_id in blocked:
                continue
            if still_leader is not None and not still_leader():
                return sent
            wait = PER_CHAT_INTERVAL - (time.monotonic() - last_sent.get(message.chat_id, -1e9))
            if wait > 0:
                await outbox.postpone(
                    db, message.id, now + dt.timedelta(seconds=max(wait, PER_CHAT_INTERVAL))
                )
                continue
            progressed = True
            t = catalogs.get(languages.get(message.chat_id))
            outcome = await _send_one(bot, db, settings, now, message, t)
            if outcome == SENT:
                metrics.OUTBOX_SENT.inc()
                last_sent[message.chat_id] = time.monotonic()
                sent += 1
            elif outcome == BLOCKED:
                blocked.add(message.chat_id)
        if not progressed:
            break
    return sent


SENT, BLOCKED, NOT_SENT = "sent", "blocked", "not_sent"


async def _send_one(
    bot: ExtBot[Any],
    db: Database,
    settings: Settings,
    now: dt.datetime,
    message: outbox.Due,
    t: Translator,
) -> str:
    try:
        if message.kind == announcements.KIND:
            if not await broadcast.send_copy(bot, db, settings, message, t):
                return NOT_SENT  # stopped by its author meanwhile
        elif message.kind in notices.DOCUMENTS:
            await reports.send_statement(bot, db, settings, message.payload, t)
        else:
            text, markup = notices.render(message.kind, message.payload, settings, t)
            await bot.send_message(message.chat_id, text, reply_markup=markup, rate_limit_args=BULK)
    except Forbidden as exc:
        if message.chat_id == settings.admin_chat_id:
            await _admin_group_refused(db, settings, now, message, exc)
            return BLOCKED
        log.info("chat %s blocked the bot; marking it unreachable", message.chat_id)
        await outbox.mark_unreachable(db, message.chat_id, str(exc), now)
        return BLOCKED
    except RetryAfter as exc:
        # The rate limiter already waited and retried; try this one again later.
        wait = exc.retry_after
        delay = wait if isinstance(wait, dt.timedelta) else dt.timedelta(seconds=wait)
        await outbox.retry_later(
            db, message, now, f"429: {exc}", max_attempts=settings.outbox_max_attempts, wait=delay
        )
        return NOT_SENT
    except BadRequest as exc:
        log.warning("outbox message %s refused: %s", message.id, exc)
        await outbox.fail(db, message.id, f"400: {exc}")
        return NOT_SENT
    except NetworkError as exc:
        kept = await outbox.retry_later(
            db, message, now, f"network: {exc}", max_attempts=settings.outbox_max_attempts
        )
        if not kept:
            log.warning("outbox message %s given up after network errors: %s", message.id, exc)
        return NOT_SENT
    except OSError as exc:  # a statement's file could not be written: try it again later
        log.error("outbox message %s: its file could not be written: %s", message.id, exc)
        await outbox.retry_later(
            db, message, now, f"file: {exc}", max_attempts=settings.outbox_max_attempts
        )
        return NOT_SENT
    except (TelegramError, ValueError, KeyError) as exc:
        log.error("outbox message %s cannot be sent: %s", message.id, exc)
        await outbox.fail(db, message.id, str(exc))
        return NOT_SENT
    await outbox.mark_sent(db, message.id, now)
    return SENT


# The admin group is never marked unreachable: a 403 there means the bot was removed from
# it or may not post, which an operator puts right, and top-up decisions depend on the
# group. So the message stays pending, with a slower backoff than a network error's (5,
# 10, 20, 40 minutes, then hourly) still bounded by OUTBOX_MAX_ATTEMPTS: with the default
# 8 attempts it is tried for about four hours, with an error logged at every one.
ADMIN_GROUP_FIRST_WAIT = dt.timedelta(minutes=5)
ADMIN_GROUP_MAX_WAIT = dt.timedelta(hours=1)


async def _admin_group_refused(
    db: Database, settings: Settings, now: dt.datetime, message: outbox.Due, exc: Forbidden
) -> None:
    wait = min(ADMIN_GROUP_MAX_WAIT, ADMIN_GROUP_FIRST_WAIT * 2 ** min(message.attempts, 8))
    kept = await outbox.retry_later(
        db, message, now, f"403: {exc}", max_attempts=settings.outbox_max_attempts, wait=wait
    )
    log.error(
        "the admin group %s refused outbox message %s (403: %s); check that the bot is "
        "still in the group and may post there. %s",
        message.chat_id,
        message.id,
        exc,
        f"Retrying in {wait}." if kept else "Given up after the last attempt.",
    )
