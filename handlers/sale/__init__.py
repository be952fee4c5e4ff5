"""Selling: activation and renewal (the flow), the customers list and card, invite links.

``conversation()`` gives the flow's steps to the one conversation all flows share;
``register`` adds the screens outside it.
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BotApplication
from handlers.sale import callbacks, screens, selling
from handlers.sale.flow import conversation

__all__ = ["conversation", "register"]


def register(app: BotApplication) -> None:
    """The customer screens outside the flow (the flow itself is in ``conversation``)."""
    private = filters.ChatType.PRIVATE
    # A Confirm tapped after its flow ended: what it did, charging nothing.
    app.add_handler(
        CallbackQueryHandler(selling.show_earlier_sale, pattern=callbacks.CONFIRM.pattern())
    )
    app.add_handler(CommandHandler("customers", screens.list_customers, filters=private))
    for codec, callback in (
        (callbacks.LIST, screens.list_customers),
        (callbacks.CARD, screens.card),
        (callbacks.INVITE, screens.show_invite),
        (callbacks.REVOKE_LINK, screens.revoke_invite),
        (callbacks.NEW_LINK, screens.replace_invite),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
