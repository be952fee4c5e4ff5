"""Two short flows on the resellers' screens: searching the list (the next message is what
to look for) and editing one field of a reseller (its type by buttons; the collection
limit, the threshold or the name typed), saved once, logged and told to the reseller."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import Translator
from bot.money import AmountError, parse_amount
from bot.services import reseller_search, resellers
from bot.services.admin_log import ActionError
from bot.services.reseller_search import Field, ListFilter
from bot.services.resellers import ResellerError
from bot.services.roles import Permission
from handlers import flow
from handlers.admin import callbacks, directory, views
from handlers.admin import reseller_callbacks as buttons
from handlers.admin import reseller_form_views as form_views
from handlers.common import answer, now, refuse, show, with_permission
from handlers.language import translator
from handlers.reader import Reader

SEARCH_DRAFT = "reseller_search_draft"
EDIT_DRAFT = "reseller_edit_draft"
QUERY = "rsearch:query"
VALUE = "redit:value"
TYPE = "redit:type"


def parse_limit(text: str) -> int:
    """An amount of 0 or more, two decimals at most (a limit or a threshold)."""
    try:
        return parse_amount(text)
    except AmountError as exc:
        if exc.code == "zero":
            return 0
        raise


# --- search ------------------------------------------------------------------------------


@dataclass
class SearchDraft(flow.FlowMessage):
    pass


@with_permission(Permission.RESELLERS)
async def ask_query(update: Update, context: BotContext, t: Translator) -> int | str:
    """The list's Search button: the list's message asks what to look for."""
    query = update.callback_query
    if query is None or query.message is None:
        return flow.end(context, SEARCH_DRAFT)
    await answer(query)
    draft = SearchDraft(query.message.chat.id, query.message.message_id)
    assert context.user_data is not None
    context.user_data[SEARCH_DRAFT] = draft
    await flow.render(context, draft, *form_views.search_prompt(t))
    return QUERY


@with_permission(Permission.RESELLERS)
async def got_query(update: Update, context: BotContext, t: Translator) -> int:
    """What to look for came: the list of those who match, as a new message."""
    message = update.effective_message
    if message is None or message.text is None:
        return flow.end(context, SEARCH_DRAFT)
    r = Reader.of(context.settings, t)
    query = buttons.clip_query(message.text)
    await directory.show_list(update, context, r, ListFilter.ALL, 0, query)
    return flow.end(context, SEARCH_DRAFT)


async def search_back(update: Update, context: BotContext) -> int:
    await directory.menu_list(update, context)
    return flow.end(context, SEARCH_DRAFT)


async def cancel_search(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, SEARCH_DRAFT, form_views.search_cancelled(t))


async def search_timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, SEARCH_DRAFT, form_views.search_timed_out(t))


def searching() -> flow.Flow:
    return flow.Flow(
        name="rsearch",
        draft_key=SEARCH_DRAFT,
        entry_points=[CallbackQueryHandler(ask_query, pattern=buttons.SEARCH.pattern())],
        states={
            QUERY: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, got_query),
                CallbackQueryHandler(search_back, pattern=callbacks.RESELLERS.pattern()),
            ]
        },
        fallbacks=[],
        cancel=cancel_search,
        timed_out=search_timed_out,
        replaced_text=form_views.search_replaced,
    )


# --- edits -------------------------------------------------------------------------------


@dataclass
class EditDraft(flow.FlowMessage):
    telegram_id: int = 0
    field: str = ""


@with_permission(Permission.RESELLERS)
async def edit_menu(update: Update, context: BotContext, t: Translator) -> None:
    """The card's Edit button: which field to change."""
    r = Reader.of(context.settings, t)
    async with context.db.transaction() as session:
        who = await resellers.load_by_telegram_id(session, buttons.EDIT_MENU.parse(context))
    if who is None:
        await refuse(update, views.refusal(ResellerError(), r))
        return
    await show(update, *form_views.edit_menu(who, r))


