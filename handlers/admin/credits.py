"""Adding or removing a reseller's credit, as reseller panels do it: a form opened from
the reseller's card (action, transaction type, credits, comment, expiry for an addition),
then a summary with the balance before and after, and Save.

Owners and staff admins allowed credits only, checked on every message and every tap; a
button naming another reseller than the form's changes nothing. Save carries a nonce
minted with the summary and the movement is keyed by it, so it is saved once however
often it is tapped. The movement, its log entry and the reseller's notice are
``wallet.add_credit`` / ``wallet.remove_credit``, as the CLI's.
"""

from __future__ import annotations

import datetime as dt
import secrets

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import Translator
from bot.money import AmountError, parse_amount
from bot.services import credits, ledger, wallet
from bot.services.admin_log import ActionError
from bot.services.credits import Action, TooMuchToRemove
from bot.services.resellers import ResellerError
from bot.services.roles import Permission
from handlers import flow
from handlers.admin import callbacks, directory, views
from handlers.admin import credit_callbacks as buttons
from handlers.admin import credit_views as cviews
from handlers.admin.credit_draft import (
    ACTION,
    AMOUNT,
    COMMENT,
    CONFIRM,
    DRAFT,
    EXPIRY,
    TYPE,
    CreditDraft,
)
from handlers.calendar import TapKind
from handlers.common import answer, now, refuse, with_permission
from handlers.language import translator
from handlers.reader import Reader

Step = str | int | None  # the next state; None stays where the form is


def _reader(context: BotContext, t: Translator) -> Reader:
    return Reader.of(context.settings, t)


def _draft(context: BotContext) -> CreditDraft | None:
    return flow.draft(context, DRAFT, CreditDraft)


def _key(user_id: int, nonce: str) -> str:
    """The movement's idempotency key: the admin and the nonce of the summary they saw."""
    return f"credit:{user_id}:{nonce}"


async def _ours(
    update: Update, context: BotContext, telegram_id: int, r: Reader
) -> CreditDraft | None:
    """The form under way if the tapped button is about its reseller; otherwise the tap
    is refused and nothing changes."""
    draft = _draft(context)
    if draft is not None and draft.telegram_id == telegram_id:
        return draft
    await refuse(update, cviews.another_form(r.t))
    return None


async def _show(
    update: Update,
    context: BotContext,
    draft: CreditDraft,
    r: Reader,
    step: str,
    problem: str = "",
    shown: dt.date | None = None,
) -> Step:
    """Show ``step`` for the form as it is now, on the form's message; ``problem`` says
    what was wrong with the last answer, ``shown`` is the calendar's month."""
    moment = now(context)
    try:
        current = await wallet.balance_summary(context.db, draft.telegram_id, now=moment)
    except ResellerError as exc:
        await refuse(update, views.refusal(exc, r))
        return flow.end(context, DRAFT)
    if update.callback_query is not None:
        await answer(update.callback_query)
    who, balance = current.reseller, current.balance
    if step == ACTION:
        screen = cviews.ask_action(who, draft, r, problem)
    elif step == TYPE:
        screen = cviews.ask_type(who, draft, r, problem)
    elif step == AMOUNT:
        maximum = credits.removable(balance) if draft.action == Action.REMOVE else None
        screen = cviews.ask_amount(who, draft, maximum, r, problem)
    elif step == COMMENT:
        screen = cviews.ask_comment(who, draft, r, problem)
    elif step == EXPIRY:
        first = credits.today(moment, context.settings.zone)
        last = credits.latest_day(first)
        screen = cviews.ask_expiry(who, draft, shown or first, first, last, r, problem)
    else:
        draft.nonce = secrets.token_urlsafe(9)  # a fresh one per summary: Save is keyed by it
        screen = cviews.summary(who, draft, balance, r, problem)
    await flow.render(context, draft, *screen)
    return step


def _text(update: Update) -> str:
    message = update.effective_message
    return message.text or "" if message is not None else ""


# --- the steps ---------------------------------------------------------------------------


@with_permission(Permission.CREDITS)
async def open_form(update: Update, context: BotContext, t: Translator) -> Step:
    """Entry, from the reseller's card: ask whether to add or remove."""
    query = update.callback_query
    if query is None or query.message is None or context.user_data is None:
        return flow.end(context, DRAFT)
    draft = CreditDraft(
        query.message.chat.id, query.message.message_id, buttons.OPEN.parse(context)
    )
    context.user_data[DRAFT] = draft
    return await _show(update, context, draft, _reader(context, t), ACTION)


