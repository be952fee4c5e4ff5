"""📤 Export: credit history, customers, top-ups, sales and the action log as CSV or XLSX
files, for admins (the ``reports`` permission) from their menu and for resellers from
their balance screen.

``form`` goes to the one conversation all flows share (typing the period); ``register``
adds the buttons that work outside it.
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler

from bot.context import BotApplication
from handlers.exports import callbacks, screens
from handlers.exports.screens import form

__all__ = ["form", "register"]


def register(app: BotApplication) -> None:
    app.add_handler(CallbackQueryHandler(screens.menu, pattern=callbacks.MENU.pattern()))
    app.add_handler(CallbackQueryHandler(screens.tapped_period, pattern=callbacks.WHEN.pattern()))
    app.add_handler(CallbackQueryHandler(screens.make, pattern=callbacks.MAKE.pattern()))
