"""The steps of composing an announcement (flow.py is their state table): audience
(admins), segment and its value, the message (text with formatting, or a photo with a
caption, or the maintenance template), a button, then a preview that shows the message
as it will arrive and how many chats it reaches, with Send now and Schedule.

Admins (owners, and staff allowed to announce) announce to customers or to
resellers; an active reseller to its own customers only. Who asks is checked at every
step; a value from a forged button is refused by the service. Send carries the nonce of
the preview, so a second tap sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import secrets

from telegram import Update

from bot.context import BotContext
from bot.i18n import LANGUAGES
from bot.keyboards import back_to_menu
from bot.services import announcements, panels, plans, resellers
from bot.services.announcement_audience import Audience, Author, Segment
from bot.services.announcements import AnnouncementError, ButtonKind, Template
from handlers import flow
from handlers.announce import callbacks as buttons
from handlers.announce import progress as progress_screen
from handlers.announce import schedule_views, views, when
from handlers.announce.draft import (
    AUDIENCE,
    BUTTON,
    DRAFT,
    LINK,
    PREVIEW,
    SEGMENT,
    TEXT,
    TIME,
    VALUE,
    AnnounceDraft,
)
from handlers.common import answer, now, refuse
from handlers.language import reader, translator
from handlers.reader import Reader

Step = str | int | None


NEEDS_BUTTONS = (Segment.RESELLER, Segment.PLAN, Segment.PANEL, Segment.LANGUAGE)


def _draft(context: BotContext) -> AnnounceDraft | None:
    return flow.draft(context, DRAFT, AnnounceDraft)


async def show_step(
    update: Update,
    context: BotContext,
    draft: AnnounceDraft,
    step: str,
    problem: str = "",
    *,
    page: int = 0,
) -> Step:
    """Show ``step`` on the composer's message, ``problem`` saying what was wrong."""
    author, r = await progress_screen.author(update, context), await reader(update, context)
    if author is None:
        await refuse(update, views.not_allowed(r.t))
        return flow.end(context, DRAFT)
    if update.callback_query is not None:
        await answer(update.callback_query)
    if step == AUDIENCE:
        screen = views.ask_audience(r, problem)
    elif step == SEGMENT:
        screen = views.ask_segment(Audience(draft.audience), not author.is_reseller, r, problem)
    elif step == VALUE:
        segment = Segment(draft.segment)
        if segment in NEEDS_BUTTONS:
            choices = await _choices(context, segment)
            screen = views.pick_value(choices, page, r, problem)
        else:
            screen = views.ask_days(segment, r, problem)
    elif step == TEXT:
        screen = views.ask_when(r, problem) if draft.template else views.ask_text(r, problem)
    elif step == BUTTON:
        screen = views.ask_button(Audience(draft.audience), r, problem)
    elif step == LINK:
        screen = views.ask_link(r, problem)
    elif step == TIME:
        at, zone = now(context), context.settings.zone
        draft.day = None
        screen = schedule_views.ask_time(when.quick_times(at, zone), when.today(at, zone), r,
                                         problem)  # fmt: skip
    else:
        return await _preview(update, context, draft, author, r, problem)
    await flow.render(context, draft, *screen)
    return step


async def _choices(context: BotContext, segment: Segment) -> list[tuple[str, str]]:
    """Every value of ``segment``: the picker pages through them."""
    if segment == Segment.LANGUAGE:
        return list(LANGUAGES.items())
    if segment == Segment.PLAN:
        return [(str(p.id), p.name) for p in await plans.list_plans(context.db)]
    if segment == Segment.PANEL:
        return [(str(p.id), p.name) for p in await panels.list_panels(context.db)]
    rows = await resellers.list_resellers(context.db)
    return [(str(row.reseller.id), row.reseller.name) for row in rows]