@with_permission(Permission.RESELLERS)
async def ask_value(update: Update, context: BotContext, t: Translator) -> int | str:
    """Entry: a field tapped on the edit menu; its prompt on the same message."""
    query = update.callback_query
    if query is None or query.message is None:
        return flow.end(context, EDIT_DRAFT)
    r = Reader.of(context.settings, t)
    telegram_id, field = buttons.EDIT.parse(context)
    async with context.db.transaction() as session:
        who = await resellers.load_by_telegram_id(session, telegram_id)
    if who is None:
        await refuse(update, views.refusal(ResellerError(), r))
        return flow.end(context, EDIT_DRAFT)
    await answer(query)
    draft = EditDraft(query.message.chat.id, query.message.message_id, telegram_id, field.value)
    assert context.user_data is not None
    context.user_data[EDIT_DRAFT] = draft
    await flow.render(context, draft, *form_views.edit_prompt(who, field, r))
    return TYPE if field == Field.BILLING else VALUE


async def _save(
    update: Update, context: BotContext, r: Reader, draft: EditDraft, value: str | int
) -> int | str:
    """Save the value; on a refusal ask again with the reason, on success show the card."""
    user = update.effective_user
    assert user is not None
    field = Field(draft.field)
    try:
        await reseller_search.edit(
            context.db,
            telegram_id=draft.telegram_id,
            field=field,
            value=value,
            actor=f"tg:{user.id}",
            now=now(context),
        )
    except ActionError as exc:
        return await _ask_again(context, r, draft, form_views.edit_refusal(exc, r))
    except ResellerError as exc:
        await flow.render(context, draft, views.refusal(exc, r), None)
        return flow.end(context, EDIT_DRAFT)
    row = await reseller_search.card(
        context.db, draft.telegram_id, now=now(context), zone=context.settings.zone
    )
    await flow.render(context, draft, *views.card(row, r, form_views.saved(r.t)))
    return flow.end(context, EDIT_DRAFT)


async def _ask_again(context: BotContext, r: Reader, draft: EditDraft, problem: str) -> int | str:
    async with context.db.transaction() as session:
        who = await resellers.load_by_telegram_id(session, draft.telegram_id)
    if who is None:
        return flow.end(context, EDIT_DRAFT)
    field = Field(draft.field)
    await flow.render(context, draft, *form_views.edit_prompt(who, field, r, problem))
    return TYPE if field == Field.BILLING else VALUE


@with_permission(Permission.RESELLERS)
async def got_value(update: Update, context: BotContext, t: Translator) -> int | str:
    """A typed limit, threshold or name: checked, then saved."""
    draft = flow.draft(context, EDIT_DRAFT, EditDraft)
    message = update.effective_message
    if draft is None or message is None:
        return flow.end(context, EDIT_DRAFT)
    r = Reader.of(context.settings, t)
    if message.text is None:
        return await _ask_again(context, r, draft, form_views.not_text(t))
    if draft.field == Field.NAME:
        return await _save(update, context, r, draft, message.text)
    try:
        amount = parse_limit(message.text)
    except AmountError as exc:
        return await _ask_again(context, r, draft, form_views.amount_problem(exc, r))
    return await _save(update, context, r, draft, amount)


@with_permission(Permission.RESELLERS)
async def got_type(update: Update, context: BotContext, t: Translator) -> int | str:
    draft = flow.draft(context, EDIT_DRAFT, EditDraft)
    if draft is None or update.callback_query is None:
        return flow.end(context, EDIT_DRAFT)
    await answer(update.callback_query)
    r = Reader.of(context.settings, t)
    return await _save(update, context, r, draft, buttons.EDIT_TYPE.parse(context))


async def edit_back(update: Update, context: BotContext) -> int:
    await directory.card(update, context)
    return flow.end(context, EDIT_DRAFT)


async def cancel_edit(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, EDIT_DRAFT, form_views.edit_cancelled(t))


async def edit_timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, EDIT_DRAFT, form_views.edit_timed_out(t))


def editing() -> flow.Flow:
    back = CallbackQueryHandler(edit_back, pattern=callbacks.CARD.pattern())
    return flow.Flow(
        name="redit",
        draft_key=EDIT_DRAFT,
        entry_points=[CallbackQueryHandler(ask_value, pattern=buttons.EDIT.pattern())],
        states={
            VALUE: [MessageHandler(~filters.COMMAND, got_value), back],
            TYPE: [CallbackQueryHandler(got_type, pattern=buttons.EDIT_TYPE.pattern()), back],
        },
        fallbacks=[],
        cancel=cancel_edit,
        timed_out=edit_timed_out,
        replaced_text=form_views.edit_replaced,
    )
