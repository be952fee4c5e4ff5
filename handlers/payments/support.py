"""/paysupport: how to get help with a payment, and a request the admins see."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.services import pay_support
from bot.services.stars import StarsError
from handlers.common import now
from handlers.language import translator
from handlers.payments import views


async def ask_for_help(update: Update, context: BotContext) -> None:
    """Without text: how it works. With text: the request goes to the admin group."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or message.text is None:
        return
    t = await translator(update, context)
    parts = message.text.split(maxsplit=1)
    if len(parts) < 2:
        await message.reply_text(views.support_help(t))
        return
    try:
        await pay_support.open_request(
            context.db,
            telegram_id=user.id,
            name=user.full_name,
            text=parts[1],
            message_id=message.message_id,
            admin_chat_id=context.settings.admin_chat_id,
            now=now(context),
        )
    except StarsError as exc:
        await message.reply_text(views.support_refusal(exc, t))
        return
    await message.reply_text(views.support_opened(t))
