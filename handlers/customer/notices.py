"""The customer's notification choices: /notifications or the status screen's button.

Each subscription has its own: a chat linked to several is asked which one first. Whose
subscriptions they are comes from the chat, looked up on the server; an id from a forged
button that is not linked to this chat is refused and changes nothing.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.services import notice_choices
from bot.services.customers import CustomerError
from handlers.common import refuse, show
from handlers.customer import callbacks, notice_views, views
from handlers.language import reader
from models import ReminderChoice


async def open_choices(update: Update, context: BotContext) -> None:
    """One subscription's choices, or the question which one when there are several."""
    chat, r = update.effective_chat, await reader(update, context)
    if chat is None:
        return
    found = await notice_choices.subscriptions_of(context.db, chat.id)
    if not found:
        await refuse(update, views.not_linked(r))
    elif len(found) == 1:
        await show(update, *notice_views.choices(found[0], r, several=False))
    else:
        await show(update, *notice_views.which(found, r))


async def _of(
    update: Update,
    context: BotContext,
    customer_id: int,
    *,
    promotions: bool | None = None,
    reminders: ReminderChoice | None = None,
) -> None:
    """Set what was asked (nothing, to open it) of one subscription, then show it."""
    chat, r = update.effective_chat, await reader(update, context)
    if chat is None:
        return
    try:
        found = await notice_choices.choose(
            context.db, chat.id, customer_id, promotions=promotions, reminders=reminders
        )
    except CustomerError:
        await refuse(update, notice_views.not_here(r))
        return
    several = len(await notice_choices.subscriptions_of(context.db, chat.id)) > 1
    await show(update, *notice_views.choices(found, r, several=several))


async def open_subscription(update: Update, context: BotContext) -> None:
    await _of(update, context, callbacks.NOTICES_OF.parse(context))


async def set_choice(update: Update, context: BotContext) -> None:
    customer_id, which, value = callbacks.NOTICES_SET.parse(context)
    if which == "p":
        await _of(update, context, customer_id, promotions=value == "on")
    else:
        await _of(update, context, customer_id, reminders=ReminderChoice(value))
