"""📊 Charts: sales, credits, top resellers, income, debt, customers and expiries as
pictures, with their key figures and the same numbers as a table, for admins (the
``reports`` permission) from their menu and for resellers from their balance screen; and
``/charts``."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BotApplication
from handlers.charts import callbacks, screens

__all__ = ["register"]


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("charts", screens.charts_command, filters=private))
    app.add_handler(CallbackQueryHandler(screens.menu, pattern=callbacks.MENU.pattern()))
    app.add_handler(CallbackQueryHandler(screens.pick, pattern=callbacks.PICK.pattern()))
    app.add_handler(CallbackQueryHandler(screens.picture, pattern=callbacks.PICTURE.pattern()))
    app.add_handler(CallbackQueryHandler(screens.table, pattern=callbacks.TABLE.pattern()))
