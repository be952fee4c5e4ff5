"""Who may announce, and the Stop button on an announcement's progress message.

The progress message itself is kept up to date by the outbox job (jobs/broadcast.py);
Stop shows the counts at once, and the job's next pass shows them final.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.services import announcement_authors, announcements
from bot.services.announcement_audience import Author
from bot.services.announcements import AnnouncementError
from bot.services.roles import Permission
from handlers.announce import callbacks as buttons
from handlers.announce import views
from handlers.common import may, now, refuse, show
from handlers.language import reader


async def author(update: Update, context: BotContext) -> Author | None:
    """The asker as an author: an admin allowed to announce, or an active
    reseller (for its own customers); None for anyone else. Read from the database."""
    user = update.effective_user
    if user is None:
        return None
    return await announcement_authors.author_of(context.db, user.id, context.settings.admin_ids)


async def stop(update: Update, context: BotContext) -> None:
    """Stop: nothing more of it goes out. Its author may, and admins."""
    user, r = update.effective_user, await reader(update, context)
    if user is None:
        return
    admin = await may(update, context, Permission.ANNOUNCEMENTS)
    try:
        announcement_id = buttons.STOP.parse(context)
        shown = await announcements.stop(context.db, announcement_id, asker=user.id, admin=admin)
    except AnnouncementError:
        await refuse(update, views.refusal("not_yours", r))
        return
    await show(update, *views.progress(shown, now(context), r))
