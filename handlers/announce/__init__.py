"""Announcements: admins to resellers or customers (by segment), resellers to their own
customers; a preview, Send through the outbox, a progress message with Stop, scheduling.

``flow``      the composer's state table, a flow of the one conversation all flows share
``compose``   its steps
``progress``  who may announce, and the Stop button
``callbacks`` one codec per button family
``views``     every text and keyboard, and the copy each recipient gets
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler

from bot.context import BotApplication
from handlers.announce import callbacks, progress
from handlers.announce.flow import composer

__all__ = ["composer", "register"]


def register(app: BotApplication) -> None:
    """Stop, on a progress message, whenever it is tapped."""
    app.add_handler(CallbackQueryHandler(progress.stop, pattern=callbacks.STOP.pattern()))
