"""The customer's notification choices: /notifications or the status screen's button.

Whose choices they are comes from the chat, looked up on the server.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.services import notice_choices
from bot.services.customers import CustomerError
from bot.services.notice_choices import Choices
from handlers.common import refuse, show
from handlers.customer import notice_views, views
from handlers.language import reader
from models import ReminderChoice


async def _show(update: Update, context: BotContext, found: Choices | None) -> None:
    r = await reader(update, context)
    if found is None:
        await refuse(update, views.not_linked(r))
        return
    await show(update, *notice_views.choices(found, r))


async def open_choices(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is not None:
        await _show(update, context, await notice_choices.choices_of(context.db, chat.id))


async def _switch(update: Update, context: BotContext, *, promotions: bool) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    found = await notice_choices.choices_of(context.db, chat.id)
    if found is None:
        await _show(update, context, None)
        return
    try:
        if promotions:
            found = await notice_choices.choose(
                context.db, chat.id, promotions=not found.promotions
            )
        else:
            other = ReminderChoice.LAST if found.reminders == ReminderChoice.ALL else None
            found = await notice_choices.choose(
                context.db, chat.id, reminders=other or ReminderChoice.ALL
            )
    except CustomerError:
        found = None
    await _show(update, context, found)


async def switch_promotions(update: Update, context: BotContext) -> None:
    await _switch(update, context, promotions=True)


async def switch_reminders(update: Update, context: BotContext) -> None:
    await _switch(update, context, promotions=False)
