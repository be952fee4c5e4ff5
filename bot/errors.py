"""The error handler: log the failure with its context, tell the user one plain line."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from babel.support import NullTranslations
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram import Update
from telegram.error import BadRequest, NetworkError, TelegramError

from bot import i18n
from bot.context import BotContext
from bot.error_views import sorry, storage_unavailable
from bot.i18n import Translator

log = logging.getLogger(__name__)

# The replies in the source language, as tests and logs compare them.
_SOURCE = Translator(i18n.DEFAULT_LANGUAGE, NullTranslations())
SORRY = sorry(_SOURCE)
STORAGE_UNAVAILABLE = storage_unavailable(_SOURCE)


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
    elif storage_failed(error):
        # Persistence flushes and jobs retry on their next run: while the database is
        # away, one line each time rather than a traceback every second.
        log.warning("database unavailable outside an update: %s", error)
    else:
        log.error("error outside an update: %r", update, exc_info=error)


def _what(update: Update) -> str:
    if update.callback_query is not None:
        return f"button {update.callback_query.data!r}"
    message = update.effective_message
    if message is not None and message.text is not None:
        return f"text of {len(message.text)} characters"
    return "non-text update"


def storage_failed(error: BaseException | None) -> bool:
    """The database refused or could not be reached: a connection lost or refused, the
    pool exhausted waiting for one, the disk full. The transaction rolled back whole."""
    return isinstance(error, DBAPIError | PoolTimeout | ConnectionError)


def _translator(update: Update, context: BotContext) -> Translator:
    """The user's language without asking the database, which may be what failed: the
    language the handlers remembered for them, or their Telegram client's."""
    user = update.effective_user
    if user is None:
        return context.i18n.get(None)
    remembered: Mapping[int, str] = context.bot_data.get("language_cache", {})
    return context.i18n.get(remembered.get(user.id) or i18n.pick(user.language_code))


async def _apologise(update: Update, context: BotContext) -> None:
    t = _translator(update, context)
    text = storage_unavailable(t) if storage_failed(context.error) else sorry(t)
    chat = update.effective_chat
    try:
        if update.callback_query is not None:
            try:
                await update.callback_query.answer(text, show_alert=True)
                return
            except BadRequest:  # the handler had answered the tap already: say it instead
                if chat is None:
                    raise
        if chat is not None:
            await context.bot.send_message(chat.id, text)
    except TelegramError as exc:
        log.warning("could not tell the user about the error: %s", exc)
