"""Registering a reseller in chat: who (a contact shared through Telegram's user picker, or
the id of someone who has started the bot), their name if typed by id, type, collection
limit (postpaid), threshold, then a summary and Save. Saved once: the Save button carries
a nonce minted with the summary, and the flow ends with the first tap.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import Translator
from bot.money import AmountError
from bot.services import reseller_search, resellers
from bot.services.resellers import ResellerError
from bot.services.roles import Permission
from handlers import flow
from handlers.admin import enrol_views as views
from handlers.admin import reseller_callbacks as buttons
from handlers.admin import reseller_form_views as form_views
from handlers.admin import views as admin_views
from handlers.admin.reseller_forms import parse_limit
from handlers.common import answer, now, permitted, with_permission
from handlers.enrol_form import EnrolForm, PersonDraft, Screen
from handlers.language import translator
from handlers.reader import Asker, Reader
from models import Billing

DRAFT = "reseller_new_draft"
WHO = "enrol:who"
NAME = "enrol:name"
TYPE = "enrol:type"
LIMIT = "enrol:limit"
THRESHOLD = "enrol:threshold"
CONFIRM = "enrol:confirm"


@dataclass
class EnrolDraft(PersonDraft):
    billing: str = Billing.PREPAID.value
    limit: int = 0


class Enrolling(EnrolForm[EnrolDraft]):
    async def asker(self, update: Update, context: BotContext) -> Asker | None:
        t, user = await translator(update, context), update.effective_user
        if user is None or not await permitted(update, context, Permission.RESELLERS, t):
            return None
        return Asker(Reader.of(context.settings, t), user.id)

    def after_name(self, draft: EnrolDraft, r: Reader) -> tuple[str, Screen]:
        return TYPE, views.ask_type(draft.name, r)


FORM = Enrolling(
    DRAFT, EnrolDraft, (WHO, NAME), views.PICK_REQUEST_ID, views.ask_who, views.ask_name
)


def _draft(context: BotContext) -> EnrolDraft | None:
    return flow.draft(context, DRAFT, EnrolDraft)


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


def enrolling() -> flow.Flow:
    typed = filters.TEXT & ~filters.COMMAND
    return FORM.conversation(
        "enrol",
        buttons.NEW.pattern(),
        buttons.NEW_CANCEL.pattern(),
        {
            TYPE: [CallbackQueryHandler(got_type, pattern=buttons.NEW_TYPE.pattern())],
            LIMIT: [MessageHandler(typed, got_limit)],
            THRESHOLD: [MessageHandler(typed, got_threshold)],
            CONFIRM: [CallbackQueryHandler(save, pattern=buttons.NEW_SAVE.pattern())],
        },
    )
