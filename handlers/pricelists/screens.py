"""The price-list screens outside the form: the admins' lists (from the catalogue), a
parent's /prices, a list with its plans, clearing a plan's price, deleting a list, and
putting a reseller on a list (from the admin's reseller card, or a parent's /prices).

Every tap is authorised on the server: the admins' scope needs the catalogue permission;
the parents' scope is the tapper's own lists and children, which the service checks
(another parent's list, or a reseller who is not their child, is refused).
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update

from bot.context import BotContext
from bot.services import price_list_reads, price_lists
from bot.services.price_lists import PriceListError
from bot.services.roles import Permission
from handlers.common import now, permitted, refuse, show
from handlers.language import reader
from handlers.pricelists import callbacks as cb
from handlers.pricelists import views
from handlers.pricelists.callbacks import Scope
from handlers.reader import Reader


@dataclass(frozen=True)
class Actor:
    """Who acts, and in which lists: the business's (``parent`` None) or a parent's own."""

    parent: int | None  # the parent's Telegram id in the parents' scope
    name: str  # for the action log: tg:<id>


async def actor(update: Update, context: BotContext, scope: Scope, r: Reader) -> Actor | None:
    """The asker in ``scope``; None (and they were told no) when they may not act there."""
    user = update.effective_user
    if user is None:
        return None
    if scope == Scope.ADMIN:
        if not await permitted(update, context, Permission.CATALOGUE, r.t):
            return None
        return Actor(None, f"tg:{user.id}")
    return Actor(user.id, f"tg:{user.id}")


async def home_screen(
    context: BotContext, scope: Scope, who: Actor, r: Reader, note: str | None = None
) -> views.Screen:
    if scope == Scope.ADMIN:
        return views.admin_home(await price_list_reads.lists(context.db), r, note)
    assert who.parent is not None
    found = await price_list_reads.parent_prices(context.db, parent_telegram_id=who.parent)
    return views.parent_home(found, r, note)


async def card_screen(
    context: BotContext, scope: Scope, who: Actor, list_id: int, r: Reader, note: str | None = None
) -> views.Screen:
    found = await price_list_reads.card(context.db, list_id=list_id, parent_telegram_id=who.parent)
    return views.list_card(found, scope, r, note)


async def prices_command(update: Update, context: BotContext) -> None:
    """/prices: a parent reseller's own costs, its lists and its sub-resellers."""
    await home_of(update, context, Scope.PARENT)


async def home(update: Update, context: BotContext) -> None:
    await home_of(update, context, cb.HOME.parse(context))


async def home_of(update: Update, context: BotContext, scope: Scope) -> None:
    r = await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return
    try:
        await show(update, *await home_screen(context, scope, who, r))
    except PriceListError as exc:
        await refuse(update, views.problem(exc, r))


async def open_card(update: Update, context: BotContext) -> None:
    scope, list_id = cb.CARD.parse(context)
    r = await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return
    try:
        await show(update, *await card_screen(context, scope, who, list_id, r))
    except PriceListError as exc:
        await refuse(update, views.problem(exc, r))


async def clear(update: Update, context: BotContext) -> None:
    """The plan goes back to the list's percentage; a second tap changes nothing."""
    scope, list_id, plan_id = cb.CLEAR.parse(context)
    r = await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return
    try:
        found = await price_lists.clear_entry(
            context.db, list_id=list_id, plan_id=plan_id, parent_telegram_id=who.parent,
            actor=who.name, now=now(context),
        )  # fmt: skip
    except PriceListError as exc:
        await refuse(update, views.problem(exc, r))
        return
    plan = next((p for p in found.plans if p.plan_id == plan_id), None)
    note = views.cleared(plan, r) if plan else None
    await show(update, *views.list_card(found, scope, r, note))


async def ask_delete(update: Update, context: BotContext) -> None:
    scope, list_id = cb.DELETE.parse(context)
    r = await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return
    try:
        found = await price_list_reads.card(
            context.db, list_id=list_id, parent_telegram_id=who.parent
        )
    except PriceListError as exc:
        await refuse(update, views.problem(exc, r))
        return
    await show(update, *views.confirm_delete(found.price_list, scope, r))


async def delete(update: Update, context: BotContext) -> None:
    """Refused while resellers are on the list; a second tap finds it gone."""
    scope, list_id = cb.DELETE_YES.parse(context)
    r = await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return
    try:
        gone = await price_lists.delete_list(
            context.db, list_id=list_id, parent_telegram_id=who.parent, actor=who.name,
            now=now(context),
        )  # fmt: skip
    except PriceListError as exc:
        await refuse(update, views.problem(exc, r))
        return
    await show(update, *await home_screen(context, scope, who, r, views.deleted(gone, r)))


async def choose_for(update: Update, context: BotContext) -> None:
    """The lists a reseller can be put on (an admin: any reseller; a parent: its child)."""
    scope, telegram_id = cb.RESELLER.parse(context)
    r = await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return
    try:
        member, options = await price_list_reads.member(
            context.db, reseller_telegram_id=telegram_id, parent_telegram_id=who.parent
        )
    except PriceListError as exc:
        await refuse(update, views.problem(exc, r))
        return
    await show(update, *views.chooser(member, options, scope, r))


async def put(update: Update, context: BotContext) -> None:
    """Put the reseller on the list tapped (0: base prices); the same tap again: no change."""
    scope, telegram_id, list_id = cb.PUT.parse(context)
    r = await reader(update, context)
    who = await actor(update, context, scope, r)
    if who is None:
        return
    try:
        done = await price_lists.assign(
            context.db, reseller_telegram_id=telegram_id, list_id=list_id or None,
            parent_telegram_id=who.parent, actor=who.name, now=now(context),
        )  # fmt: skip
        member, options = await price_list_reads.member(
            context.db, reseller_telegram_id=telegram_id, parent_telegram_id=who.parent
        )
    except PriceListError as exc:
        await refuse(update, views.problem(exc, r))
        return
    await show(update, *views.chooser(member, options, scope, r, views.assigned(done, r)))