async def _preview(
    update: Update,
    context: BotContext,
    draft: AnnounceDraft,
    author: Author,
    r: Reader,
    problem: str = "",
) -> Step:
    """The copy as it will arrive, then below it the count and Send / Schedule."""
    try:
        count = await announcements.reach(context.db, author, draft.target(), now(context))
        message = announcements.check_message(draft.message(), Audience(draft.audience))
    except AnnouncementError as exc:
        await refuse(update, views.refusal(exc.code, r))
        return None
    text, markup = views.copy(message, Audience(draft.audience), r)
    if message.photo_file_id:
        await context.bot.send_photo(draft.chat_id, message.photo_file_id, caption=text,
                                     reply_markup=markup)  # fmt: skip
    else:
        await context.bot.send_message(draft.chat_id, text, reply_markup=markup)
    draft.nonce = secrets.token_urlsafe(9)  # a fresh one per preview: Send is keyed by it
    draft.message_id = 0  # the controls go below the copy, as a new message
    screen = views.preview(count, Audience(draft.audience), draft.service, draft.nonce, r, problem)
    await flow.render(context, draft, *screen)
    return PREVIEW


def _text(update: Update) -> str:
    message = update.effective_message
    return message.text or "" if message is not None else ""


# --- the steps ---------------------------------------------------------------------------


async def open_composer(update: Update, context: BotContext) -> Step:
    """/announce or the menu's button: admins pick the audience, resellers the segment."""
    author, chat = await progress_screen.author(update, context), update.effective_chat
    if author is None or chat is None or context.user_data is None:
        await refuse(update, views.not_allowed(await translator(update, context)))
        return flow.end(context, DRAFT)
    query = update.callback_query
    message_id = query.message.message_id if query and query.message else 0
    draft = AnnounceDraft(chat.id, message_id)
    context.user_data[DRAFT] = draft
    return await show_step(update, context, draft, SEGMENT if author.is_reseller else AUDIENCE)


async def chose_audience(update: Update, context: BotContext) -> Step:
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    word = buttons.AUDIENCE.parse(context)
    if word not in set(Audience):
        return await show_step(
            update, context, draft, AUDIENCE, views.refusal("", await reader(update, context))
        )
    draft.audience = Audience(word).value
    return await show_step(update, context, draft, SEGMENT)


async def chose_segment(update: Update, context: BotContext) -> Step:
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    word, author = buttons.SEGMENT.parse(context), await progress_screen.author(update, context)
    if author is not None and author.is_reseller and word == Segment.RESELLER:
        # Not offered to resellers: a forged button. Their own customers are "Everyone".
        await refuse(update, views.refusal("not_your_customers", await reader(update, context)))
        return None
    if word not in set(Segment):
        return await show_step(
            update, context, draft, SEGMENT, views.refusal("", await reader(update, context))
        )
    draft.segment, draft.value = Segment(word).value, None
    return await show_step(update, context, draft, TEXT if word == Segment.EVERYONE else VALUE)


async def _valued(update: Update, context: BotContext, draft: AnnounceDraft, value: str) -> Step:
    """The segment's value, checked against the author by the service."""
    author = await progress_screen.author(update, context)
    if author is None:
        await refuse(update, views.not_allowed(await translator(update, context)))
        return flow.end(context, DRAFT)
    draft.value = value
    try:
        await announcements.reach(context.db, author, draft.target(), now(context))
    except AnnouncementError as exc:
        draft.value = None
        r = await reader(update, context)
        if update.callback_query is not None:
            await refuse(update, views.refusal(exc.code, r))
            return None
        return await show_step(update, context, draft, VALUE, views.refusal(exc.code, r))
    return await show_step(update, context, draft, TEXT)


async def chose_value(update: Update, context: BotContext) -> Step:
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    return await _valued(update, context, draft, buttons.VALUE.parse(context))


async def turned_page(update: Update, context: BotContext) -> Step:
    """Another page of the value picker."""
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    return await show_step(update, context, draft, VALUE, page=buttons.VALUES_PAGE.parse(context))


