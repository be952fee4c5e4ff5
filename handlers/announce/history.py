"""Past announcements in chat: /announcements or the composer's button lists them (an
admin allowed to announce sees everyone's, a reseller its own), a tap opens one, and a
scheduled one can be cancelled from there. Who asks is read from the database at every
tap; an id from a forged button that is not the asker's is refused like a missing one."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.services import announcement_history
from bot.services.announcement_history import Asker
from bot.services.announcements import AnnouncementError
from handlers import flow
from handlers.announce import callbacks as buttons
from handlers.announce import history_views as views
from handlers.announce import progress
from handlers.announce import views as composer_views
from handlers.announce.draft import DRAFT
from handlers.common import refuse, show
from handlers.language import reader


async def _asker(update: Update, context: BotContext) -> Asker | None:
    """The asker if they may announce (and so see announcements); told no otherwise."""
    author = await progress.author(update, context)
    if author is None:
        await refuse(update, composer_views.not_allowed((await reader(update, context)).t))
        return None
    return Asker(author.telegram_id, admin=not author.is_reseller)


async def open_history(update: Update, context: BotContext) -> None:
    """The list: its first page (the command), or the page the button names."""
    asker = await _asker(update, context)
    if asker is None:
        return
    page = buttons.HISTORY.parse(context) if update.callback_query is not None else 0
    found = await announcement_history.history(context.db, asker, page)
    await show(update, *views.history(found, await reader(update, context)))


async def leave_composer(update: Update, context: BotContext) -> int:
    """The list from the composer's first screen takes the composer's message, so the
    composer ends there: another flow or its timeout must not write over the list."""
    await open_history(update, context)
    return flow.end(context, DRAFT)


async def open_card(update: Update, context: BotContext) -> None:
    asker = await _asker(update, context)
    if asker is None:
        return
    announcement_id, page = buttons.CARD.parse(context)
    r = await reader(update, context)
    try:
        found = await announcement_history.one(context.db, announcement_id, asker)
    except AnnouncementError as exc:
        await refuse(update, views.refusal(exc.code, r.t))
        return
    await show(update, *views.card(found, page, r))


async def cancel_scheduled(update: Update, context: BotContext) -> None:
    """Cancel a scheduled one; a second tap finds it cancelled and changes nothing."""
    asker = await _asker(update, context)
    if asker is None:
        return
    announcement_id, page = buttons.CANCEL_SCHEDULED.parse(context)
    r = await reader(update, context)
    try:
        found = await announcement_history.cancel(context.db, announcement_id, asker)
    except AnnouncementError as exc:
        await refuse(update, views.refusal(exc.code, r.t))
        return
    await show(update, *views.card(found, page, r, views.cancelled_note(r.t)))
