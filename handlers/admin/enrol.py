"""Registering a reseller in chat: who (a contact shared through Telegram's user picker, or
the id of someone who has started the bot), their name if typed by id, type, collection
limit (postpaid), threshold, then a summary and Save. Saved once: the Save button carries
a nonce minted with the summary, and the flow ends with the first tap.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from telegram import ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import Translator
from bot.money import AmountError
from bot.services import reseller_search, resellers
from bot.services.admin_log import ActionError
from bot.services.resellers import ResellerError
from bot.services.roles import Permission
from handlers import flow
from handlers.admin import enrol_views as views
from handlers.admin import reseller_callbacks as buttons
from handlers.admin import reseller_form_views as form_views
from handlers.admin import views as admin_views
from handlers.admin.reseller_forms import parse_limit
from handlers.common import answer, now, with_permission
from handlers.language import translator
from handlers.reader import Reader
from models import Billing

DRAFT = "reseller_new_draft"
WHO = "enrol:who"
NAME = "enrol:name"
TYPE = "enrol:type"
LIMIT = "enrol:limit"
THRESHOLD = "enrol:threshold"
CONFIRM = "enrol:confirm"


@dataclass
class EnrolDraft(flow.FlowMessage):
    telegram_id: int = 0
    name: str = ""
    username: str | None = None
    billing: str = Billing.PREPAID.value
    limit: int = 0
    threshold: int = 0
    nonce: str = ""


def _draft(context: BotContext) -> EnrolDraft | None:
    return flow.draft(context, DRAFT, EnrolDraft)


async def _say(
    context: BotContext,
    draft: EnrolDraft,
    text: str,
    markup: ReplyKeyboardMarkup | ReplyKeyboardRemove,
) -> None:
    """A message of its own (a reply keyboard cannot go on an edited message)."""
    await context.bot.send_message(draft.chat_id, text, reply_markup=markup)


@with_permission(Permission.RESELLERS)
async def start(update: Update, context: BotContext, t: Translator) -> int | str:
    """The list's New reseller button: ask who, with the user picker under the message."""
    query = update.callback_query
    if query is None or query.message is None:
        return flow.end(context, DRAFT)
    await answer(query)
    # The steps after "who" are a message of their own, sent once the person is known.
    draft = EnrolDraft(query.message.chat.id, 0)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await _say(context, draft, *views.ask_who(t))
    return WHO


async def _who_known(
    context: BotContext, draft: EnrolDraft, r: Reader, telegram_id: int, name: str
) -> int | str:
    """The person is settled: take the picker away, then ask the name or the type."""
    async with context.db.transaction() as session:
        existing = await resellers.load_by_telegram_id(session, telegram_id)
    if existing is not None:
        await _say(context, draft, *views.ask_who(r.t, views.already_registered(existing.name, r)))
        return WHO
    draft.telegram_id, draft.name = telegram_id, name
    await _say(context, draft, *views.chosen(name or str(telegram_id), telegram_id, r))
    if not name:
        await flow.render(context, draft, *views.ask_name(telegram_id, r))
        return NAME
    await flow.render(context, draft, *views.ask_type(name, r))
    return TYPE


@with_permission(Permission.RESELLERS)
async def got_shared(update: Update, context: BotContext, t: Translator) -> int | str:
    """A contact shared through the picker."""
    draft, message = _draft(context), update.effective_message
    if draft is None or message is None or message.users_shared is None:
        return flow.end(context, DRAFT)
    r = Reader.of(context.settings, t)
    shared = message.users_shared
    if shared.request_id != views.PICK_REQUEST_ID or not shared.users:
        await _say(context, draft, *views.ask_who(t, views.not_a_person(t)))
        return WHO
    person = shared.users[0]
    name = " ".join(p for p in (person.first_name, person.last_name) if p)
    draft.username = person.username
    return await _who_known(context, draft, r, person.user_id, name[: resellers.MAX_NAME])


@with_permission(Permission.RESELLERS)
async def got_typed(update: Update, context: BotContext, t: Translator) -> int | str:
    """A typed id (of someone who has started the bot) or @username."""
    draft, message = _draft(context), update.effective_message
    if draft is None or message is None or message.text is None:
        return flow.end(context, DRAFT)
    r = Reader.of(context.settings, t)
    text = message.text.strip()
    if text.startswith("@"):
        found = await reseller_search.by_username(context.db, text)
        problem = (
            views.already_registered(found.name, r)
            if found
            else views.unknown_username(text[1:], r)
        )
        await _say(context, draft, *views.ask_who(t, problem))
        return WHO
    if not text.isdigit() or not 0 < int(text) < 2**63:
        await _say(context, draft, *views.ask_who(t, views.not_a_person(t)))
        return WHO
    telegram_id = int(text)
    async with context.db.transaction() as session:
        existing = await resellers.load_by_telegram_id(session, telegram_id)
    if existing is None and await reseller_search.candidate(context.db, telegram_id) is None:
        await _say(context, draft, *views.ask_who(t, views.unknown_id(telegram_id, t)))
        return WHO
    draft.username = None
    return await _who_known(context, draft, r, telegram_id, "")


