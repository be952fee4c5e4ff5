"""The customer's portal screens: home, subscription, access and QR, payments, renewal,
pause and resume, change package (paid in Stars where the reseller sells in Stars, else
asked of the reseller), the chat's subscriptions, "this is not me".

Which subscription a button is about comes in its data; whose it is comes from the chat,
checked by the service on every tap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from telegram import InlineKeyboardMarkup, Update

from bot.context import BotContext
from bot.services import customer_links, customers, pauses, plan_changes, portal, star_changes
from bot.services.customers import CustomerError, CustomerView
from bot.services.panel_provider import Panels
from bot.services.portal import Subscription
from bot.services.provisioning import SUBSCRIPTION_URL
from handlers.common import answer, now, refuse, show
from handlers.customer.screens import live_status
from handlers.language import reader
from handlers.payments import change_views as paid_change
from handlers.portal import callbacks, pause_views, views
from handlers.portal import cancel_views as change_views
from handlers.reader import Reader
from handlers.sale.selling import qr_png

T = TypeVar("T")
Screen = tuple[str, InlineKeyboardMarkup | None]


def panels(context: BotContext) -> Panels | None:
    return cast(Panels | None, context.bot_data.get("panels"))


async def _refused(update: Update, exc: CustomerError, r: Reader) -> None:
    await refuse(update, views.refusal(exc.code, exc.params, r))


async def _act(
    update: Update,
    context: BotContext,
    call: Callable[[int], Awaitable[T]],
    render: Callable[[T, Reader], Screen],
) -> None:
    """``call`` the service for the chat that tapped; its refusal, or ``render`` the result."""
    chat = update.effective_chat
    if chat is None:
        return
    r = await reader(update, context)
    try:
        done = await call(chat.id)
    except CustomerError as exc:
        await _refused(update, exc, r)
        return
    await show(update, *render(done, r))


async def _subscription(
    update: Update, context: BotContext, customer_id: int | None
) -> tuple[Subscription, Reader] | None:
    """The chat's subscription ``customer_id`` (None: its first), or a refusal shown."""
    chat = update.effective_chat
    r = await reader(update, context)
    if chat is None:
        return None
    try:
        sub = await portal.subscription(context.db, chat.id, customer_id, now=now(context))
    except CustomerError as exc:
        await _refused(update, exc, r)
        return None
    if sub is None:
        await refuse(update, views.not_linked(r))
        return None
    return sub, r


async def show_home(
    update: Update, context: BotContext, customer_id: int | None = None, *, linked: bool = False
) -> None:
    """/start of a linked chat: one subscription's home, or the list when there are several
    and none was picked."""
    chat = update.effective_chat
    if chat is None:
        return
    if customer_id is None and not linked:
        found = await portal.subscriptions(context.db, chat.id)
        if len(found) > 1:
            r = await reader(update, context)
            await show(update, *views.subscriptions(found, r))
            return
    got = await _subscription(update, context, customer_id)
    if got is not None:
        sub, r = got
        await show(update, *views.home(sub, now(context), r, linked=linked))


async def home_button(update: Update, context: BotContext) -> None:
    await show_home(update, context, callbacks.HOME.first_id(context))


