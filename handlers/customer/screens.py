"""The customer's screens: link by invite link, the status, a renewal request, unlinking.

Whose subscription it is comes from the chat, looked up on the server; a button's data
only says which button was tapped.
"""

from __future__ import annotations

from typing import cast

from telegram import Update

from bot.context import BotContext
from bot.services import customer_links, customers, portal, star_renewals, star_subscriptions
from bot.services.customers import CustomerError
from bot.services.live_status import LiveStatus
from bot.services.panel_provider import Panels
from bot.services.resellers import Role
from handlers.common import answer, identify, now, refuse, show
from handlers.customer import callbacks, views
from handlers.language import reader


async def link_from_invite(update: Update, context: BotContext, token: str) -> None:
    """/start <token>: link this chat to the subscription, once per token.

    Resellers and admins who open a link are told what it is; their chat is not linked.
    """
    chat = update.effective_chat
    if chat is None:
        return
    r = await reader(update, context)
    identity = await identify(update, context)
    if identity.role in (Role.ADMIN, Role.RESELLER, Role.SUSPENDED):
        customer = await customer_links.invite_info(context.db, token)
        await show(update, *views.invite_explained(identity, customer, r))
        return
    try:
        customer = await customer_links.link(
            context.db, token=token, chat_id=chat.id, now=now(context)
        )
    except CustomerError as exc:
        await refuse(update, views.refusal(exc.code, r))
        return
    await show_status(update, context, linked=True, customer_id=customer.id)


async def several_listed(update: Update, context: BotContext) -> bool:
    """True if the chat has several subscriptions and was shown them to pick one: a
    command or an older button naming none must not act on whichever is first."""
    from handlers.portal import views as portal_views  # the portal's list of them

    chat = update.effective_chat
    if chat is None:
        return False
    found = await portal.subscriptions(context.db, chat.id)
    if len(found) < 2:
        return False
    await show(update, *portal_views.subscriptions(found, await reader(update, context)))
    return True


async def show_status(
    update: Update,
    context: BotContext,
    *,
    linked: bool = False,
    page: int = 0,
    customer_id: int | None = None,
) -> None:
    """The status of the subscription linked to this chat (``customer_id``: that one of
    the chat's); ``linked``: it just was."""
    chat = update.effective_chat
    if chat is None:
        return
    r = await reader(update, context)
    view = await customers.status_of(context.db, chat.id, customer_id)
    if view is None:
        await refuse(update, views.not_linked(r))
        return
    live = await live_status(context).of(view.customer.id)
    pay = await star_renewals.offered(context.db, chat.id, now(context))
    auto = await star_subscriptions.active_for_chat(context.db, chat.id)
    screen = views.status(
        view, now(context), r, page, linked=linked, live=live,
        pay_stars=pay.offer.stars if pay.offer else None,
        auto_renewal=(auto.stars, auto.expires_at) if auto else None,
        payment_pending=pay.payment_pending,
    )  # fmt: skip
    await show(update, *screen)


def live_status(context: BotContext) -> LiveStatus:
    """This process's live status reader, made on first use with the bot's panels."""
    found = context.bot_data.get("live_status")
    if found is None:
        found = context.bot_data["live_status"] = LiveStatus(
            context.db,
            cast(Panels, context.bot_data["panels"]),
            ttl_seconds=context.settings.live_status_cache_seconds,
            timeout_seconds=context.settings.live_status_timeout_seconds,
        )
    return cast(LiveStatus, found)


async def status_command(update: Update, context: BotContext) -> None:
    if not await several_listed(update, context):
        await show_status(update, context)


async def status_button(update: Update, context: BotContext) -> None:
    """Back to the status, or another page of its history."""
    if not await several_listed(update, context):
        await show_status(update, context, page=callbacks.STATUS.page(context))


async def request_renewal(update: Update, context: BotContext) -> None:
    """Queue the reseller's notice, with a one-tap Renew for the same plan."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    if await several_listed(update, context):
        return
    r = await reader(update, context)
    try:
        await customers.renewal_request(context.db, chat.id, now=now(context))
    except CustomerError as exc:
        await answer(query, views.refusal(exc.code, r), alert=True)
        return
    await answer(query, views.renewal_requested(r), alert=True)


async def ask_unlink(update: Update, context: BotContext) -> None:
    """/unlink or the Unlink button: what it does, and a button to confirm."""
    chat = update.effective_chat
    if chat is None or await several_listed(update, context):
        return
    r = await reader(update, context)
    view = await customers.status_of(context.db, chat.id)
    if view is None:
        await refuse(update, views.not_linked(r))
        return
    await show(update, *views.ask_unlink(view, r))


async def unlink(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None or await several_listed(update, context):
        return
    r = await reader(update, context)
    try:
        customer = await customer_links.unlink_chat(context.db, chat.id, now=now(context))
    except CustomerError:
        await refuse(update, views.not_linked(r))
        return
    await show(update, views.unlinked(customer, r))
