"""A parent adds credits to its sub-reseller or takes them back: the admin's form (action,
transaction type, credits, comment, expiry for an addition), then a summary with both
balances before and after (for an addition, which of its credits keep an expiry sooner
than the day chosen: ``allocation.sooner``), and Save.

The asker and the sub-reseller are checked in the database on every message and every tap
(``allocation.balances`` refuses anyone not the asker's own child); a button naming another
sub-reseller than the form's changes nothing. Save carries a nonce minted with the summary
and the movement is keyed by it, so it is saved once however often it is tapped.
"""

from __future__ import annotations

import datetime as dt
import secrets

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.money import AmountError, parse_amount
from bot.services import allocation, credits
from bot.services.admin_log import ActionError
from bot.services.credits import Action
from bot.services.downline import DownlineError
from bot.services.grants import Part
from handlers import flow
from handlers.admin import credit_views as admin_credit_views
from handlers.calendar import TapKind
from handlers.common import answer, now, refuse
from handlers.downline import callbacks as buttons
from handlers.downline import form_views as fviews
from handlers.downline import views
from handlers.downline.drafts import AllocationDraft
from handlers.downline.screens import parent, show_card
from handlers.language import translator
from handlers.reader import Reader
from models import TxType

DRAFT = "allocation_draft"
ACTION, TYPE, AMOUNT, COMMENT, EXPIRY, CONFIRM = (
    "alloc:action",
    "alloc:type",
    "alloc:amount",
    "alloc:comment",
    "alloc:expiry",
    "alloc:confirm",
)
Step = str | int | None  # the next state; None stays where the form is


def _draft(context: BotContext) -> AllocationDraft | None:
    return flow.draft(context, DRAFT, AllocationDraft)


async def _asker(update: Update, context: BotContext) -> tuple[Reader, int] | None:
    t = await translator(update, context)
    me = await parent(update, context, t)
    return None if me is None else (Reader.of(context.settings, t), me.telegram_id)


async def _ours(
    update: Update, context: BotContext, telegram_id: int, r: Reader
) -> AllocationDraft | None:
    draft = _draft(context)
    if draft is not None and draft.telegram_id == telegram_id:
        return draft
    await refuse(update, fviews.another_form(r.t))
    return None


async def _show(
    update: Update,
    context: BotContext,
    draft: AllocationDraft,
    r: Reader,
    step: str,
    problem: str = "",
    shown: dt.date | None = None,
) -> Step:
    """Show ``step`` for the form as it is now, with both balances read again."""
    me = await parent(update, context, r.t)
    if me is None:
        return flow.end(context, DRAFT)
    try:
        b = await allocation.balances(context.db, me.telegram_id, draft.telegram_id)
    except DownlineError as exc:
        await refuse(update, views.refusal(exc, r))
        return flow.end(context, DRAFT)
    if update.callback_query is not None:
        await answer(update.callback_query)
    if step == ACTION:
        screen = fviews.ask_action(b, draft, r, problem)
    elif step == TYPE:
        screen = fviews.ask_type(b, draft, r, problem)
    elif step == AMOUNT:
        screen = fviews.ask_amount(b, draft, r, problem)
    elif step == COMMENT:
        screen = fviews.ask_comment(b, draft, r, problem)
    elif step == EXPIRY:
        first = credits.today(now(context), context.settings.zone)
        last = credits.latest_day(first)
        screen = fviews.ask_expiry(b, draft, shown or first, first, last, r, problem)
    else:
        draft.nonce = secrets.token_urlsafe(9)  # a fresh one per summary: Save is keyed by it
        sooner = await _sooner(context, me.telegram_id, draft)
        screen = fviews.summary(b, draft, r, problem, sooner)
    await flow.render(context, draft, *screen)
    return step


async def _sooner(context: BotContext, me: int, draft: AllocationDraft) -> list[Part]:
    """For an addition: its parts that keep an expiry sooner than the day chosen."""
    if draft.action != Action.ADD or not draft.amount:
        return []
    day, zone = draft.last_day, context.settings.zone
    try:
        expires_at = credits.expiry(day, now=now(context), zone=zone) if day else None
    except ActionError:  # the day went by since it was chosen: Save asks for another
        return []
    return await allocation.sooner(context.db, me, draft.telegram_id, draft.amount, expires_at)


