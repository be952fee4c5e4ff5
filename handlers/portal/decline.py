"""A reseller declines a change of package in their own words: ✏️ Other reason…, the
reason typed (checked, at most ``plan_changes.MAX_NOTE`` characters), stored and sent to
the customer. ⬅️ Back, /cancel or a timeout bring the reasons back.

The draft keeps the request's id; the service checks it is the reseller's and still
waiting, when the flow starts and again when the reason is typed.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.services import plan_changes
from bot.services.customers import CustomerError
from handlers import flow
from handlers.common import answer, now
from handlers.language import reader
from handlers.portal import callbacks, views
from handlers.portal import cancel_views as cv
from handlers.portal.drafts import DeclineDraft
from handlers.portal.reseller import refusal_of

DRAFT = "portal_decline_draft"
NOTE = "portaldecline:note"
NOTE_CODES = ("note_empty", "note_too_long")


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def ask_note(update: Update, context: BotContext) -> int | str:
    """✏️ Other reason…: the prompt on the request's message."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None or query.message is None:
        return _end(context)
    r = await reader(update, context)
    try:
        request = await plan_changes.waiting(
            context.db, telegram_id=user.id,
            request_id=callbacks.CHANGE_DECLINE_OTHER.first_id(context),
        )  # fmt: skip
    except CustomerError as exc:
        await answer(query, refusal_of(exc, r), alert=True)
        return _end(context)
    await answer(query)
    draft = DeclineDraft(query.message.chat.id, query.message.message_id, request_id=request.id)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await flow.render(context, draft, *cv.ask_note(request, r))
    return NOTE


async def typed(update: Update, context: BotContext) -> int | str:
    """The reason: declined with it, or why not (too long, empty: type again)."""
    draft = flow.draft(context, DRAFT, DeclineDraft)
    message, user = update.effective_message, update.effective_user
    if draft is None or message is None or message.text is None or user is None:
        return _end(context)
    r = await reader(update, context)
    try:
        request = await plan_changes.decline(
            context.db, telegram_id=user.id, request_id=draft.request_id,
            reason=plan_changes.OTHER, note=message.text, now=now(context),
        )  # fmt: skip
    except CustomerError as exc:
        if exc.code in NOTE_CODES:
            await message.reply_text(views.refusal(exc.code, exc.params, r))
            return NOTE
        await message.reply_text(refusal_of(exc, r))
        return _end(context)
    # The outcome is a new message under theirs, so it is not lost above it.
    draft.message_id = 0
    await flow.render(context, draft, cv.declined(request, r), None)
    return _end(context)


async def back(update: Update, context: BotContext) -> object:
    """⬅️ Back or /cancel: the reasons again, nothing declined."""
    draft = flow.draft(context, DRAFT, DeclineDraft)
    if update.callback_query is not None:
        await answer(update.callback_query)
    if draft is not None:
        r = await reader(update, context)
        await flow.render(
            context, draft, cv.ask_decline(r), cv.decline_reasons(draft.request_id, r)
        )
    return _end(context)


async def timed_out(update: Update, context: BotContext) -> None:
    draft = flow.draft(context, DRAFT, DeclineDraft)
    if draft is not None:
        r = await reader(update, context)
        text = f"{cv.note_timed_out(r)}\n\n{cv.ask_decline(r)}"
        await flow.render(context, draft, text, cv.decline_reasons(draft.request_id, r))
    _end(context)


def decline_flow() -> flow.Flow:
    """Declining in one's own words, for the one conversation all flows share."""
    return flow.Flow(
        name="portaldecline",
        draft_key=DRAFT,
        entry_points=[
            CallbackQueryHandler(ask_note, pattern=callbacks.CHANGE_DECLINE_OTHER.pattern())
        ],
        states={NOTE: [MessageHandler(filters.TEXT & ~filters.COMMAND, typed)]},
        fallbacks=[CallbackQueryHandler(back, pattern=callbacks.CHANGE_DECLINE.pattern())],
        cancel=back,
        timed_out=timed_out,
        replaced_text=cv.note_replaced,
    )
