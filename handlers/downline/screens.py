"""A parent's sub-reseller screens (``/subresellers``: the list, a card, its customers and
sales, read-only) and the admin's screen that sets how deep a reseller's downline may go.

Every screen checks who is asking in the database: the asker must be an active reseller
allowed sub-resellers, and the sub-reseller a button names must be in the asker's subtree;
a forged button for anyone else is refused and shows nothing.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import Translator
from bot.services import downline, reseller_search, subtree
from bot.services.admin_log import ActionError
from bot.services.resellers import ResellerError, ResellerView
from bot.services.roles import Permission
from handlers.admin import directory
from handlers.common import active_reseller, now, refuse, show, with_permission
from handlers.downline import admin_views, views
from handlers.downline import callbacks as buttons
from handlers.home.commands import follow_change
from handlers.language import translator
from handlers.reader import Reader


def _reader(context: BotContext, t: Translator) -> Reader:
    return Reader.of(context.settings, t)


async def parent(update: Update, context: BotContext, t: Translator) -> ResellerView | None:
    """The asker, if an active reseller allowed sub-resellers; otherwise told why not."""
    reseller = await active_reseller(update, context, t)
    if reseller is None:
        return None
    if not reseller.parent:  # its depth came with it from the identity
        await refuse(update, views.no_downline(t))
        return None
    return reseller


async def show_list(update: Update, context: BotContext, page: int = 0) -> None:
    t = await translator(update, context)
    me = await parent(update, context, t)
    if me is None:
        return
    children = await subtree.children(context.db, me.telegram_id)
    await show(update, *views.listing(children, page, _reader(context, t)))


async def listing(update: Update, context: BotContext) -> None:
    """/subresellers and the menu's button: the list, with balances."""
    await show_list(update, context, buttons.LIST.parse(context) if context.matches else 0)


async def show_card(
    update: Update, context: BotContext, child: int, r: Reader, note: str = ""
) -> None:
    """The sub-reseller's card, if it is in the asker's subtree."""
    me = await parent(update, context, r.t)
    if me is None:
        return
    try:
        found = await subtree.child_card(
            context.db, me.telegram_id, child, now=now(context), zone=context.settings.zone
        )
    except ActionError as exc:
        await refuse(update, views.refusal(exc, r))
        return
    await show(update, *views.card(found, r, note))


async def card(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await show_card(update, context, buttons.CARD.parse(context), _reader(context, t))


async def customers(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    r, (child, page) = _reader(context, t), buttons.CUSTOMERS.parse(context)
    me = await parent(update, context, t)
    if me is None:
        return
    try:
        found = await subtree.customers(context.db, me.telegram_id, child, page=page)
        named = await subtree.child_card(
            context.db, me.telegram_id, child, now=now(context), zone=context.settings.zone
        )
    except ActionError as exc:
        await refuse(update, views.refusal(exc, r))
        return
    await show(update, *views.customers(named.card.reseller.name, child, found, r))


async def sales(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    r, (child, page) = _reader(context, t), buttons.SALES.parse(context)
    me = await parent(update, context, t)
    if me is None:
        return
    try:
        found = await subtree.sales(context.db, me.telegram_id, child, page=page)
        named = await subtree.child_card(
            context.db, me.telegram_id, child, now=now(context), zone=context.settings.zone
        )
    except ActionError as exc:
        await refuse(update, views.refusal(exc, r))
        return
    await show(update, *views.sales(named.card.reseller.name, child, found, r))


# --- the admin ---------------------------------------------------------------------------------


async def _depth_screen(
    update: Update, context: BotContext, telegram_id: int, r: Reader, problem: str = ""
) -> None:
    try:
        found = await downline.upline(context.db, telegram_id)
        row = await reseller_search.card(
            context.db, telegram_id, now=now(context), zone=context.settings.zone
        )
    except (ActionError, ResellerError):
        await directory.show_card(update, context, telegram_id, r)  # says there is no such one
        return
    name = row.reseller.name
    await show(update, *admin_views.depth_menu(name, telegram_id, found.depth, r, problem))


@with_permission(Permission.RESELLERS)
async def depth_menu(update: Update, context: BotContext, t: Translator) -> None:
    """The choice of levels, from the admin's edit menu."""
    await _depth_screen(update, context, buttons.DEPTH_MENU.parse(context), _reader(context, t))


@with_permission(Permission.RESELLERS)
async def set_depth(update: Update, context: BotContext, t: Translator) -> None:
    """A depth picked: saved (and logged) once, then the card says so."""
    r, user = _reader(context, t), update.effective_user
    telegram_id, depth = buttons.DEPTH.parse(context)
    if user is None:
        return
    try:
        await downline.set_depth(
            context.db,
            telegram_id=telegram_id,
            depth=depth,
            actor=f"tg:{user.id}",
            now=now(context),
        )
    except ActionError as exc:
        if exc.code == "not_registered":
            await directory.show_card(update, context, telegram_id, r)
            return
        await _depth_screen(update, context, telegram_id, r, admin_views.depth_refusal(exc, r))
        return
    await directory.show_card(update, context, telegram_id, r, admin_views.depth_saved(depth, r))
    # Their command menu gains (or loses) the sub-resellers' commands.
    await follow_change(context, telegram_id)
