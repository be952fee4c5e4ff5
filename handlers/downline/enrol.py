"""A parent registers a sub-reseller: who (a contact shared through Telegram's user picker,
or the typed id of someone who has started the bot), their name if typed by id, the
low-balance threshold, a summary and Save. Saved once: Save carries a nonce minted with the
summary, and the flow ends with the first tap. The newcomer is prepaid, one level less deep
than the parent, and greeted in their language.

The asker is checked on every step: an active reseller allowed sub-resellers.
"""

from __future__ import annotations

import secrets

from telegram import ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.money import AmountError
from bot.services import downline, reseller_search, resellers
from bot.services.admin_log import ActionError
from handlers import flow
from handlers.admin import reseller_form_views as form_views
from handlers.admin.reseller_forms import parse_limit
from handlers.common import answer, now
from handlers.downline import callbacks as buttons
from handlers.downline import views
from handlers.downline.drafts import SubResellerDraft
from handlers.downline.screens import parent, show_card
from handlers.language import translator
from handlers.reader import Reader

DRAFT = "downline_new_draft"
WHO = "subreg:who"
NAME = "subreg:name"
THRESHOLD = "subreg:threshold"
CONFIRM = "subreg:confirm"


def _draft(context: BotContext) -> SubResellerDraft | None:
    return flow.draft(context, DRAFT, SubResellerDraft)


async def _say(
    context: BotContext,
    draft: SubResellerDraft,
    text: str,
    markup: ReplyKeyboardMarkup | ReplyKeyboardRemove,
) -> None:
    """A message of its own (a reply keyboard cannot go on an edited message)."""
    await context.bot.send_message(draft.chat_id, text, reply_markup=markup)


async def _asker(update: Update, context: BotContext) -> tuple[Reader, int] | None:
    """The reader and the parent's Telegram id, if the asker may register sub-resellers."""
    t = await translator(update, context)
    me = await parent(update, context, t)
    return None if me is None else (Reader.of(context.settings, t), me.telegram_id)


async def start(update: Update, context: BotContext) -> int | str:
    """The list's Register button: ask who, with the user picker under the message."""
    query, asker = update.callback_query, await _asker(update, context)
    if query is None or query.message is None or asker is None:
        return flow.end(context, DRAFT)
    await answer(query)
    draft = SubResellerDraft(query.message.chat.id, 0)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await _say(context, draft, *views.ask_who(asker[0].t))
    return WHO


async def _who_known(
    context: BotContext, draft: SubResellerDraft, r: Reader, telegram_id: int, name: str
) -> int | str:
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
    await flow.render(context, draft, *views.ask_threshold(name, r))
    return THRESHOLD


async def got_shared(update: Update, context: BotContext) -> int | str:
    """A contact shared through the picker."""
    draft, message, asker = _draft(context), update.effective_message, await _asker(update, context)
    if draft is None or message is None or message.users_shared is None or asker is None:
        return flow.end(context, DRAFT)
    r, shared = asker[0], message.users_shared
    if shared.request_id != buttons.PICKER or not shared.users:
        await _say(context, draft, *views.ask_who(r.t, views.not_a_person(r.t)))
        return WHO
    person = shared.users[0]
    name = " ".join(p for p in (person.first_name, person.last_name) if p)
    draft.username = person.username
    return await _who_known(context, draft, r, person.user_id, name[: resellers.MAX_NAME])


async def got_typed(update: Update, context: BotContext) -> int | str:
    """A typed id (of someone who has started the bot) or @username."""
    draft, message, asker = _draft(context), update.effective_message, await _asker(update, context)
    if draft is None or message is None or message.text is None or asker is None:
        return flow.end(context, DRAFT)
    r, text = asker[0], message.text.strip()
    if text.startswith("@"):
        found = await reseller_search.by_username(context.db, text)
        problem = (
            views.already_registered(found.name, r)
            if found
            else views.unknown_username(text[1:], r)
        )
        await _say(context, draft, *views.ask_who(r.t, problem))
        return WHO
    if not text.isdigit() or not 0 < int(text) < 2**63:
        await _say(context, draft, *views.ask_who(r.t, views.not_a_person(r.t)))
        return WHO
    telegram_id = int(text)
    async with context.db.transaction() as session:
        existing = await resellers.load_by_telegram_id(session, telegram_id)
    if existing is None and await reseller_search.candidate(context.db, telegram_id) is None:
        await _say(context, draft, *views.ask_who(r.t, views.unknown_id(telegram_id, r.t)))
        return WHO
    draft.username = None
    return await _who_known(context, draft, r, telegram_id, "")


async def got_name(update: Update, context: BotContext) -> int | str:
    draft, message, asker = _draft(context), update.effective_message, await _asker(update, context)
    if draft is None or message is None or message.text is None or asker is None:
        return flow.end(context, DRAFT)
    r = asker[0]
    try:
        draft.name = reseller_search.check_name(message.text)
    except ActionError as exc:
        problem = form_views.edit_refusal(exc, r)
        await flow.render(context, draft, *views.ask_name(draft.telegram_id, r, problem))
        return NAME
    await flow.render(context, draft, *views.ask_threshold(draft.name, r))
    return THRESHOLD


async def got_threshold(update: Update, context: BotContext) -> int | str:
    draft, message, asker = _draft(context), update.effective_message, await _asker(update, context)
    if draft is None or message is None or asker is None:
        return flow.end(context, DRAFT)
    r = asker[0]
    try:
        draft.threshold = parse_limit(message.text or "")
    except AmountError as exc:
        problem = form_views.amount_problem(exc, r)
        await flow.render(context, draft, *views.ask_threshold(draft.name, r, problem))
        return THRESHOLD
    draft.nonce = secrets.token_urlsafe(9)
    screen = views.summary(
        draft.name, draft.telegram_id, draft.username, draft.threshold, draft.nonce, r
    )
    await flow.render(context, draft, *screen)
    return CONFIRM


async def save(update: Update, context: BotContext) -> int | str:
    """Save, once: the summary's nonce must match, and the flow ends here."""
    draft, query, asker = _draft(context), update.callback_query, await _asker(update, context)
    if draft is None or query is None or asker is None:
        return flow.end(context, DRAFT)
    telegram_id, nonce = buttons.NEW_SAVE.parse(context)
    if nonce != draft.nonce or telegram_id != draft.telegram_id:
        await answer(query)
        return CONFIRM
    r, me = asker
    flow.end(context, DRAFT)
    try:
        await downline.register_child(
            context.db,
            parent_telegram_id=me,
            telegram_id=draft.telegram_id,
            name=draft.name,
            username=draft.username,
            low_balance_threshold=draft.threshold,
            now=now(context),
        )
    except ActionError as exc:
        await answer(query)
        await flow.render(context, draft, views.refusal(exc, r), None)
        return flow.end(context, DRAFT)
    await show_card(update, context, draft.telegram_id, r, views.registered(r.t))
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


def registering() -> flow.Flow:
    typed = filters.TEXT & ~filters.COMMAND
    return flow.Flow(
        name="subreg",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(start, pattern=buttons.NEW.pattern())],
        states={
            WHO: [
                MessageHandler(filters.StatusUpdate.USERS_SHARED, got_shared),
                MessageHandler(typed, got_typed),
            ],
            NAME: [MessageHandler(typed, got_name)],
            THRESHOLD: [MessageHandler(typed, got_threshold)],
            CONFIRM: [CallbackQueryHandler(save, pattern=buttons.NEW_SAVE.pattern())],
        },
        fallbacks=[CallbackQueryHandler(cancel, pattern=buttons.NEW_CANCEL.pattern())],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.replaced,
    )