def _text(update: Update) -> str:
    message = update.effective_message
    return message.text or "" if message is not None else ""


async def open_form(update: Update, context: BotContext) -> Step:
    """Entry, from the sub-reseller's card: ask whether to add or remove."""
    query, asker = update.callback_query, await _asker(update, context)
    if query is None or query.message is None or context.user_data is None or asker is None:
        return flow.end(context, DRAFT)
    draft = AllocationDraft(
        query.message.chat.id, query.message.message_id, buttons.CREDITS.parse(context)
    )
    context.user_data[DRAFT] = draft
    return await _show(update, context, draft, asker[0], ACTION)


async def chose_action(update: Update, context: BotContext) -> Step:
    asker = await _asker(update, context)
    if asker is None:
        return flow.end(context, DRAFT)
    telegram_id, action = buttons.ACTION.parse(context)
    draft = await _ours(update, context, telegram_id, asker[0])
    if draft is None:
        return None
    draft.action = Action(action)
    if draft.action == Action.REMOVE:
        draft.expires_on = None  # only added credits expire
    return await _show(update, context, draft, asker[0], TYPE)


async def chose_type(update: Update, context: BotContext) -> Step:
    asker = await _asker(update, context)
    if asker is None:
        return flow.end(context, DRAFT)
    telegram_id, tx_type = buttons.TYPE.parse(context)
    draft = await _ours(update, context, telegram_id, asker[0])
    if draft is None:
        return None
    draft.tx_type = TxType(tx_type)
    return await _show(update, context, draft, asker[0], AMOUNT)


async def got_amount(update: Update, context: BotContext) -> Step:
    draft, asker = _draft(context), await _asker(update, context)
    if draft is None or asker is None:
        return flow.end(context, DRAFT)
    (r, me), action = asker, draft.action or Action.ADD
    try:
        amount = parse_amount(_text(update))
    except AmountError as exc:
        problem = admin_credit_views.bad_amount(exc, r)
        return await _show(update, context, draft, r, AMOUNT, problem)
    try:
        allocation.check(
            action, amount, await allocation.balances(context.db, me, draft.telegram_id)
        )
    except DownlineError as exc:
        return await _show(update, context, draft, r, AMOUNT, views.refusal(exc, r))
    draft.amount = amount
    return await _show(update, context, draft, r, COMMENT)


def _after_comment(draft: AllocationDraft) -> str:
    return EXPIRY if draft.action == Action.ADD else CONFIRM


async def got_comment(update: Update, context: BotContext) -> Step:
    draft, asker = _draft(context), await _asker(update, context)
    if draft is None or asker is None:
        return flow.end(context, DRAFT)
    r = asker[0]
    try:
        draft.comment = credits.check_comment(_text(update))
    except ActionError as exc:
        problem = admin_credit_views.problem(exc, r)
        return await _show(update, context, draft, r, COMMENT, problem)
    return await _show(update, context, draft, r, _after_comment(draft))


async def skip_comment(update: Update, context: BotContext) -> Step:
    asker = await _asker(update, context)
    if asker is None:
        return flow.end(context, DRAFT)
    draft = await _ours(update, context, buttons.SKIP.parse(context), asker[0])
    if draft is None:
        return None
    draft.comment = None
    return await _show(update, context, draft, asker[0], _after_comment(draft))


async def skip_expiry(update: Update, context: BotContext) -> Step:
    asker = await _asker(update, context)
    if asker is None:
        return flow.end(context, DRAFT)
    draft = await _ours(update, context, buttons.SKIP.parse(context), asker[0])
    if draft is None:
        return None
    draft.expires_on = None
    return await _show(update, context, draft, asker[0], CONFIRM)


async def _expires_on(
    update: Update, context: BotContext, draft: AllocationDraft, r: Reader, day: dt.date
) -> Step:
    try:
        credits.expiry(day, now=now(context), zone=context.settings.zone)
    except ActionError as exc:
        problem = admin_credit_views.problem(exc, r)
        return await _show(update, context, draft, r, EXPIRY, problem, day)
    draft.expires_on = day.isoformat()
    return await _show(update, context, draft, r, CONFIRM)