async def got_days(update: Update, context: BotContext) -> Step:
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    return await _valued(update, context, draft, _text(update).strip())


async def chose_maintenance(update: Update, context: BotContext) -> Step:
    """The maintenance template: a service notice; its author gives only the time."""
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    draft.template, draft.service, draft.photo_file_id = Template.MAINTENANCE.value, True, None
    return await show_step(update, context, draft, TEXT)


async def got_message(update: Update, context: BotContext) -> Step:
    """The text as HTML with its formatting, or a photo with its caption."""
    draft, message = _draft(context), update.effective_message
    if draft is None or message is None:
        return flow.end(context, DRAFT)
    if draft.template:
        draft.text = " ".join((message.text or "").split())
    elif message.photo:
        draft.photo_file_id = message.photo[-1].file_id
        draft.text = message.caption_html or ""
    else:
        draft.photo_file_id, draft.text = None, message.text_html or ""
    try:
        announcements.check_message(draft.message(), Audience(draft.audience))
    except AnnouncementError as exc:
        return await show_step(
            update, context, draft, TEXT, views.refusal(exc.code, await reader(update, context))
        )
    return await show_step(update, context, draft, BUTTON)


async def chose_button(update: Update, context: BotContext) -> Step:
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    word = buttons.BUTTON.parse(context)
    if word == ButtonKind.URL:
        return await show_step(update, context, draft, LINK)
    draft.button_label = draft.button_url = None
    draft.button = ButtonKind.RENEW.value if word == ButtonKind.RENEW else None
    return await show_step(update, context, draft, PREVIEW)


async def got_link(update: Update, context: BotContext) -> Step:
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    try:
        draft.button_label, draft.button_url = announcements.parse_link(_text(update))
    except AnnouncementError as exc:
        return await show_step(
            update, context, draft, LINK, views.refusal(exc.code, await reader(update, context))
        )
    draft.button = ButtonKind.URL.value
    return await show_step(update, context, draft, PREVIEW)


async def toggled_service(update: Update, context: BotContext) -> Step:
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    draft.service = not draft.service
    return await show_step(update, context, draft, PREVIEW)


async def send(
    update: Update, context: BotContext, nonce: str, send_at: dt.datetime | None
) -> Step:
    draft, user = _draft(context), update.effective_user
    author, r = await progress_screen.author(update, context), await reader(update, context)
    if draft is None or user is None or author is None:
        await refuse(update, views.not_allowed(r.t))
        return flow.end(context, DRAFT)
    if nonce != draft.nonce:
        await refuse(update, views.sent_before(r.t))
        return None
    if update.callback_query is not None:
        await answer(update.callback_query)
    try:
        shown = await announcements.create(
            context.db, author, draft.target(), draft.message(),
            key=f"announce:{user.id}:{nonce}", now=now(context), send_at=send_at,
            progress_at=(draft.chat_id, draft.message_id),
            reseller_daily_limit=context.settings.reseller_announcements_per_day,
        )  # fmt: skip
    except AnnouncementError as exc:
        if exc.code == "too_many":  # nothing to change in the draft: it ends here
            await flow.render(context, draft, views.refusal(exc.code, r), back_to_menu(r.t))
            return flow.end(context, DRAFT)
        step = TIME if exc.code == "past" else PREVIEW
        return await show_step(update, context, draft, step, views.refusal(exc.code, r))
    await flow.render(context, draft, *views.progress(shown, now(context), r))
    return flow.end(context, DRAFT)


async def buttons_expected(update: Update, context: BotContext) -> Step:
    """Text where the step asks for a button: ask again."""
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    return await show_step(
        update,
        context,
        draft,
        _step_of(draft),
        views.use_buttons(await translator(update, context)),
    )


def _step_of(draft: AnnounceDraft) -> str:
    if draft.nonce:
        return PREVIEW
    return BUTTON if draft.text else SEGMENT
