"""The wallet: a reseller's own balance (/balance) and credit history (/history)."""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import keyboards
from bot.context import BotApplication
from handlers.wallet import screens

__all__ = ["register"]


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("balance", screens.balance, filters=private))
    app.add_handler(CommandHandler("history", screens.history, filters=private))
    app.add_handler(CallbackQueryHandler(screens.balance, pattern=f"^{keyboards.BALANCE}$"))
    app.add_handler(
        CallbackQueryHandler(screens.history, pattern=rf"^{keyboards.HISTORY}:(\d{{1,6}})$")
    )
