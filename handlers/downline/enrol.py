"""A parent registers a sub-reseller: who (a contact shared through Telegram's user picker,
or the typed id of someone who has started the bot), their name if typed by id, the
low-balance threshold, a summary and Save. Saved once: Save carries a nonce minted with the
summary, and the flow ends with the first tap. The newcomer is prepaid, one level less deep
than the parent, and greeted in their language.

The asker is checked on every step: an active reseller allowed sub-resellers.
"""

from __future__ import annotations

import secrets

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.money import AmountError
from bot.services import downline
from bot.services.admin_log import ActionError
from handlers import flow
from handlers.admin import reseller_form_views as form_views
from handlers.admin.reseller_forms import parse_limit
from handlers.common import answer, now
from handlers.downline import callbacks as buttons
from handlers.downline import views
from handlers.downline.drafts import SubResellerDraft
from handlers.downline.screens import parent, show_card
from handlers.enrol_form import EnrolForm, Screen
from handlers.language import translator
from handlers.reader import Asker, Reader

DRAFT = "downline_new_draft"
WHO = "subreg:who"
NAME = "subreg:name"
THRESHOLD = "subreg:threshold"
CONFIRM = "subreg:confirm"


class Registering(EnrolForm[SubResellerDraft]):
    async def asker(self, update: Update, context: BotContext) -> Asker | None:
        """The reader and the parent's Telegram id, if the asker may register sub-resellers."""
        t = await translator(update, context)
        me = await parent(update, context, t)
        return None if me is None else Asker(Reader.of(context.settings, t), me.telegram_id)

    def after_name(self, draft: SubResellerDraft, r: Reader) -> tuple[str, Screen]:
        return THRESHOLD, views.ask_threshold(draft.name, r)


FORM = Registering(
    DRAFT, SubResellerDraft, (WHO, NAME), buttons.PICKER, views.ask_who, views.ask_name
)


async def got_threshold(update: Update, context: BotContext) -> int | str:
    found, message = await FORM.asked(update, context), update.effective_message
    if found is None or message is None:
        return flow.end(context, DRAFT)
    draft, r = found[0], found[1].r
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
    found, query = await FORM.asked(update, context), update.callback_query
    if found is None or query is None:
        return flow.end(context, DRAFT)
    (draft, asker), r = found, found[1].r
    telegram_id, nonce = buttons.NEW_SAVE.parse(context)
    if nonce != draft.nonce or telegram_id != draft.telegram_id:
        await answer(query)
        return CONFIRM
    flow.end(context, DRAFT)
    try:
        await downline.register_child(
            context.db,
            parent_telegram_id=asker.me,
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


def registering() -> flow.Flow:
    return FORM.conversation(
        "subreg",
        buttons.NEW.pattern(),
        buttons.NEW_CANCEL.pattern(),
        {
            THRESHOLD: [MessageHandler(filters.TEXT & ~filters.COMMAND, got_threshold)],
            CONFIRM: [CallbackQueryHandler(save, pattern=buttons.NEW_SAVE.pattern())],
        },
    )
