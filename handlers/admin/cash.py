"""Recording cash received from a postpaid reseller, from its card: amount -> how it was
paid -> reference -> comment -> summary (owed before and after) -> Save. One message is
edited step by step.

    [*] --> AMOUNT: 💵 Cash received (postpaid resellers, CREDITS permission)
    AMOUNT --> METHOD: a valid amount
    METHOD --> REFERENCE: a method tapped or typed
    REFERENCE --> COMMENT: a reference, or ⏭ Skip
    COMMENT --> CONFIRM: a comment, or ⏭ Skip
    CONFIRM --> [*]: ✅ Save (once: keyed by the nonce minted with the summary)
    any --> [*]: ✖️ Cancel, /cancel, timeout, another flow

The draft holds the reseller's id and the answers; the balance is read again for the
summary, and the permission and the reseller's type are checked again on Save.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.money import AmountError, parse_amount
from bot.services import cash, pricing, resellers
from bot.services.admin_log import ActionError
from bot.services.resellers import ResellerError
from bot.services.roles import Permission
from handlers import flow
from handlers.admin import cash_views as views
from handlers.admin import postpaid_callbacks as buttons
from handlers.admin.views import refusal as card_refusal
from handlers.common import answer, now, permitted, refuse
from handlers.language import reader
from handlers.reader import Reader
from handlers.topup.views import amount_problem

DRAFT = "cash_draft"
AMOUNT, METHOD, REFERENCE, COMMENT, CONFIRM = (
    "cash:amount",
    "cash:method",
    "cash:reference",
    "cash:comment",
    "cash:confirm",
)


@dataclass
class CashDraft(flow.FlowMessage):
    telegram_id: int = 0
    name: str = ""
    amount: int = 0
    method: str = ""
    method_name: str = ""
    reference: str = ""
    comment: str = ""
    choices: list[str] = field(default_factory=list)  # method codes, as the buttons list them
    choice_names: list[str] = field(default_factory=list)  # "" for a built-in
    nonce: str = ""


def _key(user_id: int, nonce: str) -> str:
    return f"tg:{user_id}:{nonce}"


async def _allowed(update: Update, context: BotContext) -> Reader | None:
    """The asker as a reader if they may record cash; otherwise they are told no."""
    r = await reader(update, context)
    if not await permitted(update, context, Permission.CREDITS, r.t):
        return None
    return r


def _draft(context: BotContext) -> CashDraft | None:
    return flow.draft(context, DRAFT, CashDraft)


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def start(update: Update, context: BotContext) -> int | str:
    """💵 Cash received on a card: only for a postpaid reseller, whatever the data says."""
    query = update.callback_query
    r = await _allowed(update, context)
    if r is None or query is None or query.message is None:
        return _end(context)
    try:
        row = await resellers.reseller_row(context.db, buttons.CASH.parse(context))
    except ResellerError as exc:
        await refuse(update, card_refusal(exc, r))
        return _end(context)
    if not row.reseller.postpaid:
        await refuse(update, views.refusal(ActionError("not_postpaid", "prepaid"), r))
        return _end(context)
    await answer(query)
    who = row.reseller
    draft = CashDraft(query.message.chat.id, query.message.message_id, who.telegram_id, who.name)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await flow.render(
        context, draft, *views.amount_prompt(who.name, max(0, -row.balance.balance), r)
    )
    return AMOUNT


async def _owed(context: BotContext, draft: CashDraft) -> int:
    row = await resellers.reseller_row(context.db, draft.telegram_id)
    return max(0, -row.balance.balance)


async def got_amount(update: Update, context: BotContext) -> int | str:
    draft, message = _draft(context), update.effective_message
    r = await _allowed(update, context)
    if draft is None or r is None or message is None or message.text is None:
        return _end(context)
    try:
        draft.amount = parse_amount(message.text)
    except AmountError as exc:
        owed = await _owed(context, draft)
        screen = views.amount_prompt(draft.name, owed, r, amount_problem(exc, r))
        await flow.render(context, draft, *screen)
        return AMOUNT
    methods = [m for m in await pricing.list_methods(context.db) if m.active]
    others = [m for m in methods if m.code not in views.BUILT_IN]
    draft.choices = [*views.BUILT_IN, *(m.code for m in others)]
    draft.choice_names = ["" for _ in views.BUILT_IN] + [m.name for m in others]
    await flow.render(context, draft, *views.method_prompt(draft.choice_names, r))
    return METHOD


async def _after_method(context: BotContext, draft: CashDraft, r: Reader) -> str:
    await flow.render(context, draft, *views.reference_prompt(r))
    return REFERENCE


async def picked_method(update: Update, context: BotContext) -> int | str:
    draft, query = _draft(context), update.callback_query
    r = await _allowed(update, context)
    if draft is None or r is None or query is None:
        return _end(context)
    index = buttons.CASH_METHOD.parse(context)
    if index >= len(draft.choices):  # not a button this screen showed
        await answer(query)
        return METHOD
    await answer(query)
    draft.method, draft.method_name = draft.choices[index], draft.choice_names[index]
    return await _after_method(context, draft, r)


async def typed_method(update: Update, context: BotContext) -> int | str:
    draft, message = _draft(context), update.effective_message
    r = await _allowed(update, context)
    if draft is None or r is None or message is None or message.text is None:
        return _end(context)
    try:
        draft.method, draft.method_name = cash.check_method(message.text), ""
    except ActionError as exc:
        screen = views.method_prompt(draft.choice_names, r, views.refusal(exc, r))
        await flow.render(context, draft, *screen)
        return METHOD
    return await _after_method(context, draft, r)


async def got_reference(update: Update, context: BotContext) -> int | str:
    draft, message = _draft(context), update.effective_message
    r = await _allowed(update, context)
    if draft is None or r is None or message is None or message.text is None:
        return _end(context)
    try:
        draft.reference = cash.check_reference(message.text) or ""
    except ActionError as exc:
        await flow.render(context, draft, *views.reference_prompt(r, views.refusal(exc, r)))
        return REFERENCE
    await flow.render(context, draft, *views.comment_prompt(r))
    return COMMENT


async def got_comment(update: Update, context: BotContext) -> int | str:
    draft, message = _draft(context), update.effective_message
    r = await _allowed(update, context)
    if draft is None or r is None or message is None or message.text is None:
        return _end(context)
    try:
        draft.comment = cash.check_comment(message.text) or ""
    except ActionError as exc:
        await flow.render(context, draft, *views.comment_prompt(r, views.refusal(exc, r)))
        return COMMENT
    return await _summary(context, draft, r)


async def skip_reference(update: Update, context: BotContext) -> int | str:
    """⏭ Skip on the reference: no reference; the comment is asked."""
    draft, query = _draft(context), update.callback_query
    r = await _allowed(update, context)
    if draft is None or r is None or query is None:
        return _end(context)
    await answer(query)
    draft.reference = ""
    await flow.render(context, draft, *views.comment_prompt(r))
    return COMMENT


async def skip_comment(update: Update, context: BotContext) -> int | str:
    """⏭ Skip on the comment: no comment; the summary is shown."""
    draft, query = _draft(context), update.callback_query
    r = await _allowed(update, context)
    if draft is None or r is None or query is None:
        return _end(context)
    await answer(query)
    draft.comment = ""
    return await _summary(context, draft, r)


async def _summary(context: BotContext, draft: CashDraft, r: Reader) -> str:
    row = await resellers.reseller_row(context.db, draft.telegram_id)
    # A fresh nonce per summary: only the Save of the screen last shown records.
    draft.nonce = secrets.token_urlsafe(9)
    shown = views.Summary(
        draft.name,
        draft.amount,
        draft.method,
        draft.method_name,
        draft.reference,
        draft.comment,
        row.balance.balance,
    )
    await flow.render(context, draft, *views.summary(shown, draft.nonce, r))
    return CONFIRM


async def save(update: Update, context: BotContext) -> int | str:
    """✅ Save: records once; the permission and the reseller's type are checked again."""
    draft, query, user = _draft(context), update.callback_query, update.effective_user
    r = await _allowed(update, context)
    if r is None or query is None or user is None:
        return _end(context)
    nonce = buttons.CASH_SAVE.parse(context)
    if draft is None or nonce != draft.nonce:
        await answer(query, views.stale_save(r.t), alert=True)
        return CONFIRM if draft is not None else _end(context)
    await answer(query)
    try:
        receipt = await cash.record(
            context.db,
            telegram_id=draft.telegram_id,
            amount=draft.amount,
            method=draft.method,
            actor=f"tg:{user.id}",
            key=_key(user.id, nonce),
            now=now(context),
            reference=draft.reference or None,
            comment=draft.comment or None,
        )
    except (ActionError, ResellerError) as exc:
        text = views.refusal(exc, r) if isinstance(exc, ActionError) else card_refusal(exc, r)
        await flow.render(context, draft, text, None)
        return _end(context)
    await flow.render(context, draft, *views.saved(receipt, r))
    return _end(context)


