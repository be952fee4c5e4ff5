"""The reseller's side of a Stars top-up: the invoice, its pre-checkout, the payment.

The pre-checkout query is answered first thing (Telegram waits at most 10 seconds); a
fresh invoice, when the rate changed, is sent after the answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol, cast

from telegram import LabeledPrice, Update
from telegram.ext import filters

from bot.context import BotContext
from bot.services import (
    star_changes,
    star_payments,
    star_refunds,
    star_renewals,
    star_subscriptions,
    stars,
)
from bot.services.stars import Payment, Refusal, StarsError
from handlers import flow
from handlers.common import answer, now
from handlers.language import translator
from handlers.payments import callbacks, change, renewal, subscription, views
from handlers.reader import Reader

log = logging.getLogger(__name__)
PRE_CHECKOUT_SECONDS = 7  # of the 10 Telegram waits: room left to send the answer


def _bounds(context: BotContext) -> tuple[int, int]:
    return context.settings.topup_min_credits, context.settings.topup_max_credits


async def _reader(update: Update, context: BotContext) -> Reader:
    return Reader.of(context.settings, await translator(update, context))


async def send_invoice(context: BotContext, chat_id: int, payment: Payment, r: Reader) -> None:
    """The invoice itself: Stars (XTR), one price, no provider token.

    The token is left out rather than sent empty (both mean Stars to Telegram): with the
    application's Defaults, python-telegram-bot 22 sends an empty token as ``[]``.
    """
    await context.bot.send_invoice(
        chat_id,
        title=views.invoice_title(r.t),
        description=views.invoice_description(payment, r),
        payload=payment.payload,
        currency=stars.CURRENCY,
        prices=[LabeledPrice(views.price_label(r.t), payment.stars)],
        provider_token=None,
    )


async def stars_topup(
    update: Update, context: BotContext, draft: flow.FlowMessage, credits: int, method_id: int
) -> bool:
    """/topup with a Stars method picked: no proof step. The flow's message states the
    conversion and the invoice follows; False (and an alert) if no invoice can be made."""
    user, query = update.effective_user, update.callback_query
    if user is None or query is None:
        return False
    r = await _reader(update, context)
    low, high = _bounds(context)
    try:
        payment = await stars.create_invoice(
            context.db, telegram_id=user.id, method_id=method_id, credits=credits,
            min_credits=low, max_credits=high, now=now(context),
        )  # fmt: skip
    except StarsError as exc:
        await answer(query, views.refusal(exc, r), alert=True)
        return False
    await answer(query)
    await flow.render(context, draft, *views.invoice_screen(payment, r))
    await send_invoice(context, draft.chat_id, payment, r)
    return True


async def cancel_invoice(update: Update, context: BotContext) -> None:
    """✖️ Cancel the invoice: its pre-checkout is refused from now on."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    t = await translator(update, context)
    try:
        await stars.cancel_invoice(
            context.db,
            payment_id=callbacks.CANCEL_INVOICE.parse(context),
            telegram_id=user.id,
            now=now(context),
        )
    except StarsError:
        await answer(query, views.cannot_cancel(t), alert=True)
        return
    await answer(query)
    await query.edit_message_text(views.invoice_cancelled(t))


class _CustomersPayment(Protocol):
    """A module answering one kind of customer's payment (its payload's prefix says which)."""

    async def pre_checkout(self, update: Update, context: BotContext) -> None: ...

    async def successful_payment(self, update: Update, context: BotContext) -> None: ...


def _customers_payment(payload: str) -> _CustomersPayment | None:
    """The handlers of a customer's payment (a renewal, a subscription's charge, a change
    of package); None for a reseller's top-up, handled here."""
    for matches, handlers in (
        (star_renewals.is_renewal, renewal),
        (star_subscriptions.is_subscription, subscription),
        (star_changes.is_change, change),
    ):
        if matches(payload):
            return cast(_CustomersPayment, handlers)
    return None


async def pre_checkout(update: Update, context: BotContext) -> None:
    """Answer Telegram's pre-checkout query: ok, or why not; then, if the rate changed,
    a fresh invoice."""
    query = update.pre_checkout_query
    if query is None:
        return
    customers = _customers_payment(query.invoice_payload)
    if customers is not None:
        await customers.pre_checkout(update, context)
        return
    r = await _reader(update, context)
    try:
        checked = await asyncio.wait_for(
            stars.check_pre_checkout(
                context.db,
                payload=query.invoice_payload,
                telegram_id=query.from_user.id,
                total_amount=query.total_amount,
                currency=query.currency,
                now=now(context),
            ),
            PRE_CHECKOUT_SECONDS,
        )
    except TimeoutError:
        # Telegram gives up after 10 seconds: a clear "try again" beats no answer.
        log.warning("pre-checkout check took over %s s", PRE_CHECKOUT_SECONDS)
        await query.answer(ok=False, error_message=views.try_again(r.t))
        return
    if checked.refusal is None:
        await query.answer(ok=True)
        return
    await query.answer(ok=False, error_message=views.pre_checkout_refusal(checked.refusal, r.t))
    if checked.refusal != Refusal.CHANGED or checked.payment is None:
        return
    low, high = _bounds(context)
    try:
        fresh = await stars.reissue(
            context.db, payment_id=checked.payment.id, telegram_id=query.from_user.id,
            min_credits=low, max_credits=high, now=now(context),
        )  # fmt: skip
    except StarsError as exc:
        await context.bot.send_message(query.from_user.id, views.refusal(exc, r))
        return
    text, keyboard = views.invoice_screen(fresh, r, views.rate_changed(r.t))
    await context.bot.send_message(query.from_user.id, text, reply_markup=keyboard)
    await send_invoice(context, query.from_user.id, fresh, r)


async def successful_payment(update: Update, context: BotContext) -> None:
    """Telegram took the Stars: the credits, once, and the new balance."""
    message = update.effective_message
    if message is None or message.successful_payment is None or message.from_user is None:
        return
    paid = message.successful_payment
    customers = _customers_payment(paid.invoice_payload)
    if customers is not None:
        await customers.successful_payment(update, context)
        return
    r = await _reader(update, context)
    try:
        done = await star_payments.record_payment(
            context.db,
            charge_id=paid.telegram_payment_charge_id,
            provider_charge_id=paid.provider_payment_charge_id,
            payload=paid.invoice_payload,
            telegram_id=message.from_user.id,
            total_amount=paid.total_amount,
            currency=paid.currency,
            admin_chat_id=context.settings.admin_chat_id,
            now=now(context),
        )
    except StarsError as exc:
        log.error("a Stars payment could not be recorded: %s", exc)
        await message.reply_text(views.payment_unmatched(r.t))
        return
    if done.replayed:  # the same update again: said already
        return
    balance = done.balance
    await message.reply_text(views.paid(done.payment, balance.balance, balance.available, r))


async def refunded_payment(update: Update, context: BotContext) -> None:
    """Telegram reports a refund: recorded once; the reseller and the admins are told."""
    message = update.effective_message
    refunded = getattr(message, "refunded_payment", None)
    if refunded is None:
        return
    try:
        await star_refunds.record_telegram_refund(
            context.db,
            charge_id=refunded.telegram_payment_charge_id,
            admin_chat_id=context.settings.admin_chat_id,
            now=now(context),
        )
    except StarsError as exc:
        log.error("a Stars refund could not be recorded: %s", exc)


class RefundedPayment(filters.MessageFilter):
    """A ``refunded_payment`` service message (python-telegram-bot has no filter for it)."""

    def filter(self, message: object) -> bool:
        return getattr(message, "refunded_payment", None) is not None
