"""Discount codes: 🏷 I have a discount code on an open invoice (a flow: the code, then a
new invoice with the discount stated), and the admins' /discounts (report, add, uses).

Who pays comes from the asker, checked against the invoice on the server; only admins
allowed top-ups may add codes or read the report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.days import parse_day
from bot.services import discounts, star_renewals, stars
from bot.services.discounts import NewCode
from bot.services.roles import Permission
from bot.services.stars import StarsError
from handlers import flow
from handlers.common import answer, now, permitted, show
from handlers.language import reader, translator
from handlers.payments import callbacks, invoice, renewal
from handlers.payments import discount_views as views
from handlers.payments import views as payment_views
from models import DiscountTarget, StarPurpose, StarState

DRAFT = "stars_code_draft"
CODE = "starscode:code"


@dataclass
class CodeDraft(flow.FlowMessage):
    payment_id: int = 0


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def ask_code(update: Update, context: BotContext) -> int | str:
    """🏷 I have a discount code: only on the asker's own open invoice."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.message is None:
        return _end(context)
    r = await reader(update, context)
    payment = await stars.get_payment(context.db, callbacks.CODE.parse(context))
    if payment is None or payment.payer_telegram_id != user.id:
        await answer(query, views.refusal(StarsError("not_invoiced", ""), r.t), alert=True)
        return _end(context)
    if payment.state != StarState.INVOICED:
        await answer(query, views.refusal(StarsError("not_invoiced", ""), r.t), alert=True)
        return _end(context)
    await answer(query)
    draft = CodeDraft(query.message.chat.id, query.message.message_id, payment_id=payment.id)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await flow.render(context, draft, *views.prompt(payment.id, r))
    return CODE


async def got_code(update: Update, context: BotContext) -> int | str:
    """The code: a new invoice with the discount stated, or why not and asked again."""
    draft = flow.draft(context, DRAFT, CodeDraft)
    message, user = update.effective_message, update.effective_user
    if draft is None or message is None or message.text is None or user is None:
        return _end(context)
    r = await reader(update, context)
    try:
        payment = await discounts.apply_code(
            context.db, payment_id=draft.payment_id, telegram_id=user.id, text=message.text,
            now=now(context),
        )  # fmt: skip
    except StarsError as exc:
        if exc.code == "not_invoiced":
            await flow.render(context, draft, views.refusal(exc, r.t), None)
            return _end(context)
        await flow.render(
            context, draft, *views.prompt(draft.payment_id, r, views.refusal(exc, r.t))
        )
        return CODE
    await flow.render(context, draft, views.applied(r), None)
    if payment.purpose == StarPurpose.RENEWAL:
        offer = await star_renewals.offer_for_chat(context.db, draft.chat_id, now(context))
        if offer is not None:
            await renewal.send_renewal_invoice(context, draft.chat_id, offer, payment, r)
    else:
        text, keyboard = payment_views.invoice_screen(payment, r)
        await context.bot.send_message(draft.chat_id, text, reply_markup=keyboard)
        await invoice.send_invoice(context, draft.chat_id, payment, r)
    return _end(context)


async def cancel(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, DRAFT, views.left(t))


async def timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, DRAFT, views.left(t))


def code_flow() -> flow.Flow:
    """A discount code entered at an invoice, for the one conversation all flows share."""
    return flow.Flow(
        name="starscode",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(ask_code, pattern=callbacks.CODE.pattern())],
        states={CODE: [MessageHandler(filters.TEXT & ~filters.COMMAND, got_code)]},
        fallbacks=[CallbackQueryHandler(cancel, pattern=callbacks.CODE_CANCEL.pattern())],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.replaced,
    )


# --- /discounts: the admins' report, adding a code, a code's uses --------------------------


def parse_new_code(words: list[str], context: BotContext) -> NewCode:
    """``CODE 20%|5 renewal|topup [from=DAY] [until=DAY] [max=N] [per_user=N] [plan=CODE]
    [reseller=TELEGRAM_ID]``; a ValueError (or StarsError) says it could not be read."""
    if len(words) < 3:
        raise ValueError("too few words")
    code, amount, target = words[0], words[1], DiscountTarget(words[2].lower())
    percent = int(amount[:-1]) if amount.endswith("%") else None
    fixed = None if percent is not None else int(amount)
    options = dict(word.split("=", 1) for word in words[3:])
    zone = context.settings.zone

    def day(name: str, *, end: bool) -> dt.datetime | None:
        if name not in options:
            return None
        start = dt.datetime.combine(parse_day(options[name]), dt.time(), zone)
        return start + dt.timedelta(days=1) if end else start  # "until" includes the day

    def whole(name: str) -> int | None:
        return int(options[name]) if name in options else None

    unknown = set(options) - {"from", "until", "max", "per_user", "plan", "reseller"}
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}")
    return NewCode(
        code=code, target=target, percent_off=percent, stars_off=fixed,
        valid_from=day("from", end=False), valid_until=day("until", end=True),
        max_uses=whole("max"), max_uses_per_user=whole("per_user"),
        plan_code=options.get("plan"), reseller_telegram_id=whole("reseller"),
    )  # fmt: skip


async def discounts_command(update: Update, context: BotContext) -> None:
    """/discounts (the report), /discounts add ..., /discounts uses CODE."""
    user = update.effective_user
    t = await translator(update, context)
    if user is None or not await permitted(update, context, Permission.TOPUPS, t):
        return
    r = await reader(update, context)
    words = list(context.args or [])
    try:
        if words[:1] == ["add"]:
            new = parse_new_code(words[1:], context)
            done = await discounts.create(context.db, new, actor=f"tg:{user.id}", now=now(context))
            await show(update, views.added(done, r))
            return
        if words[:1] == ["uses"] and len(words) == 2:
            found = await discounts.uses_of(context.db, words[1])
            await show(update, views.uses(discounts.check_code(words[1]), found, r))
            return
    except (StarsError, ValueError) as exc:
        await show(update, views.admin_refusal(exc, r))
        return
    await show(update, *views.report(await discounts.report(context.db), r))
