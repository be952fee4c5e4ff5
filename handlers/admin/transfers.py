"""A reseller's transfers, from its card: allow or forbid sending, set or clear the daily
limit (typed), the recent transfers, and Reverse on each one it sent (the reason, then a
confirmation).

Owners and staff admins allowed credits only, checked on every message and every tap. A
button naming a transfer is checked against the reseller it names and the form under
way; the reversal itself is made once per transfer by the service, so a second tap on
Confirm (even after the form ended) moves nothing and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotApplication, BotContext
from bot.i18n import Translator
from bot.money import AmountError, parse_amount
from bot.services import admin_log, transfer_admin
from bot.services.admin_log import ActionError
from bot.services.roles import Permission
from handlers import flow
from handlers.admin import transfer_callbacks as buttons
from handlers.admin import transfer_views as views
from handlers.common import answer, now, refuse, show, with_permission
from handlers.language import translator
from handlers.reader import Reader

DRAFT = "transfer_admin_draft"
LIMIT, REASON, CONFIRM = "xfadm:limit", "xfadm:reason", "xfadm:confirm"
Step = str | int | None


@dataclass
class TransferAdminDraft(flow.FlowMessage):
    telegram_id: int = 0  # the reseller's
    transfer_id: int = 0  # the transfer to reverse; 0 while setting the limit
    reason: str = ""


def _reader(context: BotContext, t: Translator) -> Reader:
    return Reader.of(context.settings, t)


def _draft(context: BotContext) -> TransferAdminDraft | None:
    return flow.draft(context, DRAFT, TransferAdminDraft)


def _actor(update: Update) -> tuple[str, int]:
    user_id = update.effective_user.id if update.effective_user else 0
    return f"tg:{user_id}", user_id


def _text(update: Update) -> str:
    message = update.effective_message
    return (message.text or "") if message is not None else ""


async def _screen(
    update: Update, context: BotContext, telegram_id: int, r: Reader, page: int = 0, note: str = ""
) -> None:
    try:
        found = await transfer_admin.transfers_page(context.db, telegram_id, page=page)
    except ActionError as exc:
        await refuse(update, views.problem(exc, r))
        return
    await show(update, *views.screen(found, r, note))


# --- the screen ----------------------------------------------------------------------------


@with_permission(Permission.CREDITS)
async def open_screen(update: Update, context: BotContext, t: Translator) -> Step:
    """The transfers screen (also the way back from the limit and the reversal)."""
    telegram_id, page = buttons.SCREEN.parse(context)
    await _screen(update, context, telegram_id, _reader(context, t), page)
    return flow.end(context, DRAFT)


@with_permission(Permission.CREDITS)
async def allow(update: Update, context: BotContext, t: Translator) -> None:
    telegram_id, allowed = buttons.ALLOW.parse(context)
    actor, _ = _actor(update)
    r = _reader(context, t)
    try:
        await transfer_admin.set_allowed(
            context.db, telegram_id=telegram_id, allowed=allowed, actor=actor, now=now(context)
        )
    except ActionError as exc:
        await refuse(update, views.problem(exc, r))
        return
    await _screen(update, context, telegram_id, r)


@with_permission(Permission.CREDITS)
async def clear_limit(update: Update, context: BotContext, t: Translator) -> None:
    telegram_id = buttons.CLEAR.parse(context)
    actor, _ = _actor(update)
    r = _reader(context, t)
    try:
        await transfer_admin.set_daily_limit(
            context.db, telegram_id=telegram_id, limit=None, actor=actor, now=now(context)
        )
    except ActionError as exc:
        await refuse(update, views.problem(exc, r))
        return
    await _screen(update, context, telegram_id, r, note=views.limit_note(None, r))


# --- the daily limit ------------------------------------------------------------------------


@with_permission(Permission.CREDITS)
async def ask_limit(update: Update, context: BotContext, t: Translator) -> Step:
    query, r = update.callback_query, _reader(context, t)
    if query is None or query.message is None or context.user_data is None:
        return flow.end(context, DRAFT)
    telegram_id = buttons.LIMIT.parse(context)
    try:
        found = await transfer_admin.transfers_page(context.db, telegram_id, page=0)
    except ActionError as exc:
        await refuse(update, views.problem(exc, r))
        return flow.end(context, DRAFT)
    await answer(query)
    draft = TransferAdminDraft(query.message.chat.id, query.message.message_id, telegram_id)
    context.user_data[DRAFT] = draft
    await flow.render(context, draft, *views.ask_limit(found, r))
    return LIMIT


@with_permission(Permission.CREDITS)
async def got_limit(update: Update, context: BotContext, t: Translator) -> Step:
    draft, r = _draft(context), _reader(context, t)
    if draft is None:
        return flow.end(context, DRAFT)
    actor, _ = _actor(update)
    try:
        limit = parse_amount(_text(update))
        await transfer_admin.set_daily_limit(
            context.db, telegram_id=draft.telegram_id, limit=limit, actor=actor, now=now(context)
        )
    except AmountError as exc:
        found = await transfer_admin.transfers_page(context.db, draft.telegram_id, page=0)
        await flow.render(context, draft, *views.ask_limit(found, r, views.bad_amount(exc, r)))
        return LIMIT
    except ActionError as exc:
        await refuse(update, views.problem(exc, r))
        return flow.end(context, DRAFT)
    found = await transfer_admin.transfers_page(context.db, draft.telegram_id, page=0)
    await flow.render(context, draft, *views.screen(found, r, views.limit_note(limit, r)))
    return flow.end(context, DRAFT)


# --- reversing a transfer -------------------------------------------------------------------


@with_permission(Permission.CREDITS)
async def ask_reason(update: Update, context: BotContext, t: Translator) -> Step:
    query, r = update.callback_query, _reader(context, t)
    if query is None or query.message is None or context.user_data is None:
        return flow.end(context, DRAFT)
    telegram_id, transfer_id = buttons.REVERSE.parse(context)
    try:
        found = await transfer_admin.reversible(context.db, transfer_id, telegram_id)
    except ActionError as exc:
        await refuse(update, views.problem(exc, r))
        return flow.end(context, DRAFT)
    if found.transfer.reversed_by is not None:
        await refuse(update, views.already_reversed(t))
        return flow.end(context, DRAFT)
    await answer(query)
    draft = TransferAdminDraft(
        query.message.chat.id, query.message.message_id, telegram_id, transfer_id
    )
    context.user_data[DRAFT] = draft
    await flow.render(context, draft, *views.ask_reason(found, r))
    return REASON


@with_permission(Permission.CREDITS)
async def got_reason(update: Update, context: BotContext, t: Translator) -> Step:
    draft, r = _draft(context), _reader(context, t)
    if draft is None:
        return flow.end(context, DRAFT)
    try:
        found = await transfer_admin.reversible(context.db, draft.transfer_id, draft.telegram_id)
    except ActionError as exc:
        await refuse(update, views.problem(exc, r))
        return flow.end(context, DRAFT)
    try:
        reason = admin_log.check_reason(_text(update))
    except ActionError as exc:
        await flow.render(context, draft, *views.ask_reason(found, r, views.problem(exc, r)))
        return REASON
    if reason is None:
        await flow.render(context, draft, *views.ask_reason(found, r, views.no_reason(t)))
        return REASON
    draft.reason = reason
    await flow.render(context, draft, *views.confirm(found, reason, r))
    return CONFIRM


@with_permission(Permission.CREDITS)
async def confirmed(update: Update, context: BotContext, t: Translator) -> Step:
    """↩️ Confirm the reversal: made once per transfer, then the screen says what it did."""
    draft, r = _draft(context), _reader(context, t)
    telegram_id, transfer_id = buttons.CONFIRM.parse(context)
    if draft is None or (draft.telegram_id, draft.transfer_id) != (telegram_id, transfer_id):
        await confirmed_before(update, context)
        return None
    if update.callback_query is not None:
        await answer(update.callback_query)
    actor, actor_id = _actor(update)
    try:
        done = await transfer_admin.reverse(
            context.db,
            transfer_id=transfer_id,
            telegram_id=telegram_id,
            reason=draft.reason,
            actor=actor,
            actor_telegram_id=actor_id,
            now=now(context),
        )
    except ActionError as exc:
        found = await transfer_admin.transfers_page(context.db, telegram_id, page=0)
        await flow.render(context, draft, *views.screen(found, r, views.problem(exc, r)))
        return flow.end(context, DRAFT)
    found = await transfer_admin.transfers_page(context.db, telegram_id, page=0)
    await flow.render(context, draft, *views.screen(found, r, views.reversed_note(done, r)))
    return flow.end(context, DRAFT)


@with_permission(Permission.CREDITS)
async def confirmed_before(update: Update, context: BotContext, t: Translator) -> None:
    """A Confirm tapped again once done, or from a form no longer open: nothing moves."""
    query = update.callback_query
    if query is None:
        return
    telegram_id, transfer_id = buttons.CONFIRM.parse(context)
    try:
        found = await transfer_admin.reversible(context.db, transfer_id, telegram_id)
    except ActionError as exc:
        await answer(query, views.problem(exc, _reader(context, t)), alert=True)
        return
    done = found.transfer.reversed_by is not None
    await answer(query, views.already_reversed(t) if done else views.no_longer_open(t), alert=True)


@with_permission(Permission.CREDITS)
async def text_expected(update: Update, context: BotContext, t: Translator) -> Step:
    """Something other than text where the form asks for a typed answer."""
    await refuse(update, views.use_buttons(t))
    return None


@with_permission(Permission.CREDITS)
async def confirm_expected(update: Update, context: BotContext, t: Translator) -> Step:
    """Anything typed on the reversal's confirmation: say which buttons, it stays."""
    await refuse(update, views.confirm_expected(t))
    return None


