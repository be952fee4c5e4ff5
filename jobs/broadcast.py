"""Announcements on the sender's side: one copy written and sent, scheduled ones queued
when their time comes, and each author's progress message kept up to date.

A copy is sent only if it was still queued when the sender took it into its window
(``announcements.pending_copies``, read for the copies it is about to hand to the Bot
API), so a Stop holds back every copy not already on the wire; copies use the bulk
budget like every notice, so replies to users keep priority.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.db import Database
from bot.i18n import Catalogs, Translator
from bot.ratelimit import BULK
from bot.services import announcements, outbox
from bot.services.languages import languages_of
from bot.settings import Settings
from handlers.announce import views
from handlers.common import not_modified
from handlers.reader import Reader

log = logging.getLogger(__name__)


async def send_copy(
    bot: ExtBot[Any],
    settings: Settings,
    message: outbox.Due,
    content: announcements.Content,
    t: Translator,
) -> None:
    """Send one copy of ``content``, checked still queued a moment ago."""
    text, markup = views.copy(content.message, content.audience, Reader.of(settings, t))
    if content.message.photo_file_id:
        await bot.send_photo(
            message.chat_id, content.message.photo_file_id, caption=text,
            reply_markup=markup, rate_limit_args=BULK,
        )  # fmt: skip
    else:
        await bot.send_message(message.chat_id, text, reply_markup=markup, rate_limit_args=BULK)


async def refresh_progress(
    bot: ExtBot[Any], db: Database, settings: Settings, now: dt.datetime, catalogs: Catalogs
) -> int:
    """Edit every unfinished announcement's progress message; how many were edited."""
    edited = 0
    for announcement_id in await announcements.unfinished(db):
        shown = await announcements.finish_if_drained(db, announcement_id, now)
        if shown.chat_id is None or shown.message_id is None:
            continue
        async with db.transaction() as session:
            language = (await languages_of(session, {shown.chat_id})).get(shown.chat_id)
        text, markup = views.progress(shown, now, Reader.of(settings, catalogs.get(language)))
        try:
            await bot.edit_message_text(
                text, chat_id=shown.chat_id, message_id=shown.message_id, reply_markup=markup
            )
            edited += 1
        except BadRequest as exc:
            if not not_modified(exc):
                log.warning("progress of announcement %s not shown: %s", announcement_id, exc)
        except TelegramError as exc:
            log.warning("progress of announcement %s not shown: %s", announcement_id, exc)
    return edited
