"""A customer pays its own renewal in Stars: ⭐ Pay and renew, the invoice, the
pre-checkout, the payment, and the automatic refund when the renewal cannot be done.

Whose subscription it is comes from the chat, looked up on the server. The payment's
updates reach here through ``invoice`` (one handler for every Stars payment), which
passes on those whose payload is a renewal's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import cast

from telegram import Bot, LabeledPrice, Message, SuccessfulPayment, Update

from bot.context import BotContext
from bot.db import Database
from bot.i18n import Translator
from bot.services import star_renewal_outcome, star_renewals, star_subscriptions, stars
from bot.services.panel_provider import Panels
from bot.services.provisioning import Provider
from bot.services.star_renewal_outcome import Outcome
from bot.services.stars import Payment, StarsError
from handlers.common import answer, now
from handlers.language import reader
from handlers.payments import auto_renewal, change_views, subscription_views, telegram_refund
from handlers.payments import renewal_views as views
from handlers.payments.views import payment_unmatched, try_again
from handlers.reader import Reader
from models import StarPurpose, StarState

log = logging.getLogger(__name__)
PRE_CHECKOUT_SECONDS = 7  # of the 10 Telegram waits


async def send_offer(
    context: BotContext, chat_id: int, r: Reader, problem: str | None = None
) -> str | None:
    """The offer screen and its invoice; or why there is none (nothing sent then)."""
    try:
        offer, payment = await star_renewals.create_invoice(
            context.db, chat_id=chat_id, now=now(context)
        )
    except StarsError as exc:
        return views.cannot_invoice(exc, r.t)
    await send_renewal_invoice(context, chat_id, offer, payment, r, problem)
    return None


async def send_renewal_invoice(
    context: BotContext,
    chat_id: int,
    offer: star_renewals.Offer,
    payment: Payment,
    r: Reader,
    problem: str | None = None,
) -> None:
    """The offer screen (what is paid for, any discount) and the invoice below it."""
    text, keyboard = views.offer_screen(offer, payment, r, problem)
    await context.bot.send_message(chat_id, text, reply_markup=keyboard)
    await context.bot.send_invoice(
        chat_id,
        title=views.invoice_title(r.t),
        description=views.invoice_description(offer, r),
        payload=payment.payload,
        currency=stars.CURRENCY,
        prices=[LabeledPrice(views.price_label(r.t), payment.stars)],
        provider_token=None,  # Stars: see invoice.send_invoice
    )


async def pay_and_renew(update: Update, context: BotContext) -> None:
    """⭐ Pay and renew (the status or a reminder): the offer, then the invoice."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    r = await reader(update, context)
    refused = await send_offer(context, chat.id, r)
    await answer(query, refused, alert=refused is not None)


# A customer's payment check, as the services take it (payload, payer, amount, currency,
# now), and its recording from Telegram's successful_payment.
Check = Callable[..., Awaitable[star_renewals.Checked]]
Record = Callable[[Database, SuccessfulPayment, dt.datetime], Awaitable[star_renewals.Recorded]]
Reoffer = Callable[[BotContext, star_renewals.Checked, int, Reader], Awaitable[None]]


async def answer_pre_checkout(
    update: Update,
    context: BotContext,
    check: Check,
    reoffer: Reoffer | None = None,
    words: Callable[[str, Translator], str] = views.refusal,
) -> None:
    """A customer's payment (a renewal, a subscription's first, a change of package):
    answered first (Telegram waits 10 seconds), a refusal in ``words``; a changed price
    gets ``reoffer``."""
    query = update.pre_checkout_query
    if query is None:
        return
    r = await reader(update, context)
    try:
        checked = await asyncio.wait_for(
            check(
                context.db, payload=query.invoice_payload, telegram_id=query.from_user.id,
                total_amount=query.total_amount, currency=query.currency, now=now(context),
            ),
            PRE_CHECKOUT_SECONDS,
        )  # fmt: skip
    except TimeoutError:
        log.warning("a customer's pre-checkout check took over %s s", PRE_CHECKOUT_SECONDS)
        await query.answer(ok=False, error_message=try_again(r.t))
        return
    if checked.refusal is None:
        await query.answer(ok=True)
        return
    await query.answer(ok=False, error_message=words(checked.refusal, r.t))
    if checked.refusal == star_renewals.Refusal.CHANGED and reoffer is not None:
        await reoffer(context, checked, query.from_user.id, r)


async def take_payment(update: Update, context: BotContext, record: Record) -> None:
    """Telegram took a customer's Stars: recorded once, then the renewal or change (or the
    refund)."""
    message = update.effective_message
    if message is None or message.successful_payment is None:
        return
    r = await reader(update, context)
    try:
        recorded = await record(context.db, message.successful_payment, now(context))
    except StarsError as exc:
        log.error("a customer's payment in Stars could not be recorded: %s", exc)
        await message.reply_text(payment_unmatched(r.t))
        return
    await run_renewal(message, context, recorded, r)


async def _reoffer(
    context: BotContext, checked: star_renewals.Checked, chat_id: int, r: Reader
) -> None:
    await send_offer(context, chat_id, r, views.refusal(star_renewals.Refusal.CHANGED, r.t))


def record_as(purpose: StarPurpose) -> Record:
    """Recording a single payment of ``purpose`` (a renewal, a change of package)."""

    async def _record(
        db: Database, paid: SuccessfulPayment, at: dt.datetime
    ) -> star_renewals.Recorded:
        return await star_renewals.record_payment(
            db, charge_id=paid.telegram_payment_charge_id,
            provider_charge_id=paid.provider_payment_charge_id, payload=paid.invoice_payload,
            total_amount=paid.total_amount, currency=paid.currency, now=at, purpose=purpose,
        )  # fmt: skip

    return _record


