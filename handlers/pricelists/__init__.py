"""Price lists in chat: the admins' lists (🏷 Price lists in the catalogue, and 🏷 Price
list on a reseller's card) and a parent reseller's own (``/prices``): each list's plans
with their prices, a plan's price typed as an amount or a percentage, renaming, deleting,
and who is on which list.

``form`` goes to the one conversation all flows share; ``register`` adds the screens.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication, BotContext
from handlers.pricelists import callbacks as cb
from handlers.pricelists import screens
from handlers.pricelists.form import form

__all__ = ["form", "register"]


async def _closed(update: Update, context: BotContext) -> None:
    """Cancel on a form that already ended: back to the lists."""
    await screens.home_of(update, context, cb.CANCEL.parse(context))


def register(app: BotApplication) -> None:
    """The screens outside the form (the form is ``form``)."""
    app.add_handler(CommandHandler("prices", screens.prices_command))
    for codec, callback in (
        (cb.HOME, screens.home),
        (cb.CARD, screens.open_card),
        (cb.CLEAR, screens.clear),
        (cb.DELETE, screens.ask_delete),
        (cb.DELETE_YES, screens.delete),
        (cb.RESELLER, screens.choose_for),
        (cb.PUT, screens.put),
        (cb.CANCEL, _closed),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
