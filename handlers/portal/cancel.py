"""A customer cancels: ❌ Cancel, the reason (a button or their own words), ✅ confirm.

The draft keeps the subscription's id and the reason; the confirmation cancels only the
subscription the draft is about, and the service checks it is the chat's.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.services import cancellation, portal
from bot.services.customers import CustomerError
from handlers import flow
from handlers.common import answer, now, refuse
from handlers.language import reader
from handlers.portal import callbacks, views
from handlers.portal import cancel_views as cv
from handlers.portal.drafts import CancelDraft

DRAFT = "portal_cancel_draft"
REASON, CONFIRM = "portalcancel:reason", "portalcancel:confirm"


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def ask_reason(update: Update, context: BotContext) -> int | str:
    """❌ Cancel subscription: the reasons, on the portal's message."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None or query.message is None:
        return _end(context)
    r = await reader(update, context)
    customer_id = callbacks.CANCEL.first_id(context)
    try:
        sub = await portal.subscription(context.db, chat.id, customer_id, now=now(context))
    except CustomerError as exc:
        await refuse(update, views.refusal(exc.code, exc.params, r))
        return _end(context)
    if sub is None or sub.cancelled:
        await refuse(update, views.refusal("already_cancelled" if sub else "not_linked", {}, r))
        return _end(context)
    await answer(query)
    draft = CancelDraft(chat.id, query.message.message_id, customer_id=customer_id)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await flow.render(context, draft, *cv.ask_reason(sub.customer, r))
    return REASON


async def _confirmation(update: Update, context: BotContext, draft: CancelDraft) -> int | str:
    chat = update.effective_chat
    r = await reader(update, context)
    if chat is None:
        return _end(context)
    try:
        sub = await portal.subscription(context.db, chat.id, draft.customer_id, now=now(context))
    except CustomerError as exc:
        await refuse(update, views.refusal(exc.code, exc.params, r))
        return _end(context)
    assert sub is not None
    await flow.render(context, draft, *cv.confirm(sub.customer, draft.reason, draft.note, r))
    return CONFIRM


async def picked_reason(update: Update, context: BotContext) -> int | str:
    """A reason's button: then the confirmation."""
    query = update.callback_query
    draft = flow.draft(context, DRAFT, CancelDraft)
    customer_id, reason = callbacks.CANCEL_REASON.parse(context)
    if query is None:
        return _end(context)
    if draft is None or int(customer_id) != draft.customer_id:
        await answer(query, cv.stale(await reader(update, context)), alert=True)
        return REASON if draft is not None else _end(context)
    await answer(query)
    draft.reason, draft.note = reason, ""
    return await _confirmation(update, context, draft)


async def typed_reason(update: Update, context: BotContext) -> int | str:
    """Their own words: checked, then the confirmation."""
    draft = flow.draft(context, DRAFT, CancelDraft)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return _end(context)
    r = await reader(update, context)
    try:
        draft.note = cancellation.check_note(message.text)
    except CustomerError as exc:
        await message.reply_text(views.refusal(exc.code, exc.params, r))
        return REASON
    draft.reason = "other"
    # The next step is a new message under theirs, so it is not lost above it.
    draft.message_id = 0
    return await _confirmation(update, context, draft)


async def confirm(update: Update, context: BotContext) -> int | str:
    """✅ Yes, cancel it: once; a second tap is told it is already done."""
    query, chat = update.callback_query, update.effective_chat
    draft = flow.draft(context, DRAFT, CancelDraft)
    if query is None or chat is None:
        return _end(context)
    r = await reader(update, context)
    if draft is None or callbacks.CANCEL_CONFIRM.first_id(context) != draft.customer_id:
        await answer(query, cv.stale(r), alert=True)
        return CONFIRM if draft is not None else _end(context)
    try:
        customer = await cancellation.cancel(
            context.db, chat_id=chat.id, customer_id=draft.customer_id, reason=draft.reason,
            note=draft.note or None, now=now(context),
        )  # fmt: skip
    except CustomerError as exc:
        await refuse(update, views.refusal(exc.code, exc.params, r))
        return _end(context)
    await answer(query)
    await flow.render(context, draft, *cv.cancelled(customer, r))
    return _end(context)


async def keep(update: Update, context: BotContext) -> object:
    r = await reader(update, context)
    return await flow.leave(update, context, DRAFT, cv.kept(r))


async def timed_out(update: Update, context: BotContext) -> None:
    r = await reader(update, context)
    await flow.expire(context, DRAFT, cv.timed_out(r))


def cancel_flow() -> flow.Flow:
    """Cancelling a subscription, for the one conversation all flows share."""
    keep_button = CallbackQueryHandler(keep, pattern=callbacks.CANCEL_KEEP.pattern())
    return flow.Flow(
        name="portalcancel",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(ask_reason, pattern=callbacks.CANCEL.pattern())],
        states={
            REASON: [
                CallbackQueryHandler(picked_reason, pattern=callbacks.CANCEL_REASON.pattern()),
                MessageHandler(filters.TEXT & ~filters.COMMAND, typed_reason),
            ],
            CONFIRM: [
                CallbackQueryHandler(confirm, pattern=callbacks.CANCEL_CONFIRM.pattern()),
                CallbackQueryHandler(picked_reason, pattern=callbacks.CANCEL_REASON.pattern()),
            ],
        },
        fallbacks=[keep_button],
        cancel=keep,
        timed_out=timed_out,
        replaced_text=cv.replaced,
    )
