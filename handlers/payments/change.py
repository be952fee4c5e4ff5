"""A customer pays its own change of package in Stars: ⭐ Pay and change (from the
portal's change screen), the invoice, the pre-checkout, the payment; the change itself
and its automatic refund are a renewal's (``renewal.run_renewal``).

Whose subscription it is comes from the chat, checked by the service; the payment's
updates reach here through ``invoice``, which passes on those whose payload is a change's.
"""

from __future__ import annotations

from telegram import LabeledPrice, Update

from bot.context import BotContext
from bot.services import star_changes, star_renewals, stars
from bot.services.stars import StarsError
from handlers.common import answer, now
from handlers.language import reader
from handlers.payments import change_views as views
from handlers.payments import renewal, renewal_views
from handlers.portal import callbacks as portal_buttons
from handlers.reader import Reader
from models import StarPurpose


async def send_invoice(
    context: BotContext,
    chat_id: int,
    customer_id: int,
    plan_id: int,
    r: Reader,
    problem: str | None = None,
) -> str | None:
    """The invoice (after the price screen again when ``problem`` says why); or why there
    is none (nothing sent then)."""
    try:
        offer, payment = await star_changes.create_invoice(
            context.db, chat_id=chat_id, customer_id=customer_id, plan_id=plan_id,
            now=now(context),
        )  # fmt: skip
    except StarsError as exc:
        return views.refusal(exc.code, r.t)
    if problem:
        text, keyboard = views.pay_screen(offer, r, problem)
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
    return None


async def pay_and_change(update: Update, context: BotContext) -> None:
    """⭐ Pay N and change: the invoice at today's price, or an alert saying why not."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    r = await reader(update, context)
    customer_id, plan_id = (int(v) for v in portal_buttons.CHANGE_PAY.parse(context))
    refused = await send_invoice(context, chat.id, customer_id, plan_id, r)
    await answer(query, refused, alert=refused is not None)


async def _reoffer(
    context: BotContext, checked: star_renewals.Checked, chat_id: int, r: Reader
) -> None:
    payment = checked.payment
    if payment is None or payment.customer_id is None or payment.plan_id is None:
        return
    problem = renewal_views.refusal(star_renewals.Refusal.CHANGED, r.t)
    refused = await send_invoice(context, chat_id, payment.customer_id, payment.plan_id, r, problem)
    if refused is not None:
        await context.bot.send_message(chat_id, refused)


async def pre_checkout(update: Update, context: BotContext) -> None:
    await renewal.answer_pre_checkout(
        update, context, star_changes.check_pre_checkout, _reoffer, views.refusal
    )


async def successful_payment(update: Update, context: BotContext) -> None:
    await renewal.take_payment(update, context, renewal.record_as(StarPurpose.PLAN_CHANGE))
