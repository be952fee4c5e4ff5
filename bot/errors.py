"""The error handler: log the failure with its context, tell the user one plain line."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import NetworkError, TelegramError

from bot.context import BotContext

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong on our side. Please try again in a moment."


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    if update is None and isinstance(error, NetworkError):
        # Polling hiccups: the updater retries by itself; no traceback needed.
        log.warning("network error while polling: %s", error)
        return
    if isinstance(update, Update):
        user = update.effective_user
        chat = update.effective_chat
        log.error(
            "handling update %s failed (user %s, chat %s, %s)",
            update.update_id,
            user.id if user else None,
            chat.id if chat else None,
            _what(update),
            exc_info=error,
        )
        await _apologise(update, context)
    else:
        log.error("error outside an update: %r", update, exc_info=error)


def _what(update: Update) -> str:
    if update.callback_query is not None:
        return f"button {update.callback_query.data!r}"
    message = update.effective_message
    if message is not None and message.text is not None:
        return f"text of {len(message.text)} characters"
    return "non-text update"


async def _apologise(update: Update, context: BotContext) -> None:
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(SORRY, show_alert=True)
        elif update.effective_chat is not None:
            await context.bot.send_message(update.effective_chat.id, SORRY)
    except TelegramError as exc:
        log.warning("could not tell the user about the error: %s", exc)
