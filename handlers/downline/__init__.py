"""Sub-resellers: a parent's list of its downline, a sub-reseller's card, its customers and
sales (read-only), registering one and moving credits to and from it; and the admin's
setting of how deep a reseller's downline may go.

``register`` adds the screens; ``flows`` the two forms, for the one conversation.
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot.context import BotApplication
from handlers import flow
from handlers.downline import callbacks as buttons
from handlers.downline import drafts  # noqa: F401  (the flows' draft types, for the persistence)

__all__ = ["flows", "register"]


def flows() -> list[flow.Flow]:
    # Imported here: the screens use the admin's, which use the home menu, which uses
    # this package's menu entry.
    from handlers.downline.allocate import allocating
    from handlers.downline.enrol import registering

    return [registering(), allocating()]


def register(app: BotApplication) -> None:
    from handlers.downline import allocate, screens

    app.add_handler(
        CommandHandler("subresellers", screens.listing, filters=filters.ChatType.PRIVATE)
    )
    for codec, callback in (
        (buttons.LIST, screens.listing),
        (buttons.CARD, screens.card),
        (buttons.CUSTOMERS, screens.customers),
        (buttons.SALES, screens.sales),
        (buttons.DEPTH_MENU, screens.depth_menu),
        (buttons.DEPTH, screens.set_depth),
        (buttons.SAVE, allocate.saved_before),  # Save again once the form has ended
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