async def got_date(update: Update, context: BotContext) -> Step:
    draft, asker = _draft(context), await _asker(update, context)
    if draft is None or asker is None:
        return flow.end(context, DRAFT)
    r = asker[0]
    try:
        day = credits.parse_day(_text(update))
    except ActionError as exc:
        return await _show(update, context, draft, r, EXPIRY, admin_credit_views.problem(exc, r))
    return await _expires_on(update, context, draft, r, day)


async def calendar_tap(update: Update, context: BotContext) -> Step:
    asker = await _asker(update, context)
    if asker is None:
        return flow.end(context, DRAFT)
    r, tap = asker[0], buttons.CALENDAR.parse(context)
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


async def save(update: Update, context: BotContext) -> Step:
    """Save: the movement keyed by the summary's nonce, then the card with what was done."""
    asker = await _asker(update, context)
    if asker is None:
        return flow.end(context, DRAFT)
    (r, me), (telegram_id, nonce) = asker, buttons.SAVE.parse(context)
    draft = await _ours(update, context, telegram_id, r)
    if draft is None:
        return None
    if nonce != draft.nonce or draft.action is None or draft.tx_type is None or not draft.amount:
        await saved_before(update, context)
        return None
    moment = now(context)
    day, zone = draft.last_day, context.settings.zone
    try:
        expires_at = credits.expiry(day, now=moment, zone=zone) if day else None
        done = await allocation.save(
            context.db,
            parent_telegram_id=me,
            child_telegram_id=telegram_id,
            action=draft.action,
            amount=draft.amount,
            tx_type=draft.tx_type,
            nonce=nonce,
            now=moment,
            comment=draft.comment,
            expires_at=expires_at,
        )
    except DownlineError as exc:
        if exc.code in ("parent_short", "remove_too_much"):  # the balances moved since
            draft.amount = None
            return await _show(update, context, draft, r, AMOUNT, views.refusal(exc, r))
        await refuse(update, views.refusal(exc, r))
        return flow.end(context, DRAFT)
    except ActionError as exc:  # the day picked is past now (midnight went by)
        draft.expires_on = None
        return await _show(update, context, draft, r, EXPIRY, admin_credit_views.problem(exc, r))
    await show_card(update, context, telegram_id, r, fviews.saved(done, r))
    return flow.end(context, DRAFT)


async def saved_before(update: Update, context: BotContext) -> None:
    """A Save from an older summary, or tapped again once saved: nothing moves again."""
    query, asker = update.callback_query, await _asker(update, context)
    if query is None or asker is None:
        return
    (r, me), (_, nonce) = asker, buttons.SAVE.parse(context)
    done = await allocation.moved(context.db, me, nonce)
    text = fviews.already_saved(r.t) if done else fviews.no_longer_open(r.t)
    await answer(query, text, alert=True)


async def buttons_expected(update: Update, context: BotContext) -> Step:
    """Text where the step asks for a button (add or remove, the type, Save): ask again."""
    draft, asker = _draft(context), await _asker(update, context)
    if draft is None or asker is None:
        return flow.end(context, DRAFT)
    step = ACTION if draft.action is None else TYPE if draft.tx_type is None else CONFIRM
    return await _show(update, context, draft, asker[0], step, fviews.use_buttons(asker[0].t))


async def back_to_card(update: Update, context: BotContext) -> Step:
    """Cancel: the card again, nothing moved."""
    t = await translator(update, context)
    await show_card(update, context, buttons.CARD.parse(context), Reader.of(context.settings, t))
    return flow.end(context, DRAFT)


async def cancel(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, DRAFT, fviews.cancelled(t))


async def timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, DRAFT, fviews.timed_out(t))


def allocating() -> flow.Flow:
    """The parent's add / remove credit form, for the one conversation all flows share."""
    text = filters.TEXT & ~filters.COMMAND
    card = CallbackQueryHandler(back_to_card, pattern=buttons.CARD.pattern())
    expected = MessageHandler(~filters.COMMAND, buttons_expected)
    return flow.Flow(
        name="alloc",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(open_form, pattern=buttons.CREDITS.pattern())],
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
        replaced_text=fviews.replaced,
    )