async def cancel(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, DRAFT, views.cancelled(t))


async def timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, DRAFT, views.timed_out(t))


def form() -> flow.Flow:
    """The daily limit's prompt and the reversal's reason and confirmation."""
    text = filters.TEXT & ~filters.COMMAND
    back = CallbackQueryHandler(open_screen, pattern=buttons.SCREEN.pattern())
    other = MessageHandler(~filters.COMMAND & ~filters.TEXT, text_expected)
    return flow.Flow(
        name="xfadm",
        draft_key=DRAFT,
        entry_points=[
            CallbackQueryHandler(ask_limit, pattern=buttons.LIMIT.pattern()),
            CallbackQueryHandler(ask_reason, pattern=buttons.REVERSE.pattern()),
        ],
        states={
            LIMIT: [MessageHandler(text, got_limit), back, other],
            REASON: [MessageHandler(text, got_reason), back, other],
            CONFIRM: [
                CallbackQueryHandler(confirmed, pattern=buttons.CONFIRM.pattern()),
                back,
                MessageHandler(~filters.COMMAND, confirm_expected),
            ],
        },
        fallbacks=[],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.replaced,
    )


def register(app: BotApplication) -> None:
    """The screen's buttons outside the form, and a Confirm tapped after it ended."""
    for codec, callback in (
        (buttons.SCREEN, open_screen),
        (buttons.ALLOW, allow),
        (buttons.CLEAR, clear_limit),
        (buttons.CONFIRM, confirmed_before),
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