@with_permission(Permission.CREDITS)
async def chose_action(update: Update, context: BotContext, t: Translator) -> Step:
    r = _reader(context, t)
    telegram_id, action = buttons.ACTION.parse(context)
    draft = await _ours(update, context, telegram_id, r)
    if draft is None:
        return None
    draft.action = action
    if action == Action.REMOVE:
        draft.expires_on = None  # only added credits expire
    return await _show(update, context, draft, r, TYPE)


@with_permission(Permission.CREDITS)
async def chose_type(update: Update, context: BotContext, t: Translator) -> Step:
    r = _reader(context, t)
    telegram_id, tx_type = buttons.TYPE.parse(context)
    draft = await _ours(update, context, telegram_id, r)
    if draft is None:
        return None
    draft.tx_type = tx_type
    return await _show(update, context, draft, r, AMOUNT)


@with_permission(Permission.CREDITS)
async def got_amount(update: Update, context: BotContext, t: Translator) -> Step:
    r, draft = _reader(context, t), _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    try:
        amount = parse_amount(_text(update))
    except AmountError as exc:
        return await _show(update, context, draft, r, AMOUNT, cviews.bad_amount(exc, r))
    if draft.action == Action.REMOVE:
        current = await wallet.balance_summary(context.db, draft.telegram_id, now=now(context))
        maximum = credits.removable(current.balance)
        if amount > maximum:
            return await _show(update, context, draft, r, AMOUNT, cviews.too_much(maximum, r))
    draft.amount = amount
    return await _show(update, context, draft, r, COMMENT)


def _after_comment(draft: CreditDraft) -> str:
    return EXPIRY if draft.action == Action.ADD else CONFIRM


@with_permission(Permission.CREDITS)
async def got_comment(update: Update, context: BotContext, t: Translator) -> Step:
    r, draft = _reader(context, t), _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    try:
        draft.comment = credits.check_comment(_text(update))
    except ActionError as exc:
        return await _show(update, context, draft, r, COMMENT, cviews.problem(exc, r))
    return await _show(update, context, draft, r, _after_comment(draft))


@with_permission(Permission.CREDITS)
async def skip_comment(update: Update, context: BotContext, t: Translator) -> Step:
    r = _reader(context, t)
    draft = await _ours(update, context, buttons.SKIP.parse(context), r)
    if draft is None:
        return None
    draft.comment = None
    return await _show(update, context, draft, r, _after_comment(draft))


async def _expires_on(
    update: Update, context: BotContext, draft: CreditDraft, r: Reader, day: dt.date
) -> Step:
    """The last day picked or typed: refused if past (or too far), else the summary."""
    try:
        credits.expiry(day, now=now(context), zone=context.settings.zone)
    except ActionError as exc:
        return await _show(update, context, draft, r, EXPIRY, cviews.problem(exc, r), day)
    draft.expires_on = day.isoformat()
    return await _show(update, context, draft, r, CONFIRM)


@with_permission(Permission.CREDITS)
async def got_date(update: Update, context: BotContext, t: Translator) -> Step:
    r, draft = _reader(context, t), _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    try:
        day = credits.parse_day(_text(update))
    except ActionError as exc:
        return await _show(update, context, draft, r, EXPIRY, cviews.problem(exc, r))
    return await _expires_on(update, context, draft, r, day)


@with_permission(Permission.CREDITS)
async def calendar_tap(update: Update, context: BotContext, t: Translator) -> Step:
    """A day picked, another month, or a label (which does nothing)."""
    r, tap = _reader(context, t), buttons.CALENDAR.parse(context)
    draft = await _ours(update, context, tap.scope, r)
    if draft is None:
        return None
    if tap.kind == TapKind.MONTH and tap.day is not None:
        return await _show(update, context, draft, r, EXPIRY, shown=tap.day)
    if tap.kind == TapKind.DAY and tap.day is not None:
        return await _expires_on(update, context, draft, r, tap.day)
    if update.callback_query is not None:
        await answer(update.callback_query)
    return None


@with_permission(Permission.CREDITS)
async def skip_expiry(update: Update, context: BotContext, t: Translator) -> Step:
    r = _reader(context, t)
    draft = await _ours(update, context, buttons.SKIP.parse(context), r)
    if draft is None:
        return None
    draft.expires_on = None
    return await _show(update, context, draft, r, CONFIRM)


