"""The screens outside the flow: the customers list, the customer card, its invite link."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from bot.services import customer_links, customers
from bot.services.customers import CustomerError, Filter
from handlers.common import identify, now, refuse, show
from handlers.language import reader
from handlers.sale import callbacks, card_views, views
from handlers.sale.draft import invite_link
from handlers.views import not_registered


async def list_customers(update: Update, context: BotContext) -> None:
    """/customers [search], and the filter and page buttons."""
    user = update.effective_user
    if user is None:
        return
    r = await reader(update, context)
    identity = await identify(update, context)
    if identity.reseller is None:
        await refuse(update, not_registered(r.t, user.id))
        return
    flt, page, search = Filter.ALL, 0, None
    if context.matches:
        flt, page = callbacks.LIST.parse(context)
    elif context.args:
        search = " ".join(context.args)[:32]
    moment = now(context)
    found = await customers.list_customers(
        context.db, user.id, now=moment, flt=flt, search=search, page=page,
        page_size=views.PAGE_SIZE,
    )  # fmt: skip
    await show(update, *card_views.listing(found, flt, search, moment, r))


async def card(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None or update.callback_query is None:
        return
    r = await reader(update, context)
    try:
        c = await customers.customer_card(context.db, user.id, callbacks.CARD.parse(context))
    except CustomerError as exc:
        await refuse(update, views.error(exc.code, exc.params, r))
        return
    await show(update, *card_views.card(c, now(context), r))


async def show_invite(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None or update.callback_query is None:
        return
    r = await reader(update, context)
    customer_id = callbacks.INVITE.parse(context)
    try:
        token = await customer_links.invite_token(context.db, user.id, customer_id)
        c = await customers.customer_card(context.db, user.id, customer_id)
    except CustomerError as exc:
        await refuse(update, views.error(exc.code, exc.params, r))
        return
    await show(update, *card_views.invite(c, invite_link(context, token), r))


async def replace_invite(update: Update, context: BotContext) -> None:
    """A new link replaces the old one; a chat linked through the old one is unlinked."""
    user = update.effective_user
    if user is None or update.callback_query is None:
        return
    r = await reader(update, context)
    customer_id = callbacks.NEW_LINK.parse(context)
    try:
        change = await customer_links.replace_invite(
            context.db, user.id, customer_id, now=now(context)
        )
    except CustomerError as exc:
        await refuse(update, views.error(exc.code, exc.params, r))
        return
    assert change.token is not None
    await show(update, *card_views.replaced_invite(change, invite_link(context, change.token), r))


async def revoke_invite(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None or update.callback_query is None:
        return
    r = await reader(update, context)
    customer_id = callbacks.REVOKE_LINK.parse(context)
    try:
        change = await customer_links.revoke_invite(
            context.db, user.id, customer_id, now=now(context)
        )
    except CustomerError as exc:
        await refuse(update, views.error(exc.code, exc.params, r))
        return
    await show(update, *card_views.revoked_invite(change, r))
