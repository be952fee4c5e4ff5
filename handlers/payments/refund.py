"""An admin refunds a Stars top-up: ↩️ Refund, the reason, ✅ confirm; or asks Telegram
again for a refund left pending: 🔁 Ask Telegram again.

Only the owners and staff admins allowed top-ups may, checked from the database at every
step. The credits are taken back first (``star_refunds.begin_refund``), then Telegram is
asked to return the Stars; if it refuses, the credits are restored and the admin is told
Telegram's reason.

A refund left pending (Telegram did not answer, or refused a customer's automatic
refund, or the bot stopped in between) was decided already: its money moved and its
reason is recorded. So ↩️ Refund on it, and 🔁 Ask Telegram again (the admins' notice of
the failure, the refund's screen, /stars), only ask Telegram once more, at one tap and
under the refund's lease (never beside the recovery job or another admin), and record
the answer as the refund was decided: a top-up's refusal gives the credits back (the
admin's call, as above); a customer's stays pending (its renewal was not done: nothing
to give back), asked again by the job by itself.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.services import star_refund_claims, star_refunds, stars
from bot.services.roles import Permission
from bot.services.stars import Payment, StarsError
from handlers import flow
from handlers.common import answer, now, permitted
from handlers.language import translator
from handlers.payments import admin_views, callbacks, renewal, telegram_refund
from handlers.payments.telegram_refund import Answer
from handlers.reader import Reader
from models import StarState

DRAFT = "stars_refund_draft"
REASON, CONFIRM = "starsrefund:reason", "starsrefund:confirm"


@dataclass
class RefundDraft(flow.FlowMessage):
    payment_id: int = 0
    reason: str = ""
    nonce: str = ""


async def _admin(update: Update, context: BotContext) -> Reader | None:
    """The asker's reader if they may refund (told no otherwise)."""
    t = await translator(update, context)
    if not await permitted(update, context, Permission.TOPUPS, t):
        return None
    return Reader.of(context.settings, t)


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def ask_reason(update: Update, context: BotContext) -> int | str:
    """↩️ Refund under a payment's post: who may, and whether it can be, then the reason."""
    query = update.callback_query
    r = await _admin(update, context)
    if r is None or query is None or query.message is None:
        return _end(context)
    payment = await stars.get_payment(context.db, callbacks.REFUND.parse(context))
    if payment is not None and payment.state == StarState.REFUND_PENDING:
        await _retry_tapped(update, context, payment.id, r)  # decided: no reason to ask
        return _end(context)
    if payment is None or payment.state != StarState.PAID:
        state = payment.state.value if payment else ""
        refused = StarsError("not_refundable" if payment else "unknown_payment", "", state=state)
        await answer(query, admin_views.refusal(refused, r), alert=True)
        return _end(context)
    await answer(query)
    draft = RefundDraft(query.message.chat.id, 0, payment_id=payment.id)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await flow.render(context, draft, *admin_views.reason_prompt(payment, r))
    return REASON


async def got_reason(update: Update, context: BotContext) -> int | str:
    """The reason, typed (or replied, in the group): then the confirmation."""
    draft = flow.draft(context, DRAFT, RefundDraft)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return _end(context)
    r = await _admin(update, context)
    payment = await stars.get_payment(context.db, draft.payment_id)
    if r is None or payment is None:
        return _end(context)
    try:
        draft.reason = star_refunds.check_reason(message.text)
    except StarsError as exc:
        problem = admin_views.refusal(exc, r)
        await flow.render(context, draft, *admin_views.reason_prompt(payment, r, problem))
        return REASON
    draft.nonce = secrets.token_urlsafe(9)
    await flow.render(context, draft, *admin_views.confirm(payment, draft.reason, draft.nonce, r))
    return CONFIRM


async def confirm(update: Update, context: BotContext) -> int | str:
    """✅ Refund: credits out, Stars back (or the credits restored if Telegram refuses)."""
    query, user = update.callback_query, update.effective_user
    draft = flow.draft(context, DRAFT, RefundDraft)
    r = await _admin(update, context)
    if query is None or user is None or r is None:
        return _end(context)
    payment_id, nonce = callbacks.REFUND_CONFIRM.parse(context)
    if draft is None or (payment_id, nonce) != (draft.payment_id, draft.nonce):
        await answer(query, admin_views.stale_confirmation(r.t), alert=True)
        return CONFIRM if draft is not None else _end(context)
    await answer(query)
    try:
        pending = await star_refunds.begin_refund(
            context.db, payment_id=payment_id, admin_id=user.id, reason=draft.reason,
            now=now(context),
        )  # fmt: skip
    except StarsError as exc:
        if exc.code == "refund_pending":  # decided meanwhile (another admin): asked again
            held = await star_refund_claims.take(context.db, payment_id, now(context))
            if held is None:
                current = await stars.get_payment(context.db, payment_id)
                await flow.render(context, draft, admin_views.retry_refused(current, r), None)
            else:
                await flow.render(context, draft, *await _retry(context, held, user.id, r))
            return _end(context)
        await flow.render(context, draft, admin_views.refusal(exc, r), None)
        return _end(context)
    await flow.render(context, draft, *await _ask_telegram(context, pending, user.id, r))
    return _end(context)


