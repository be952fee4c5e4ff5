"""Suspending a reseller: a one-step flow that asks for the reason (and whether to disable
its customers on their panels), for the one conversation all flows share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.i18n import Translator
from bot.services import resellers
from bot.services.admin_log import ActionError
from bot.services.resellers import ResellerError
from handlers import admin_panels, flow
from handlers.admin import (
    CARD,
    REASON,
    SUSPEND,
    SUSPEND_CUSTOMERS,
    SUSPEND_DRAFT,
    SUSPEND_NOW,
    admin_translator,
    card,
    card_view,
    refusal,
)
from handlers.common import answer, matched, refuse, show
from models import ResellerStatus


@dataclass
class SuspendDraft(flow.FlowMessage):
    telegram_id: int = 0
    name: str = ""
    customers: bool = False  # also disable their customers on the panels


def _reason_prompt(name: str, t: Translator) -> str:
    return t._(
        "⛔ Suspend <b>{name}</b>?\n"
        "They will not be able to sell or top up until reactivated. Send the reason in one "
        "message (at most 255 characters; it is logged and they are told), or suspend "
        "without a reason.",
        name=t.isolate(escape(name)),
    )


def _reason_keyboard(
    telegram_id: int, t: Translator, customers: bool = False
) -> InlineKeyboardMarkup:
    also = "☑️ " if customers else "⬜ "
    return InlineKeyboardMarkup(
        [
            [
                keyboards.button(
                    also + t._("Also disable their customers on the panels"),
                    SUSPEND_CUSTOMERS,
                    telegram_id,
                )
            ],
            [keyboards.button(t._("⛔ Suspend without a reason"), SUSPEND_NOW, telegram_id)],
            [keyboards.button(t._("✖️ Keep them active"), CARD, telegram_id)],
        ]
    )


async def ask_reason(update: Update, context: BotContext) -> int | str:
    """Entry: show who is about to be suspended and wait for the reason."""
    query = update.callback_query
    t = await admin_translator(update, context)
    if t is None or query is None or query.message is None:
        return flow.end(context, SUSPEND_DRAFT)
    telegram_id = int(matched(context))
    try:
        row = await resellers.reseller_row(context.db, telegram_id)
    except ResellerError as exc:
        await refuse(update, refusal(exc, t))
        return flow.end(context, SUSPEND_DRAFT)
    if row.reseller.status == ResellerStatus.SUSPENDED:
        await show(update, *card_view(row, context, t, t._("They are already suspended.")))
        return flow.end(context, SUSPEND_DRAFT)
    await answer(query)
    draft = SuspendDraft(
        query.message.chat.id, query.message.message_id, telegram_id, row.reseller.name
    )
    assert context.user_data is not None
    context.user_data[SUSPEND_DRAFT] = draft
    await flow.render(
        context, draft, _reason_prompt(row.reseller.name, t), _reason_keyboard(telegram_id, t)
    )
    return REASON


async def _suspend(
    update: Update, context: BotContext, telegram_id: int, reason: str | None
) -> int | str:
    user = update.effective_user
    t = await admin_translator(update, context)
    if user is None or t is None:
        return flow.end(context, SUSPEND_DRAFT)
    draft = flow.draft(context, SUSPEND_DRAFT, SuspendDraft)
    try:
        await resellers.set_status(
            context.db,
            telegram_id=telegram_id,
            status=ResellerStatus.SUSPENDED,
            actor=f"tg:{user.id}",
            now=dt.datetime.now(dt.UTC),
            reason=reason,
        )
        note = (
            t._("⛔ Suspended; they have been told why.")
            if reason
            else t._("⛔ Suspended; they have been told.")
        )
        if draft is not None and draft.customers:
            swept = await admin_panels.sweep(context, telegram_id, f"tg:{user.id}", t, suspend=True)
            note += f"\n{swept}"
    except ActionError as exc:
        if draft is not None and exc.code == "reason_too_long":
            # Too long a reason: say so and wait for a shorter one.
            await flow.render(
                context,
                draft,
                refusal(exc, t) + "\n\n" + _reason_prompt(draft.name, t),
                _reason_keyboard(telegram_id, t, draft.customers),
            )
            return REASON
        note = refusal(exc, t)
    except ResellerError as exc:
        note = refusal(exc, t)
    row = await resellers.reseller_row(context.db, telegram_id)
    text, keyboard = card_view(row, context, t, note)
    if draft is not None and update.callback_query is None:
        await flow.render(context, draft, text, keyboard)
    else:
        await show(update, text, keyboard)
    return flow.end(context, SUSPEND_DRAFT)


async def got_reason(update: Update, context: BotContext) -> int | str:
    draft = flow.draft(context, SUSPEND_DRAFT, SuspendDraft)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return flow.end(context, SUSPEND_DRAFT)
    return await _suspend(update, context, draft.telegram_id, message.text)


async def suspend_without_reason(update: Update, context: BotContext) -> int | str:
    return await _suspend(update, context, int(matched(context)), None)


async def toggle_customers(update: Update, context: BotContext) -> int | str:
    """The "also their customers" box on the reason prompt: ticked, or not."""
    t = await admin_translator(update, context)
    draft = flow.draft(context, SUSPEND_DRAFT, SuspendDraft)
    if t is None or draft is None or update.callback_query is None:
        return flow.end(context, SUSPEND_DRAFT)
    await answer(update.callback_query)
    draft.customers = not draft.customers
    keyboard = _reason_keyboard(draft.telegram_id, t, draft.customers)
    await flow.render(context, draft, _reason_prompt(draft.name, t), keyboard)
    return REASON


async def keep_active(update: Update, context: BotContext) -> int | str:
    await card(update, context)
    return flow.end(context, SUSPEND_DRAFT)


async def cancel_suspend(update: Update, context: BotContext) -> object:
    return await flow.leave(update, context, SUSPEND_DRAFT, "Nobody was suspended.")


async def suspend_timed_out(update: Update, context: BotContext) -> None:
    await flow.expire(context, SUSPEND_DRAFT, "⏱ Nobody was suspended: no reason came in time.")


def suspension() -> flow.Flow:
    """Suspending a reseller, for the one conversation all flows share."""
    return flow.Flow(
        name="suspend",
        draft_key=SUSPEND_DRAFT,
        entry_points=[CallbackQueryHandler(ask_reason, pattern=rf"^{SUSPEND}:(\d{{1,19}})$")],
        states={
            REASON: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, got_reason),
                CallbackQueryHandler(
                    suspend_without_reason, pattern=rf"^{SUSPEND_NOW}:(\d{{1,19}})$"
                ),
                CallbackQueryHandler(keep_active, pattern=rf"^{CARD}:(\d{{1,19}})$"),
                CallbackQueryHandler(
                    toggle_customers, pattern=rf"^{SUSPEND_CUSTOMERS}:(\d{{1,19}})$"
                ),
            ],
        },
        fallbacks=[],
        cancel=cancel_suspend,
        timed_out=suspend_timed_out,
        replaced_text=lambda t: t._("⏹ Nobody was suspended: you started something else."),
    )


def register(app: BotApplication) -> None:
    # A "without a reason" tap after the flow ended (timed out, replaced): suspend anyway,
    # it is one explicit tap by an admin.
    app.add_handler(
        CallbackQueryHandler(suspend_without_reason, pattern=rf"^{SUSPEND_NOW}:(\d{{1,19}})$")
    )
