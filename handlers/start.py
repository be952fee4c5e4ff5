"""/start, /help and the main menu, by role, in the reader's language."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.i18n import SOURCE, Translator
from bot.services.resellers import Identity, Role
from handlers import customer_view
from handlers.common import identify, show
from handlers.language import translator


def not_registered(t: Translator, user_id: int) -> str:
    return t._(
        "You are not registered as a reseller yet.\n"
        "Send your Telegram id <code>{user_id}</code> to an admin to get access.",
        user_id=user_id,
    )


def menu_for(
    identity: Identity, first_name: str, user_id: int, t: Translator = SOURCE
) -> tuple[str, InlineKeyboardMarkup | None]:
    name = t.isolate(escape(first_name))
    if identity.role == Role.ADMIN:
        return t._("Hello, {name}! <b>Admin menu</b>", name=name), keyboards.admin_menu(t)
    if identity.role == Role.RESELLER and identity.reseller:
        return (
            t._(
                "Hello, {name}! What would you like to do?",
                name=t.isolate(escape(identity.reseller.name)),
            ),
            keyboards.reseller_menu(t),
        )
    if identity.role == Role.SUSPENDED:
        return (
            t._(
                "Your reseller account is suspended, so new sales are paused.\n"
                "You can still see your /balance and /history. "
                "Contact an admin to reactivate it."
            ),
            None,
        )
    return (
        t._("Hello, {name}! This bot is for the resellers of our service.", name=name)
        + "\n"
        + not_registered(t, user_id),
        None,
    )


def help_text(identity: Identity, user_id: int, t: Translator = SOURCE) -> str:
    reseller = t._(
        "<b>Reseller commands</b>\n"
        "/start - main menu\n"
        "/balance - balance, held and available credits\n"
        "/history - every credit movement, newest first\n"
        "/activate - a new customer: username, plan, confirm\n"
        "/renew - renew a customer (add part of a username to search)\n"
        "/customers - your customers; filter, search, open a card (invite link, linked chat)\n"
        "/topup - ask for credits and send the proof of payment\n"
        "/topups - your top-up requests; cancel a pending one\n"
        "/language - change the language\n"
        "/cancel - leave the current step\n\n"
        "Amounts use two decimals, like 100.50; 100,50 works too."
    )
    if identity.role == Role.ADMIN:
        admin = t._(
            "<b>Admin commands</b>\n"
            "/start - admin menu\n"
            "/pending - top-ups waiting for a decision (here or in the admin group)\n"
            "/resellers - resellers and their balances; suspend or reactivate one\n"
            "/audit - check every balance against the ledger\n"
            "/language - change the language\n\n"
            "Plans, prices and credits are managed with <code>python -m bot</code> "
            "on the server (see the README)."
        )
        return admin + ("\n\n" + reseller if identity.reseller else "")
    if identity.role in (Role.RESELLER, Role.SUSPENDED):
        return reseller
    if identity.role == Role.CUSTOMER:
        return t._(
            "/status - your subscription, and a button to ask your reseller to renew it\n"
            "/unlink - unlink this chat: no more reminders here "
            "(the invite link links it back)\n"
            "/language - change the language"
        )
    return (
        t._(
            "This bot lets resellers check their credits and serve their customers.\n"
            "Customers: open the invite link your reseller sent you to link this chat."
        )
        + "\n"
        + not_registered(t, user_id)
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
    t = await translator(update, context)
    text, keyboard = menu_for(identity, user.first_name, user.id, t)
    await show(update, text, keyboard)


async def help_command(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None:
        return
    identity = await identify(update, context)
    t = await translator(update, context)
    keyboard = keyboards.back_to_menu(t) if update.callback_query else None
    await show(update, help_text(identity, user.id, t), keyboard)


def register(app: BotApplication) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start, filters=private))
    app.add_handler(CommandHandler("help", help_command, filters=private))
    app.add_handler(CallbackQueryHandler(start, pattern=f"^{keyboards.MENU}$"))
    app.add_handler(CallbackQueryHandler(help_command, pattern=f"^{keyboards.HELP}$"))