async def save_after_end(update: Update, context: BotContext) -> None:
    """A Save tapped again once the flow is over: it was recorded once, or it is stale."""
    query, user = update.callback_query, update.effective_user
    r = await _allowed(update, context)
    if r is None or query is None or user is None:
        return
    done = await cash.recorded(context.db, _key(user.id, buttons.CASH_SAVE.parse(context)))
    text = views.already_saved(r.t) if done else views.stale_save(r.t)
    await answer(query, text, alert=True)


async def buttons_expected(update: Update, context: BotContext) -> int | str:
    message = update.effective_message
    if _draft(context) is None or message is None:
        return _end(context)
    r = await reader(update, context)
    await message.reply_text(views.buttons_expected(r.t))
    return CONFIRM


async def cancel(update: Update, context: BotContext) -> object:
    r = await reader(update, context)
    return await flow.leave(update, context, DRAFT, views.cancelled(r.t))


async def timed_out(update: Update, context: BotContext) -> None:
    found = _draft(context)
    if found is None:
        return
    r = await reader(update, context)
    await flow.expire(context, DRAFT, views.timed_out(r.t))


def cash_received() -> flow.Flow:
    """Recording cash received, for the one conversation all flows share."""
    text = filters.TEXT & ~filters.COMMAND
    cancel_button = CallbackQueryHandler(cancel, pattern=buttons.CASH_CANCEL.pattern())
    skip = buttons.CASH_SKIP.pattern()
    return flow.Flow(
        name="cash",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(start, pattern=buttons.CASH.pattern())],
        states={
            AMOUNT: [MessageHandler(text, got_amount)],
            METHOD: [
                CallbackQueryHandler(picked_method, pattern=buttons.CASH_METHOD.pattern()),
                MessageHandler(text, typed_method),
            ],
            REFERENCE: [
                MessageHandler(text, got_reference),
                CallbackQueryHandler(skip_reference, pattern=skip),
            ],
            COMMENT: [
                MessageHandler(text, got_comment),
                CallbackQueryHandler(skip_comment, pattern=skip),
            ],
            CONFIRM: [
                CallbackQueryHandler(save, pattern=buttons.CASH_SAVE.pattern()),
                MessageHandler(~filters.COMMAND, buttons_expected),
            ],
        },
        fallbacks=[cancel_button],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.replaced,
    )