async def list_button(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    r = await reader(update, context)
    found = await portal.subscriptions(context.db, chat.id)
    if not found:
        await refuse(update, views.not_linked(r))
        return
    await show(update, *views.subscriptions(found, r))


async def subscription(update: Update, context: BotContext) -> None:
    """Plan, state, expiry, and the panel's traffic and online state when it has them."""
    got = await _subscription(update, context, callbacks.SUBSCRIPTION.first_id(context))
    if got is None:
        return
    sub, r = got
    live = await live_status(context).of(sub.customer.id)
    await show(update, *views.subscription(sub, now(context), live, r))


async def access(update: Update, context: BotContext) -> None:
    """The link or credentials again, then the link's QR code as a photo."""
    got = await _subscription(update, context, callbacks.ACCESS.first_id(context))
    chat = update.effective_chat
    if got is None or chat is None:
        return
    sub, r = got
    await show(update, *views.access(sub.customer, r))
    link = sub.customer.details.get(SUBSCRIPTION_URL)
    if link:
        await context.bot.send_photo(chat.id, qr_png(link), caption=views.qr_caption(r))


async def payments(update: Update, context: BotContext) -> None:
    customer_id, page = (int(v) for v in callbacks.PAYMENTS.parse(context))
    await _act(
        update, context,
        lambda chat_id: portal.payments(context.db, chat_id, customer_id),
        lambda found, r: views.payments(found, page, r),
    )  # fmt: skip


async def renewal(update: Update, context: BotContext) -> None:
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    r = await reader(update, context)
    try:
        await customers.renewal_request(
            context.db, chat.id, now=now(context),
            customer_id=callbacks.RENEWAL.first_id(context),
        )  # fmt: skip
    except CustomerError as exc:
        await _refused(update, exc, r)
        return
    await answer(query, views.renewal_requested(r), alert=True)


# --- pause and resume ---------------------------------------------------------------------


async def ask_pause(update: Update, context: BotContext) -> None:
    got = await _subscription(update, context, callbacks.PAUSE.first_id(context))
    if got is None:
        return
    sub, r = got
    if sub.allowance.max_days <= 0:
        await refuse(update, views.refusal("pause_not_allowed", {}, r))
        return
    if sub.paused:
        await refuse(update, views.refusal("already_paused", {}, r))
        return
    await show(update, *pause_views.ask_pause(sub, r))


async def pause_for(update: Update, context: BotContext) -> None:
    customer_id, days = (int(v) for v in callbacks.PAUSE_FOR.parse(context))
    await _act(
        update, context,
        lambda chat_id: pauses.pause(
            context.db, panels(context), chat_id=chat_id, customer_id=customer_id, days=days,
            now=now(context), seconds=context.settings.provisioning_timeout_seconds,
        ),
        pause_views.paused,
    )  # fmt: skip


async def resume(update: Update, context: BotContext) -> None:
    customer_id = callbacks.RESUME.first_id(context)
    await _act(
        update, context,
        lambda chat_id: pauses.resume(
            context.db, panels(context), customer_id=customer_id, chat_id=chat_id,
            now=now(context), seconds=context.settings.provisioning_timeout_seconds,
        ),
        pause_views.resumed,
    )  # fmt: skip


# --- change package -------------------------------------------------------------------------


async def change(update: Update, context: BotContext) -> None:
    """The plans one may change to; those paid here in Stars with their price."""
    got = await _subscription(update, context, callbacks.CHANGE.first_id(context))
    chat = update.effective_chat
    if got is None or chat is None:
        return
    sub, r = got
    found = await plan_changes.offered(context.db, chat.id, sub.customer.id)
    paid = await star_changes.offers(
        context.db, chat_id=chat.id, customer_id=sub.customer.id,
        plan_ids=[p.id for p in found], now=now(context),
    )  # fmt: skip
    prices = {plan_id: o.stars for plan_id, o in paid.by_plan.items()}
    await show(update, *change_views.plans(sub.customer, found, r, prices, paid.payment_pending))


async def change_to(update: Update, context: BotContext) -> None:
    """A plan picked: its price in Stars and Pay and change, where the reseller sells in
    Stars; otherwise the request to the reseller, as without."""
    customer_id, plan_id = (int(v) for v in callbacks.CHANGE_TO.parse(context))

    async def _offer_or_request(
        chat_id: int,
    ) -> star_changes.ChangeOffer | plan_changes.ChangeRequest:
        at = now(context)
        paid = await star_changes.offers(
            context.db, chat_id=chat_id, customer_id=customer_id, plan_ids=[plan_id], now=at
        )
        if plan_id in paid.by_plan:
            return paid.by_plan[plan_id]
        return await plan_changes.request_change(
            context.db, chat_id=chat_id, customer_id=customer_id, plan_id=plan_id, now=at
        )

    def _render(done: star_changes.ChangeOffer | plan_changes.ChangeRequest, r: Reader) -> Screen:
        if isinstance(done, star_changes.ChangeOffer):
            return paid_change.pay_screen(done, r)
        return change_views.change_requested(done, r)

    await _act(update, context, _offer_or_request, _render)


# --- this is not me -----------------------------------------------------------------------


async def ask_unlink(update: Update, context: BotContext) -> None:
    got = await _subscription(update, context, callbacks.UNLINK.first_id(context))
    if got is not None:
        sub, r = got
        await show(update, *views.ask_unlink(sub.customer, r))


async def unlink(update: Update, context: BotContext) -> None:
    customer_id = callbacks.UNLINK_CONFIRM.first_id(context)

    async def _unlink(chat_id: int) -> tuple[CustomerView, bool]:
        customer = await customer_links.unlink_chat(
            context.db, chat_id, now=now(context), customer_id=customer_id
        )
        return customer, bool(await portal.subscriptions(context.db, chat_id))

    await _act(
        update, context, _unlink, lambda done, r: views.unlinked(done[0], done[1], r)
    )  # fmt: skip
