"""Suspending a reseller: a one-step flow that asks for the reason (and whether to disable
its customers on their panels), for the one conversation all flows share."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.services import reseller_search, resellers
from bot.services.admin_log import ActionError
from bot.services.resellers import ResellerError
from handlers import flow
from handlers.admin import callbacks, directory, panels, views
from handlers.admin.directory import card
from handlers.admin.resellers import admin_reader
from handlers.common import answer, now, refuse
from handlers.home.commands import follow_change
from handlers.language import translator
from models import ResellerStatus

SUSPEND_DRAFT = "suspend_draft"
REASON = "suspend:reason"


@dataclass
class SuspendDraft(flow.FlowMessage):
    telegram_id: int = 0
    name: str = ""
    customers: bool = False  # also disable their customers on the panels


async def ask_reason(update: Update, context: BotContext) -> int | str:
    """Entry: show who is about to be suspended and wait for the reason."""
    query = update.callback_query
    r = await admin_reader(update, context)
    if r is None or query is None or query.message is None:
        return flow.end(context, SUSPEND_DRAFT)
    telegram_id = callbacks.SUSPEND.parse(context)
    try:
        row = await resellers.reseller_row(context.db, telegram_id)
    except ResellerError as exc:
        await refuse(update, views.refusal(exc, r))
        return flow.end(context, SUSPEND_DRAFT)
    if row.reseller.status == ResellerStatus.SUSPENDED:
        await directory.show_card(update, context, telegram_id, r, views.already_suspended(r))
        return flow.end(context, SUSPEND_DRAFT)
    await answer(query)
    draft = SuspendDraft(
        query.message.chat.id, query.message.message_id, telegram_id, row.reseller.name
    )
    assert context.user_data is not None
    context.user_data[SUSPEND_DRAFT] = draft
    await flow.render(context, draft, *views.reason_prompt(telegram_id, draft.name, False, r))
    return REASON


async def _suspend(
    update: Update, context: BotContext, telegram_id: int, reason: str | None
) -> int | str:
    user = update.effective_user
    r = await admin_reader(update, context)
    if user is None or r is None:
        return flow.end(context, SUSPEND_DRAFT)
    draft = flow.draft(context, SUSPEND_DRAFT, SuspendDraft)
    suspended = False
    try:
        await resellers.set_status(
            context.db,
            telegram_id=telegram_id,
            status=ResellerStatus.SUSPENDED,
            actor=f"tg:{user.id}",
            now=now(context),
            reason=reason,
        )
        suspended = True
        swept = None
        if draft is not None and draft.customers:
            swept = await panels.sweep(context, telegram_id, f"tg:{user.id}", suspend=True)
        note = views.suspended(bool(reason), swept, telegram_id, r)
    except ActionError as exc:
        if draft is not None and exc.code == "reason_too_long":
            # Too long a reason: say so and wait for a shorter one.
            problem = views.refusal(exc, r)
            screen = views.reason_prompt(telegram_id, draft.name, draft.customers, r, problem)
            await flow.render(context, draft, *screen)
            return REASON
        note = views.refusal(exc, r)
    except ResellerError as exc:
        note = views.refusal(exc, r)
    if draft is not None and update.callback_query is None:
        row = await reseller_search.card(
            context.db, telegram_id, now=now(context), zone=context.settings.zone
        )
        await flow.render(context, draft, *views.card(row, r, note))
    else:
        await directory.show_card(update, context, telegram_id, r, note)
    if suspended:  # after the answer: their menu no longer lists what they may not use
        await follow_change(context, telegram_id)
    return flow.end(context, SUSPEND_DRAFT)


async def got_reason(update: Update, context: BotContext) -> int | str:
    draft = flow.draft(context, SUSPEND_DRAFT, SuspendDraft)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return flow.end(context, SUSPEND_DRAFT)
    return await _suspend(update, context, draft.telegram_id, message.text)


async def suspend_without_reason(update: Update, context: BotContext) -> int | str:
    return await _suspend(update, context, callbacks.SUSPEND_NOW.parse(context), None)


async def toggle_customers(update: Update, context: BotContext) -> int | str:
    """The "also their customers" box on the reason prompt: ticked, or not."""
    r = await admin_reader(update, context)
    draft = flow.draft(context, SUSPEND_DRAFT, SuspendDraft)
    if r is None or draft is None or update.callback_query is None:
        return flow.end(context, SUSPEND_DRAFT)
    await answer(update.callback_query)
    draft.customers = not draft.customers
    screen = views.reason_prompt(draft.telegram_id, draft.name, draft.customers, r)
    await flow.render(context, draft, *screen)
    return REASON


async def keep_active(update: Update, context: BotContext) -> int | str:
    await card(update, context)
    return flow.end(context, SUSPEND_DRAFT)


async def cancel_suspend(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, SUSPEND_DRAFT, views.suspension_cancelled(t))


async def suspend_timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, SUSPEND_DRAFT, views.suspension_timed_out(t))


def suspension() -> flow.Flow:
    """Suspending a reseller, for the one conversation all flows share."""
    return flow.Flow(
        name="suspend",
        draft_key=SUSPEND_DRAFT,
        entry_points=[CallbackQueryHandler(ask_reason, pattern=callbacks.SUSPEND.pattern())],
        states={
            REASON: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, got_reason),
                CallbackQueryHandler(
                    suspend_without_reason, pattern=callbacks.SUSPEND_NOW.pattern()
                ),
                CallbackQueryHandler(keep_active, pattern=callbacks.CARD.pattern()),
                CallbackQueryHandler(
                    toggle_customers, pattern=callbacks.SUSPEND_CUSTOMERS.pattern()
                ),
            ],
        },
        fallbacks=[],
        cancel=cancel_suspend,
        timed_out=suspend_timed_out,
        replaced_text=views.suspension_replaced,
    )
