"""What the bot says when nothing else matched: never silence, never a traceback."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from handlers.common import answer
from handlers.home import views
from handlers.language import translator


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel outside any conversation: nothing to leave."""
    if update.effective_message:
        t = await translator(update, context)
        await update.effective_message.reply_text(views.nothing_to_cancel(t))


async def unknown_command(update: Update, context: BotContext) -> None:
    if update.effective_message:
        t = await translator(update, context)
        await update.effective_message.reply_text(views.unknown_command(t))


async def stray_message(update: Update, context: BotContext) -> None:
    if update.effective_message:
        t = await translator(update, context)
        await update.effective_message.reply_text(views.unexpected_message(t))


async def stale_button(update: Update, context: BotContext) -> None:
    """A button no handler knows: from an old message, or forged."""
    if update.callback_query:
        t = await translator(update, context)
        await answer(update.callback_query, views.stale_button(t), alert=True)
