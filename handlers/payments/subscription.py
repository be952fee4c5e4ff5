"""A customer's Stars subscription: 🔁 Renew every 30 days (an invoice link with
``subscription_period``), each period's payment (the renewal once per charge), and
✖️ Stop automatic renewal (``editUserStarSubscription`` with ``is_canceled``).

The payment updates reach here through ``invoice``, which passes on the subscriptions'.
"""

from __future__ import annotations

import datetime as dt

from telegram import LabeledPrice, SuccessfulPayment, Update

from bot.context import BotContext
from bot.db import Database
from bot.services import star_subscriptions, stars
from bot.services.star_renewals import Recorded
from bot.services.stars import StarsError
from handlers.common import answer, now, show
from handlers.language import reader
from handlers.payments import auto_renewal, renewal, renewal_views
from handlers.payments import subscription_views as views


async def subscribe(update: Update, context: BotContext) -> None:
    """🔁 Renew every 30 days: the terms and Telegram's subscription link."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    r = await reader(update, context)
    try:
        offer, sub = await star_subscriptions.create(context.db, chat_id=chat.id, now=now(context))
    except StarsError as exc:
        await answer(query, views.cannot_subscribe(exc, r.t), alert=True)
        return
    link = await context.bot.create_invoice_link(
        title=views.invoice_title(r.t),
        description=renewal_views.invoice_description(offer, r),
        payload=sub.payload,
        currency=stars.CURRENCY,
        prices=[LabeledPrice(renewal_views.price_label(r.t), sub.stars)],
        provider_token=None,  # Stars: see invoice.send_invoice
        subscription_period=star_subscriptions.PERIOD_SECONDS,
    )
    await show(update, *views.link_screen(offer, link, r))


async def unsubscribe(update: Update, context: BotContext) -> None:
    """✖️ Stop automatic renewal: Telegram stops charging; the period paid stays."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    r = await reader(update, context)
    try:
        sub = await star_subscriptions.subscription_to_cancel(context.db, chat_id=chat.id)
    except StarsError:
        await answer(query, views.no_subscription(r.t), alert=True)
        return
    if not await auto_renewal.cancel(context.bot, context.db, sub, now(context)):
        await answer(query, views.not_stopped(r.t), alert=True)
        return
    await answer(query)
    await context.bot.send_message(chat.id, views.stopped(sub.expires_at, r))


async def _record(db: Database, paid: SuccessfulPayment, at: dt.datetime) -> Recorded:
    return await star_subscriptions.record_charge(
        db, charge_id=paid.telegram_payment_charge_id,
        provider_charge_id=paid.provider_payment_charge_id, payload=paid.invoice_payload,
        total_amount=paid.total_amount, currency=paid.currency,
        expires_at=paid.subscription_expiration_date, now=at,
    )  # fmt: skip


async def pre_checkout(update: Update, context: BotContext) -> None:
    """The first payment of a subscription: answered first, as a single renewal's."""
    await renewal.answer_pre_checkout(update, context, star_subscriptions.check_pre_checkout)


async def successful_payment(update: Update, context: BotContext) -> None:
    """A period's charge (the first, or a recurring one): the renewal once per charge."""
    await renewal.take_payment(update, context, _record)