@with_permission(Permission.CREDITS)
async def save(update: Update, context: BotContext, t: Translator) -> Step:
    """Save: the movement keyed by the summary's nonce, then the card with what was done."""
    r, user = _reader(context, t), update.effective_user
    telegram_id, nonce = buttons.SAVE.parse(context)
    draft = await _ours(update, context, telegram_id, r)
    if draft is None or user is None:
        return None
    if nonce != draft.nonce or draft.action is None:
        await saved_before(update, context)
        return None
    amount, tx_type, moment = draft.amount or 0, draft.tx_type, now(context)
    actor, key, comment = f"tg:{user.id}", _key(user.id, nonce), draft.comment
    try:
        if tx_type is None or amount <= 0:
            raise ledger.InvalidEntry("the form is incomplete")
        if draft.action == Action.ADD:
            day, zone = draft.last_day, context.settings.zone
            expires_at = credits.expiry(day, now=moment, zone=zone) if day else None
            change = await wallet.add_credit(
                context.db,
                telegram_id=telegram_id,
                amount=amount,
                tx_type=tx_type,
                actor=actor,
                key=key,
                now=moment,
                comment=comment,
                expires_at=expires_at,
                tell=True,
            )
        else:
            change = await wallet.remove_credit(
                context.db,
                telegram_id=telegram_id,
                amount=amount,
                tx_type=tx_type,
                actor=actor,
                key=key,
                comment=comment,
                now=moment,
                tell=True,
            )
    except TooMuchToRemove as exc:  # the balance moved since the summary
        draft.amount = None
        return await _show(update, context, draft, r, AMOUNT, cviews.too_much(exc.maximum, r))
    except ActionError as exc:  # the day picked is past now (midnight went by)
        draft.expires_on = None
        return await _show(update, context, draft, r, EXPIRY, cviews.problem(exc, r))
    except ledger.InvalidEntry:
        return await _show(update, context, draft, r, ACTION)
    except ResellerError as exc:
        await refuse(update, views.refusal(exc, r))
        return flow.end(context, DRAFT)
    note = cviews.saved(change, draft.action, r)
    await directory.show_card(update, context, telegram_id, r, note)
    return flow.end(context, DRAFT)


@with_permission(Permission.CREDITS)
async def saved_before(update: Update, context: BotContext, t: Translator) -> None:
    """A Save from an older summary, or tapped again once saved: nothing moves again."""
    user, query = update.effective_user, update.callback_query
    if user is None or query is None:
        return
    _, nonce = buttons.SAVE.parse(context)
    done = await wallet.moved(context.db, _key(user.id, nonce))
    text = cviews.already_saved(t) if done else cviews.no_longer_open(t)
    await answer(query, text, alert=True)


@with_permission(Permission.CREDITS)
async def buttons_expected(update: Update, context: BotContext, t: Translator) -> Step:
    """Text where the step asks for a button (add or remove, the type, Save): ask again."""
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    step = ACTION if draft.action is None else TYPE if draft.tx_type is None else CONFIRM
    return await _show(update, context, draft, _reader(context, t), step, cviews.use_buttons(t))


@with_permission(Permission.CREDITS)
async def back_to_card(update: Update, context: BotContext, t: Translator) -> Step:
    """Cancel: the card again, nothing moved."""
    await directory.show_card(update, context, callbacks.CARD.parse(context), _reader(context, t))
    return flow.end(context, DRAFT)


async def cancel(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, DRAFT, cviews.cancelled(t))


async def timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, DRAFT, cviews.timed_out(t))


def credit_form() -> flow.Flow:
    """The add / remove credit form, for the one conversation all flows share."""
    text = filters.TEXT & ~filters.COMMAND
    card = CallbackQueryHandler(back_to_card, pattern=callbacks.CARD.pattern())
    expected = MessageHandler(~filters.COMMAND, buttons_expected)
    return flow.Flow(
        name="credit",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(open_form, pattern=buttons.OPEN.pattern())],
        states={
            ACTION: [
                CallbackQueryHandler(chose_action, pattern=buttons.ACTION.pattern()),
                card,
                expected,
            ],
            TYPE: [
                CallbackQueryHandler(chose_type, pattern=buttons.TYPE.pattern()),
                card,
                expected,
            ],
            AMOUNT: [MessageHandler(text, got_amount), card],
            COMMENT: [
                MessageHandler(text, got_comment),
                CallbackQueryHandler(skip_comment, pattern=buttons.SKIP.pattern()),
                card,
            ],
            EXPIRY: [
                MessageHandler(text, got_date),
                CallbackQueryHandler(calendar_tap, pattern=buttons.CALENDAR.pattern()),
                CallbackQueryHandler(skip_expiry, pattern=buttons.SKIP.pattern()),
                card,
            ],
            CONFIRM: [CallbackQueryHandler(save, pattern=buttons.SAVE.pattern()), card, expected],
        },
        fallbacks=[],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=cviews.replaced,
    )
