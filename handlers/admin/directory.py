"""The resellers list (/resellers [search], filters, pages), the reseller card, and from
it the reseller's credit history and customers.

For the owners and staff allowed to manage resellers, checked on every update.
"""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.i18n import Translator
from bot.services import customers, reseller_search, resellers, wallet
from bot.services.reseller_search import ListFilter
from bot.services.resellers import ResellerError
from bot.services.roles import Permission
from handlers.admin import callbacks, views
from handlers.admin import reseller_callbacks as buttons
from handlers.admin import reseller_views as rviews
from handlers.common import now, refuse, show, with_permission
from handlers.reader import Reader

HISTORY_PAGE_SIZE = 10
CUSTOMERS_PAGE_SIZE = 15


def _reader(context: BotContext, t: Translator) -> Reader:
    return Reader.of(context.settings, t)


async def show_list(
    update: Update, context: BotContext, r: Reader, flt: ListFilter, page: int, query: str
) -> None:
    rows = await reseller_search.search(context.db, query=query or None, flt=flt)
    await show(update, *rviews.listing(rows, flt, page, query, r))


@with_permission(Permission.RESELLERS)
async def resellers_command(update: Update, context: BotContext, t: Translator) -> None:
    """/resellers, or /resellers <name, @username or id> to search."""
    query = buttons.clip_query(" ".join(context.args or []))
    await show_list(update, context, _reader(context, t), ListFilter.ALL, 0, query)


@with_permission(Permission.RESELLERS)
async def menu_list(update: Update, context: BotContext, t: Translator) -> None:
    """The admin menu's Resellers button (and the card's way back)."""
    page = callbacks.RESELLERS.parse(context)
    await show_list(update, context, _reader(context, t), ListFilter.ALL, page, "")


@with_permission(Permission.RESELLERS)
async def list_page(update: Update, context: BotContext, t: Translator) -> None:
    flt, page, query = buttons.LIST.parse(context)
    await show_list(update, context, _reader(context, t), flt, page, query)


async def show_card(
    update: Update, context: BotContext, telegram_id: int, r: Reader, note: str = ""
) -> None:
    """The reseller's card (or, if there is no such reseller, a refusal)."""
    try:
        row = await reseller_search.card(
            context.db, telegram_id, now=now(context), zone=context.settings.zone
        )
    except ResellerError as exc:
        await refuse(update, views.refusal(exc, r))
        return
    await show(update, *views.card(row, r, note))


@with_permission(Permission.RESELLERS)
async def card(update: Update, context: BotContext, t: Translator) -> None:
    await show_card(update, context, callbacks.CARD.parse(context), _reader(context, t))


@with_permission(Permission.RESELLERS)
async def history(update: Update, context: BotContext, t: Translator) -> None:
    """One page of the reseller's credit history, newest first."""
    r = _reader(context, t)
    telegram_id, page = buttons.HISTORY.parse(context)
    try:
        row = await resellers.reseller_row(context.db, telegram_id)
        found = await wallet.history_page(
            context.db, telegram_id, page=page, page_size=HISTORY_PAGE_SIZE
        )
    except ResellerError as exc:
        await refuse(update, views.refusal(exc, r))
        return
    await show(update, *rviews.history(row.reseller, found, r))


@with_permission(Permission.RESELLERS)
async def customer_list(update: Update, context: BotContext, t: Translator) -> None:
    """The reseller's customers, read-only."""
    r = _reader(context, t)
    telegram_id, page = buttons.CUSTOMERS.parse(context)
    moment = now(context)
    try:
        row = await resellers.reseller_row(context.db, telegram_id)
        found = await customers.list_customers(
            context.db, telegram_id, now=moment, page=page, page_size=CUSTOMERS_PAGE_SIZE
        )
    except ResellerError as exc:
        await refuse(update, views.refusal(exc, r))
        return
    await show(update, *rviews.customers(row.reseller, found, moment, r))
