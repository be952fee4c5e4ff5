"""Announcements: admins to resellers or customers (by segment), resellers to their own
customers; a preview, Send through the outbox, a progress message with Stop, scheduling.

``flow``      the composer's state table, a flow of the one conversation all flows share
``compose``   its steps
``progress``  who may announce, and the Stop button
``history``   past announcements: the list, a card, cancelling a scheduled one
``schedule``  when to send: quick times, a day on the calendar, or typed
``callbacks`` one codec per button family
``views``     every text and keyboard, and the copy each recipient gets
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BotApplication
from handlers.announce import callbacks, history, progress
from handlers.announce.flow import composer

__all__ = ["composer", "register"]


def register(app: BotApplication) -> None:
    """Stop, on a progress message, whenever it is tapped; past announcements."""
    app.add_handler(CallbackQueryHandler(progress.stop, pattern=callbacks.STOP.pattern()))
    app.add_handler(
        CommandHandler("announcements", history.open_history, filters=filters.ChatType.PRIVATE)
    )
    for codec, callback in (
        (callbacks.HISTORY, history.open_history),
        (callbacks.CARD, history.open_card),
        (callbacks.CANCEL_SCHEDULED, history.cancel_scheduled),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
