"""The customer's own view: link a chat by invite link, the status, a renewal request,
unlinking.

``screens``   the handlers
``callbacks`` one codec per button family
``views``     every text and keyboard of the feature
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BotApplication
from handlers.customer import callbacks, notices, screens

__all__ = ["register"]


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("status", screens.status_command, filters=private))
    app.add_handler(CommandHandler("unlink", screens.ask_unlink, filters=private))
    app.add_handler(CommandHandler("notifications", notices.open_choices, filters=private))
    for codec, callback in (
        (callbacks.RENEWAL_REQUEST, screens.request_renewal),
        (callbacks.UNLINK, screens.ask_unlink),
        (callbacks.UNLINK_CONFIRM, screens.unlink),
        (callbacks.STATUS, screens.status_button),
        (callbacks.NOTICES, notices.open_choices),
        (callbacks.NOTICES_OF, notices.open_subscription),
        (callbacks.NOTICES_SET, notices.set_choice),
        (callbacks.NOTICES_PROMOTIONS, notices.open_choices),
        (callbacks.NOTICES_REMINDERS, notices.open_choices),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