async def pre_checkout(update: Update, context: BotContext) -> None:
    await answer_pre_checkout(update, context, star_renewals.check_pre_checkout, _reoffer)


async def successful_payment(update: Update, context: BotContext) -> None:
    await take_payment(update, context, record_as(StarPurpose.RENEWAL))


async def run_renewal(
    message: Message, context: BotContext, recorded: star_renewals.Recorded, r: Reader
) -> None:
    """A recorded payment (a single one, or a subscription's charge): the renewal, or the
    refund; the customer told (once, however often the payment is delivered)."""
    renewal = await star_renewal_outcome.renew(
        context.db, cast(Provider, context.bot_data["provider"]),
        payment_id=recorded.payment.id, now=now(context),
        provider_seconds=context.settings.provisioning_timeout_seconds,
        panels=cast(Panels | None, context.bot_data.get("panels")),
    )  # fmt: skip
    payment = renewal.payment
    change = payment.purpose == StarPurpose.PLAN_CHANGE
    if renewal.outcome == Outcome.RENEWED and renewal.result is not None:
        if renewal.result.replayed and recorded.replayed:
            return  # the same update again: said already
        customer = renewal.result.customer
        if change:
            await message.reply_text(change_views.changed(payment.stars, customer, r))
        else:
            await message.reply_text(
                views.renewed(payment.stars, customer.username, customer.expires_at, r)
            )
    elif renewal.outcome == Outcome.IN_DOUBT:
        if not recorded.replayed:
            told = change_views.in_doubt if change else views.in_doubt
            await message.reply_text(told(payment.stars, r))
    elif renewal.outcome == Outcome.REFUND:
        done = await refund_renewal(
            context.db, context.bot, payment.id, renewal.reason,
            admin_chat_id=context.settings.admin_chat_id, now=now(context),
        )  # fmt: skip
        if renewal.stop_subscription is not None:
            sub = await star_subscriptions.by_id(context.db, renewal.stop_subscription)
            await auto_renewal.cancel(context.bot, context.db, sub, now(context))
            if done.state == StarState.REFUNDED:
                await message.reply_text(subscription_views.left_plan_refunded(done.stars, r))
                return
        await message.reply_text(_refund_told(done, renewal.reason, r))


def _refund_told(payment: Payment, reason: str, r: Reader) -> str:
    refunded = payment.state == StarState.REFUNDED
    if payment.purpose == StarPurpose.PLAN_CHANGE:
        return change_views.refunded(payment.stars, r, done=refunded, reason=reason)
    if refunded:
        return views.refunded_to_customer(payment.stars, r, reason)
    return views.refund_pending(payment.stars, r, reason)


async def refund_renewal(
    db: Database,
    bot: Bot,
    payment_id: int,
    reason: str,
    *,
    admin_chat_id: int | None,
    now: dt.datetime,
    tell_payer: bool = False,
) -> Payment:
    """The revenue back, then the Stars back (refundStarPayment); the outcome recorded.
    Also the job's, for renewals reconciliation released (``tell_payer``: the customer
    hears through the outbox)."""
    try:
        pending = await star_renewal_outcome.begin_refund(
            db, payment_id=payment_id, reason=reason, now=now
        )
    except StarsError as exc:
        if exc.code != "refund_running":
            raise
        # Another caller is asking Telegram for these Stars now (the same update again,
        # the job): it records the answer and tells everyone.
        running = await stars.get_payment(db, payment_id)
        assert running is not None
        return running
    return await settle_refund(
        db, bot, pending, admin_chat_id=admin_chat_id, now=now, tell_payer=tell_payer
    )


async def settle_refund(
    db: Database,
    bot: Bot,
    pending: Payment,
    *,
    admin_chat_id: int | None,
    now: dt.datetime,
    tell_payer: bool,
    tell_failure: bool = True,
) -> Payment:
    """A customer's pending refund whose lease the caller holds: the Stars asked back,
    then ``refunded`` and everyone told, or still pending with Telegram's error (the
    admins told of it, ``tell_failure``; the job that retries every minute does not)."""
    told = await telegram_refund.refund_stars(bot, pending)
    if not told.refunded:
        return await star_renewal_outcome.refund_failed(
            db, pending=pending, error=told.error,
            admin_chat_id=admin_chat_id if tell_failure else None, now=now,
        )  # fmt: skip
    return await star_renewal_outcome.finish_refund(
        db, payment_id=pending.id, admin_chat_id=admin_chat_id, now=now, tell_payer=tell_payer
    )


async def settle_pending_refund(
    db: Database, bot: Bot, pending: Payment, *, admin_chat_id: int | None, now: dt.datetime
) -> Payment:
    """A customer's refund left pending, taken up later (the recovery job, an admin's
    🔁 Ask Telegram again) by a caller holding its lease: ``settle_refund`` with the
    customer told through the outbox and a refusal not announced (the job asks again by
    itself; an admin sees the answer), then what the live path does beside such a refund:
    the Stars subscription of a plan the customer has left cancelled at Telegram, once
    (``star_subscriptions.left_for_refund``), whatever Telegram answered the refund."""
    done = await settle_refund(
        db, bot, pending, admin_chat_id=admin_chat_id, now=now, tell_payer=True,
        tell_failure=False,
    )  # fmt: skip
    left = await star_subscriptions.left_for_refund(db, pending.id)
    if left is not None:
        await auto_renewal.cancel(bot, db, left, now)
    return done
