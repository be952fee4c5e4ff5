"""Home: /start and the main menu, /help, the command menus Telegram shows, and what the
bot says when nothing else matched.

``register`` adds the menu and help; ``register_fallbacks`` the catch-alls, which go last.
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import keyboards
from bot.context import BotApplication
from handlers.home import fallback
from handlers.home.start import help_command, start

__all__ = ["register", "register_fallbacks", "start"]


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start, filters=private))
    app.add_handler(CommandHandler("help", help_command, filters=private))
    app.add_handler(CallbackQueryHandler(start, pattern=f"^{keyboards.MENU}$"))
    app.add_handler(CallbackQueryHandler(help_command, pattern=f"^{keyboards.HELP}$"))


def register_fallbacks(app: BotApplication) -> None:
    """The catch-alls: to be added after every other handler of the group."""
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("cancel", fallback.cancel, filters=private))
    app.add_handler(MessageHandler(private & filters.COMMAND, fallback.unknown_command))
    app.add_handler(MessageHandler(private & ~filters.COMMAND, fallback.stray_message))
    app.add_handler(CallbackQueryHandler(fallback.stale_button))
