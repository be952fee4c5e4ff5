"""What the bot says when nothing else matched: never silence, never a traceback."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotApplication, BotContext
from handlers.common import answer
from handlers.language import translator


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel outside any conversation: nothing to leave."""
    if update.effective_message:
        t = await translator(update, context)
        await update.effective_message.reply_text(
            t._("Nothing to cancel. Send /start for the menu.")
        )


async def unknown_command(update: Update, context: BotContext) -> None:
    if update.effective_message:
        t = await translator(update, context)
        await update.effective_message.reply_text(
            t._("I don't know that command. Send /help to see what I can do.")
        )


async def stray_message(update: Update, context: BotContext) -> None:
    if update.effective_message:
        t = await translator(update, context)
        await update.effective_message.reply_text(
            t._("I didn't expect that here. Send /start for the menu.")
        )


async def stale_button(update: Update, context: BotContext) -> None:
    """A button no handler knows: from an old message, or forged."""
    if update.callback_query:
        t = await translator(update, context)
        await answer(
            update.callback_query,
            t._("This button is no longer valid. Send /start for a fresh menu."),
            alert=True,
        )


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("cancel", cancel, filters=private))
    app.add_handler(MessageHandler(private & filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(private & ~filters.COMMAND, stray_message))
    app.add_handler(CallbackQueryHandler(stale_button))
