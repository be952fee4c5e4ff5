"""Every text of the home screens: the menu and help by role, the command menus, and what
the bot says when nothing else matched. Pure functions of plain values and the reader."""

from __future__ import annotations

from collections.abc import Collection

from telegram import BotCommand, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.resellers import Identity, Role
from bot.services.roles import EVERYTHING, Permission
from handlers.downline import menu_views as downline_views
from handlers.reader import Reader
from handlers.views import not_registered

Screen = tuple[str, InlineKeyboardMarkup | None]


# --- the main menu and help --------------------------------------------------------------


def menu_for(identity: Identity, first_name: str, user_id: int, r: Reader) -> Screen:
    """The greeting by role: the admin menu, the reseller menu (with Sub-resellers for a
    parent), or how to get registered."""
    t = r.t
    name = r.name(first_name)
    if identity.role == Role.ADMIN:
        menu = keyboards.admin_menu(t, identity.permissions, owner=identity.owner)
        return t._("Hello, {name}! <b>Admin menu</b>", name=name), menu
    if identity.role == Role.RESELLER and identity.reseller:
        return (
            t._(
                "Hello, {name}! What would you like to do?",
                name=r.name(identity.reseller.name),
            ),
            keyboards.reseller_menu(
                t, [downline_views.menu_button(t)] if identity.parent else None
            ),
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


def _listed(commands: list[BotCommand]) -> str:
    return "\n".join(f"/{command.command} - {command.description}" for command in commands)


def _reseller_help(identity: Identity, t: Translator, *, announcer: bool = True) -> str:
    return "\n".join(
        [
            t._("<b>Reseller commands</b>"),
            _listed([*_everyone(t), *_seller(t, parent=identity.parent, announcer=announcer)]),
            "",
            t._("Amounts use two decimals, like 100.50; 100,50 works too."),
        ]
    )


def help_text(identity: Identity, user_id: int, t: Translator, *, announcer: bool = True) -> str:
    """The commands the asker may use, as their command menu lists them (``announcer``:
    whether they may announce; an admin who may not is not shown /announce)."""
    if identity.role == Role.ADMIN:
        admin = "\n".join(
            [
                t._("<b>Admin commands</b>"),
                _listed([*_everyone(t), *_admin(t, identity.permissions)]),
            ]
        )
        seller = _reseller_help(identity, t, announcer=announcer) if identity.reseller else ""
        return admin + ("\n\n" + seller if seller else "")
    if identity.role in (Role.RESELLER, Role.SUSPENDED):
        return _reseller_help(identity, t)
    if identity.role == Role.CUSTOMER:
        return _listed(commands_for(Role.CUSTOMER, t))
    return (
        t._(
            "This bot lets resellers check their credits and serve their customers.\n"
            "Customers: open the invite link your reseller sent you to link this chat."
        )
        + "\n"
        + not_registered(t, user_id)
    )


def help_screen(
    identity: Identity, user_id: int, t: Translator, *, from_button: bool, announcer: bool = True
) -> Screen:
    """Help for the asker's role; reached from the menu, it leads back to it."""
    text = help_text(identity, user_id, t, announcer=announcer)
    return text, keyboards.back_to_menu(t) if from_button else None


# --- the command menus Telegram shows ----------------------------------------------------


def _everyone(t: Translator) -> list[BotCommand]:
    return [
        BotCommand("start", t._("Main menu")),
        BotCommand("help", t._("What this bot does")),
        BotCommand("language", t._("Change the language")),
    ]


def _seller(t: Translator, *, parent: bool = False, announcer: bool = True) -> list[BotCommand]:
    downline = [
        BotCommand("subresellers", t._("Your sub-resellers and their credits")),
        BotCommand("prices", t._("Your sub-resellers' prices")),
    ]
    announcing = [
        BotCommand("announce", t._("Send an announcement")),
        BotCommand("announcements", t._("Past announcements")),
    ]
    return [
        BotCommand("balance", t._("Your balance and credits")),
        BotCommand("history", t._("Your credit history")),
        BotCommand("activate", t._("Activate a new customer")),
        BotCommand("renew", t._("Renew a customer")),
        BotCommand("customers", t._("Your customers")),
        BotCommand("topup", t._("Ask for credits")),
        BotCommand("topups", t._("Your top-up requests")),
        BotCommand("transfer", t._("Send credits to another reseller")),
        *(announcing if announcer else []),
        BotCommand("charts", t._("Charts of your sales, customers and balance")),
        *(downline if parent else []),
        BotCommand("paysupport", t._("Help with a payment in Stars")),
        BotCommand("cancel", t._("Leave the current step")),
    ]


def _admin(t: Translator, permissions: Collection[Permission]) -> list[BotCommand]:
    admin = [
        (Permission.TOPUPS, BotCommand("pending", t._("Top-ups waiting for a decision"))),
        (Permission.TOPUPS, BotCommand("stars", t._("Stars payments and refunds"))),
        (Permission.RESELLERS, BotCommand("resellers", t._("Resellers, suspend and reactivate"))),
        (Permission.REPORTS, BotCommand("audit", t._("Check every balance against the ledger"))),
        (Permission.REPORTS, BotCommand("log", t._("The action log: who did what"))),
        (Permission.REPORTS, BotCommand("debtors", t._("Postpaid resellers who owe"))),
        (Permission.REPORTS, BotCommand("charts", t._("Charts of sales, credits and customers"))),
        (
            Permission.CATALOGUE,
            BotCommand("catalogue", t._("Plans, price tiers and payment methods")),
        ),
    ]
    return [command for permission, command in admin if permission in permissions]


def commands_for(
    role: Role,
    t: Translator,
    permissions: Collection[Permission] = EVERYTHING,
    *,
    parent: bool = False,
    announcer: bool = True,
) -> list[BotCommand]:
    """The command menu Telegram shows, for one role, in one language; an admin's lists
    only what their ``permissions`` allow (an owner's: everything), and /announce and
    /announcements only if they may announce (``announcer``: the rule of who may); a
    ``parent``'s adds its sub-resellers' commands. A reseller's lists them always (a
    suspended one is told why on use, as for its other commands)."""
    if role == Role.CUSTOMER:
        return [
            *_everyone(t),
            BotCommand("status", t._("Your subscription")),
            BotCommand("notifications", t._("Choose your notifications")),
            BotCommand("unlink", t._("Unlink this chat from your subscription")),
        ]
    if role == Role.STRANGER:
        return _everyone(t)
    if role == Role.ADMIN:
        admin = [*_everyone(t), *_admin(t, permissions)]
        listed = {command.command for command in admin}  # /charts is in both lists
        seller = _seller(t, parent=parent, announcer=announcer)
        return [*admin, *(c for c in seller if c.command not in listed)]
    return [*_everyone(t), *_seller(t, parent=parent)]


def default_commands(t: Translator) -> list[BotCommand]:
    """Every command anyone may see: the menu of those whose role Telegram cannot know."""
    return [*commands_for(Role.RESELLER, t), *commands_for(Role.CUSTOMER, t)[3:]]


# --- when nothing else matched -----------------------------------------------------------


def nothing_to_cancel(t: Translator) -> str:
    return t._("Nothing to cancel. Send /start for the menu.")


def unknown_command(t: Translator) -> str:
    return t._("I don't know that command. Send /help to see what I can do.")


def unexpected_message(t: Translator) -> str:
    return t._("I didn't expect that here. Send /start for the menu.")


def stale_button(t: Translator) -> str:
    return t._("This button is no longer valid. Send /start for a fresh menu.")
