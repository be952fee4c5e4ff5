"""Every text of the home screens: the menu and help by role, the command menus, and what
the bot says when nothing else matched. Pure functions of plain values and the reader."""

from __future__ import annotations

from collections.abc import Collection
from typing import NamedTuple

from telegram import BotCommand, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.resellers import Identity, Role
from bot.services.roles import Permission
from handlers.downline import menu_views as downline_views
from handlers.reader import Reader
from handlers.views import not_registered

Screen = tuple[str, InlineKeyboardMarkup | None]


class Menu(NamedTuple):
    """Everything that decides one person's commands (what this process last showed a
    chat is kept as one, so a change of any of it shows the new menu)."""

    role: Role  # a suspended reseller's is a reseller's
    language: str
    permissions: frozenset[Permission] = frozenset()  # an admin's; nobody else's count
    parent: bool = False  # a reseller who may have sub-resellers
    announcer: bool = False  # may announce: the rule of who may (announcement_authors)
    sells: bool = False  # an admin with a reseller account of their own


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


def help_text(menu: Menu, user_id: int, t: Translator) -> str:
    """The commands the asker may use: their command menu's (``command_sections``), under
    a heading per part for an admin or a reseller."""
    sections = command_sections(menu, t)
    if menu.role == Role.CUSTOMER:
        return _listed(sections[0].commands)
    if menu.role == Role.STRANGER:
        return (
            t._(
                "This bot lets resellers check their credits and serve their customers.\n"
                "Customers: open the invite link your reseller sent you to link this chat."
            )
            + "\n"
            + not_registered(t, user_id)
        )
    parts = [f"{section.heading}\n{_listed(section.commands)}" for section in sections]
    if sections[-1].seller:
        parts[-1] += "\n\n" + t._("Amounts use two decimals, like 100.50; 100,50 works too.")
    return "\n\n".join(parts)


def help_screen(menu: Menu, user_id: int, t: Translator, *, from_button: bool) -> Screen:
    """Help for the asker's role; reached from the menu, it leads back to it."""
    return help_text(menu, user_id, t), keyboards.back_to_menu(t) if from_button else None


# --- the command menus Telegram shows ----------------------------------------------------


def _everyone(t: Translator) -> list[BotCommand]:
    return [
        BotCommand("start", t._("Main menu")),
        BotCommand("help", t._("What this bot does")),
        BotCommand("language", t._("Change the language")),
    ]


def _announcing(t: Translator) -> list[BotCommand]:
    return [
        BotCommand("announce", t._("Send an announcement")),
        BotCommand("announcements", t._("Past announcements")),
    ]


def _seller(t: Translator, *, parent: bool, announcer: bool) -> list[BotCommand]:
    downline = [
        BotCommand("subresellers", t._("Your sub-resellers and their credits")),
        BotCommand("prices", t._("Your sub-resellers' prices")),
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
        *(_announcing(t) if announcer else []),
        BotCommand("charts", t._("Charts of your sales, customers and balance")),
        *(downline if parent else []),
        BotCommand("paysupport", t._("Help with a payment in Stars")),
        BotCommand("cancel", t._("Leave the current step")),
    ]


def _admin(
    t: Translator, permissions: Collection[Permission], *, announcer: bool
) -> list[BotCommand]:
    """An admin's own commands, by permission; announcing where the rule of who may
    announce lets them reach everyone (with the announcements permission)."""
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
        *((Permission.ANNOUNCEMENTS, command) for command in _announcing(t) if announcer),
    ]
    leave = BotCommand("cancel", t._("Leave the current step"))  # the admins' flows too
    return [*(command for permission, command in admin if permission in permissions), leave]


class Section(NamedTuple):
    """A part of someone's commands: an admin's, or a reseller's (``seller``)."""

    heading: str
    commands: list[BotCommand]
    seller: bool = False


def command_sections(menu: Menu, t: Translator) -> list[Section]:
    """The commands ``menu``'s person has, in parts: the one list of their command menu
    and of their /help. An admin's lists what their permissions allow (an owner's:
    everything) and, if they have a reseller account of their own, a reseller's commands;
    /announce and /announcements are listed only if they may announce (``announcer``:
    the rule of who may; not a suspended reseller); a ``parent``'s adds its
    sub-resellers' commands."""
    if menu.role == Role.CUSTOMER:
        customer = [
            *_everyone(t),
            BotCommand("status", t._("Your subscription")),
            BotCommand("notifications", t._("Choose your notifications")),
            BotCommand("unlink", t._("Unlink this chat from your subscription")),
        ]
        return [Section("", customer)]
    if menu.role == Role.STRANGER:
        return [Section("", _everyone(t))]
    selling = _seller(t, parent=menu.parent, announcer=menu.announcer)
    seller = Section(t._("<b>Reseller commands</b>"), [*_everyone(t), *selling], seller=True)
    if menu.role != Role.ADMIN:
        return [seller]
    own = _admin(t, menu.permissions, announcer=menu.announcer)
    admin = Section(t._("<b>Admin commands</b>"), [*_everyone(t), *own])
    return [admin, seller] if menu.sells else [admin]


def commands_for(menu: Menu, t: Translator) -> list[BotCommand]:
    """The command menu Telegram shows ``menu``'s person: their ``command_sections``,
    each command once (/charts and /cancel are an admin's and a reseller's)."""
    listed: dict[str, BotCommand] = {}
    for section in command_sections(menu, t):
        for command in section.commands:
            listed.setdefault(command.command, command)
    return list(listed.values())


def default_commands(t: Translator) -> list[BotCommand]:
    """Every command anyone may see: the menu of those whose role Telegram cannot know."""
    seller = Menu(Role.RESELLER, t.language, announcer=True)
    return [*commands_for(seller, t), *commands_for(Menu(Role.CUSTOMER, t.language), t)[3:]]


# --- when nothing else matched -----------------------------------------------------------


def nothing_to_cancel(t: Translator) -> str:
    return t._("Nothing to cancel. Send /start for the menu.")


def unknown_command(t: Translator) -> str:
    return t._("I don't know that command. Send /help to see what I can do.")


def unexpected_message(t: Translator) -> str:
    return t._("I didn't expect that here. Send /start for the menu.")


def stale_button(t: Translator) -> str:
    return t._("This button is no longer valid. Send /start for a fresh menu.")