async def retry(update: Update, context: BotContext) -> None:
    """🔁 Ask Telegram again: a refund left pending asked of Telegram now."""
    r = await _admin(update, context)
    if r is not None:
        await _retry_tapped(update, context, callbacks.REFUND_RETRY.parse(context), r)


async def _retry_tapped(update: Update, context: BotContext, payment_id: int, r: Reader) -> None:
    """Telegram asked again (``_retry``), its answer posted below the message tapped (a
    notice, /stars: left as it is); a refund held or no longer pending, an alert."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.message is None:
        return
    pending = await star_refund_claims.take(context.db, payment_id, now(context))
    if pending is None:  # someone is asking Telegram now, or it is no longer pending
        current = await stars.get_payment(context.db, payment_id)
        await answer(query, admin_views.retry_refused(current, r), alert=True)
        return
    await answer(query)
    text, keyboard = await _retry(context, pending, user.id, r)
    await context.bot.send_message(
        query.message.chat.id, text, reply_markup=keyboard,
        reply_to_message_id=query.message.message_id,
    )  # fmt: skip


async def _retry(
    context: BotContext, pending: Payment, admin_id: int, r: Reader
) -> admin_views.Screen:
    """A pending refund whose lease the caller took, asked of Telegram again and recorded
    as it was decided: an admin's refund (a top-up's, or any payment's ↩️ Refund) as
    such, a customer's automatic one as that (with what the live path does beside it)."""
    if pending.refund_by_admin:
        return await _ask_telegram(context, pending, admin_id, r)
    done = await renewal.settle_pending_refund(
        context.db, context.bot, pending, admin_chat_id=context.settings.admin_chat_id,
        now=now(context),
    )  # fmt: skip
    return admin_views.customer_refund_retried(done, r)


async def _ask_telegram(
    context: BotContext, pending: Payment, admin_id: int, r: Reader
) -> admin_views.Screen:
    """refundStarPayment for a top-up, then the outcome recorded: refunded, restored, or
    still pending when Telegram's answer is unknown (a timeout: 🔁 Ask Telegram again
    asks once more, and so does the job, ``jobs.stars.finish_pending_refunds``, a few
    minutes later)."""
    told = await telegram_refund.refund_stars(context.bot, pending)
    if told.answer == Answer.UNKNOWN:
        await star_refund_claims.release(context.db, pending)
        return admin_views.refund_unknown(pending, r)
    if told.answer == Answer.REFUSED:
        try:
            restored = await star_refunds.undo_refund(
                context.db, pending=pending, error=told.error, now=now(context)
            )
        except StarsError:
            # Taken over while Telegram was slow to answer (the job asks it again), or
            # already recorded refunded: the credits stay out until that answer is in.
            current = await stars.get_payment(context.db, pending.id)
            assert current is not None
            if current.state == StarState.REFUNDED:
                return admin_views.refunded(current, r), None
            return admin_views.refused_while_retried(current, told.error, r), None
        return admin_views.telegram_refused(restored, told.error, r), None
    done = await star_refunds.finish_refund(
        context.db, payment_id=pending.id, admin_id=admin_id, now=now(context),
        admin_chat_id=context.settings.admin_chat_id,
    )  # fmt: skip
    if told.answer == Answer.ALREADY:  # the Stars were back with the payer already
        return admin_views.already_refunded(done, r), None
    return admin_views.refunded(done, r), None


async def cancel(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, DRAFT, admin_views.refund_left(t))


async def timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, DRAFT, admin_views.refund_timed_out(t))


def refund_flow() -> flow.Flow:
    """Refunding a Stars payment, for the one conversation all flows share."""
    cancel_button = CallbackQueryHandler(cancel, pattern=callbacks.REFUND_CANCEL.pattern())
    return flow.Flow(
        name="starsrefund",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(ask_reason, pattern=callbacks.REFUND.pattern())],
        states={
            REASON: [MessageHandler(filters.TEXT & ~filters.COMMAND, got_reason)],
            CONFIRM: [CallbackQueryHandler(confirm, pattern=callbacks.REFUND_CONFIRM.pattern())],
        },
        fallbacks=[cancel_button],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=admin_views.refund_replaced,
    )