@with_permission(Permission.RESELLERS)
async def got_name(update: Update, context: BotContext, t: Translator) -> int | str:
    draft, message = _draft(context), update.effective_message
    if draft is None or message is None or message.text is None:
        return flow.end(context, DRAFT)
    r = Reader.of(context.settings, t)
    try:
        draft.name = reseller_search.check_name(message.text)
    except ActionError as exc:
        problem = form_views.edit_refusal(exc, r)
        await flow.render(context, draft, *views.ask_name(draft.telegram_id, r, problem))
        return NAME
    await flow.render(context, draft, *views.ask_type(draft.name, r))
    return TYPE


@with_permission(Permission.RESELLERS)
async def got_type(update: Update, context: BotContext, t: Translator) -> int | str:
    draft, query = _draft(context), update.callback_query
    if draft is None or query is None:
        return flow.end(context, DRAFT)
    await answer(query)
    r = Reader.of(context.settings, t)
    billing = buttons.NEW_TYPE.parse(context)
    draft.billing = billing.value
    if billing == Billing.POSTPAID:
        await flow.render(context, draft, *views.ask_limit(draft.name, r))
        return LIMIT
    draft.limit = 0
    await flow.render(context, draft, *views.ask_threshold(draft.name, r))
    return THRESHOLD


async def _amount(update: Update, context: BotContext, t: Translator, step: str) -> int | str:
    """The collection limit or the threshold, typed: 0 or more, two decimals at most."""
    draft, message = _draft(context), update.effective_message
    if draft is None or message is None:
        return flow.end(context, DRAFT)
    r = Reader.of(context.settings, t)
    ask = views.ask_limit if step == LIMIT else views.ask_threshold
    try:
        amount = parse_limit(message.text or "")
    except AmountError as exc:
        await flow.render(context, draft, *ask(draft.name, r, form_views.amount_problem(exc, r)))
        return step
    if step == LIMIT:
        draft.limit = amount
        await flow.render(context, draft, *views.ask_threshold(draft.name, r))
        return THRESHOLD
    draft.threshold = amount
    draft.nonce = secrets.token_urlsafe(9)
    screen = views.summary(
        draft.name,
        draft.telegram_id,
        draft.username,
        Billing(draft.billing),
        draft.limit,
        draft.threshold,
        draft.nonce,
        r,
    )
    await flow.render(context, draft, *screen)
    return CONFIRM


@with_permission(Permission.RESELLERS)
async def got_limit(update: Update, context: BotContext, t: Translator) -> int | str:
    return await _amount(update, context, t, LIMIT)


@with_permission(Permission.RESELLERS)
async def got_threshold(update: Update, context: BotContext, t: Translator) -> int | str:
    return await _amount(update, context, t, THRESHOLD)


@with_permission(Permission.RESELLERS)
async def save(update: Update, context: BotContext, t: Translator) -> int | str:
    """Save, once: the summary's nonce must match, and the flow ends here."""
    draft, query, user = _draft(context), update.callback_query, update.effective_user
    if draft is None or query is None or user is None:
        return flow.end(context, DRAFT)
    if buttons.NEW_SAVE.parse(context) != draft.nonce:
        await answer(query)
        return CONFIRM
    await answer(query)
    r = Reader.of(context.settings, t)
    flow.end(context, DRAFT)
    try:
        await resellers.register_reseller(
            context.db,
            telegram_id=draft.telegram_id,
            name=draft.name,
            username=draft.username,
            billing=Billing(draft.billing),
            credit_limit=draft.limit,
            low_balance_threshold=draft.threshold,
            actor=f"tg:{user.id}",
            now=now(context),
            greet=True,
        )
        note = views.registered(t)
    except ResellerError:
        note = views.already_registered(draft.name, r)
    row = await reseller_search.card(
        context.db, draft.telegram_id, now=now(context), zone=context.settings.zone
    )
    await flow.render(context, draft, *admin_views.card(row, r, note))
    return flow.end(context, DRAFT)


async def cancel(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    draft = _draft(context)
    if draft is not None and draft.message_id == 0:
        # Still at "who": the picker is on the keyboard; take it away as we say so.
        if update.callback_query is not None:
            await answer(update.callback_query)
        await _say(context, draft, views.cancelled(t), views.REMOVE_KEYBOARD)
        return flow.end(context, DRAFT)
    return await flow.leave(update, context, DRAFT, views.cancelled(t))


async def timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    draft = _draft(context)
    if draft is not None and draft.message_id == 0:
        await _say(context, draft, views.timed_out(t), views.REMOVE_KEYBOARD)
        flow.end(context, DRAFT)
        return
    await flow.expire(context, DRAFT, views.timed_out(t))


def enrolling() -> flow.Flow:
    cancel_button = CallbackQueryHandler(cancel, pattern=buttons.NEW_CANCEL.pattern())
    typed = filters.TEXT & ~filters.COMMAND
    return flow.Flow(
        name="enrol",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(start, pattern=buttons.NEW.pattern())],
        states={
            WHO: [
                MessageHandler(filters.StatusUpdate.USERS_SHARED, got_shared),
                MessageHandler(typed, got_typed),
            ],
            NAME: [MessageHandler(typed, got_name)],
            TYPE: [CallbackQueryHandler(got_type, pattern=buttons.NEW_TYPE.pattern())],
            LIMIT: [MessageHandler(typed, got_limit)],
            THRESHOLD: [MessageHandler(typed, got_threshold)],
            CONFIRM: [CallbackQueryHandler(save, pattern=buttons.NEW_SAVE.pattern())],
        },
        fallbacks=[cancel_button],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.replaced,
    )
