"""/start, /help and the main menu, by role."""

from __future__ import annotations

from html import escape

from telegram import BotCommand, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.services.resellers import Identity, Role
from handlers import customer_view
from handlers.common import NOT_REGISTERED, identify, show

COMMANDS = [
    BotCommand("start", "Main menu"),
    BotCommand("balance", "Your balance and credits"),
    BotCommand("history", "Your credit history"),
    BotCommand("activate", "Activate a new customer"),
    BotCommand("renew", "Renew a customer"),
    BotCommand("customers", "Your customers"),
    BotCommand("topup", "Ask for credits"),
    BotCommand("topups", "Your top-up requests"),
    BotCommand("status", "Your subscription (customers)"),
    BotCommand("unlink", "Unlink this chat from your subscription (customers)"),
    BotCommand("help", "What this bot does"),
    BotCommand("cancel", "Leave the current step"),
]

RESELLER_HELP = (
    "<b>Reseller commands</b>\n"
    "/start - main menu\n"
    "/balance - balance, held and available credits\n"
    "/history - every credit movement, newest first\n"
    "/activate - a new customer: username, plan, confirm\n"
    "/renew - renew a customer (add part of a username to search)\n"
    "/customers - your customers; filter, search, open a card (invite link, linked chat)\n"
    "/topup - ask for credits and send the proof of payment\n"
    "/topups - your top-up requests; cancel a pending one\n"
    "/cancel - leave the current step\n\n"
    "Amounts use two decimals, like 100.50; 100,50 works too."
)
CUSTOMER_HELP = (
    "/status - your subscription, and a button to ask your reseller to renew it\n"
    "/unlink - unlink this chat: no more reminders here (the invite link links it back)"
)
ADMIN_HELP = (
    "<b>Admin commands</b>\n"
    "/start - admin menu\n"
    "/pending - top-ups waiting for a decision (here or in the admin group)\n"
    "/resellers - resellers and their balances\n"
    "/audit - check every balance against the ledger\n\n"
    "Resellers, plans and credits are managed with <code>python -m bot</code> "
    "on the server (see the README)."
)


def menu_for(
    identity: Identity, first_name: str, user_id: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    name = escape(first_name)
    if identity.role == Role.ADMIN:
        return f"Hello, {name}! <b>Admin menu</b>", keyboards.admin_menu()
    if identity.role == Role.RESELLER and identity.reseller:
        return (
            f"Hello, {escape(identity.reseller.name)}! What would you like to do?",
            keyboards.reseller_menu(),
        )
    if identity.role == Role.SUSPENDED:
        return (
            "Your reseller account is suspended, so new sales are paused.\n"
            "You can still see your /balance and /history. Contact an admin to reactivate it.",
            None,
        )
    return (
        f"Hello, {name}! This bot is for the resellers of our service.\n"
        + NOT_REGISTERED.format(user_id=user_id),
        None,
    )


async def start(update: Update, context: BotContext) -> None:
    """Greet by role: the admin menu, the reseller menu, or how to get registered."""
    user = update.effective_user
    if user is None:
        return
    if context.args and update.callback_query is None:
        # /start <token>: a customer opening the invite link their reseller sent.
        await customer_view.link_from_invite(update, context, context.args[0])
        return
    identity = await identify(update, context)
    if identity.role == Role.CUSTOMER:
        await customer_view.show_status(update, context)
        return
    text, keyboard = menu_for(identity, user.first_name, user.id)
    await show(update, text, keyboard)


async def help_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None:
        return
    identity = await identify(update, context)
    if identity.role == Role.ADMIN:
        text = ADMIN_HELP + ("\n\n" + RESELLER_HELP if identity.reseller else "")
    elif identity.role in (Role.RESELLER, Role.SUSPENDED):
        text = RESELLER_HELP
    elif identity.role == Role.CUSTOMER:
        text = CUSTOMER_HELP
    else:
        text = (
            "This bot lets resellers check their credits and serve their customers.\n"
            "Customers: open the invite link your reseller sent you to link this chat.\n"
            + NOT_REGISTERED.format(user_id=user.id)
        )
    await show(update, text, keyboards.back_to_menu() if update.callback_query else None)


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start, filters=private))
    app.add_handler(CommandHandler("help", help_command, filters=private))
    app.add_handler(CallbackQueryHandler(start, pattern=f"^{keyboards.MENU}$"))
    app.add_handler(CallbackQueryHandler(help_command, pattern=f"^{keyboards.HELP}$"))
