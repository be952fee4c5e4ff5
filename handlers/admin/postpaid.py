"""Postpaid resellers: recording cash received, who owes, and statements.

``flows()`` gives the cash and statement flows to the one conversation all flows share;
``register`` adds the screens outside it.
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication
from handlers import flow
from handlers.admin import cash, statement
from handlers.admin import postpaid_callbacks as buttons


def flows() -> list[flow.Flow]:
    return [cash.cash_received(), statement.statement()]


def register(app: BotApplication) -> None:
    """Who owes; the statement's period buttons once its flow is over; and a second tap on
    a cash Save once its flow is over (it says the payment was recorded once)."""
    app.add_handler(CommandHandler("debtors", statement.debtors))
    for codec, callback in (
        (buttons.DEBTORS, statement.debtors),
        (buttons.STATEMENT_PERIOD, statement.tapped_period),
        (buttons.CASH_SAVE, cash.save_after_end),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
