"""Send now, or at a time: quick buttons (in an hour, tomorrow morning, ...), a day on the
calendar and then an hour of it, or a date and time typed. Every way ends in the same
Send, keyed by the preview's nonce, so a second tap schedules nothing twice; a time that
has passed meanwhile is refused by the service."""

from __future__ import annotations

import datetime as dt

from telegram import Update

from bot.context import BotContext
from handlers import flow
from handlers.announce import callbacks as buttons
from handlers.announce import schedule_views, views, when
from handlers.announce.compose import Step, send, show_step
from handlers.announce.draft import DRAFT, TIME, AnnounceDraft
from handlers.calendar import TapKind
from handlers.common import answer, now, refuse
from handlers.language import reader, translator


def _draft(context: BotContext) -> AnnounceDraft | None:
    return flow.draft(context, DRAFT, AnnounceDraft)


def _text(update: Update) -> str:
    message = update.effective_message
    return message.text or "" if message is not None else ""


async def send_now(update: Update, context: BotContext) -> Step:
    return await send(update, context, buttons.SEND.parse(context), None)


async def ask_time(update: Update, context: BotContext) -> Step:
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    if buttons.SCHEDULE.parse(context) != draft.nonce:
        await refuse(update, views.sent_before(await translator(update, context)))
        return None
    return await show_step(update, context, draft, TIME)


async def chose_quick(update: Update, context: BotContext) -> Step:
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    send_at = when.quick(buttons.QUICK_TIME.parse(context), now(context), context.settings.zone)
    if send_at is None:  # a forged word
        r = await reader(update, context)
        return await show_step(update, context, draft, TIME, views.refusal("", r))
    return await send(update, context, draft.nonce, send_at)


async def _hours(
    update: Update, context: BotContext, draft: AnnounceDraft, problem: str = ""
) -> Step:
    zone, r = context.settings.zone, await reader(update, context)
    day = dt.date.fromisoformat(draft.day or "")
    hours = when.day_hours(day, now(context), zone)
    await flow.render(
        context, draft, *schedule_views.pick_hour(when.day_start(day, zone), hours, r, problem)
    )
    return TIME


async def on_calendar(update: Update, context: BotContext) -> Step:
    """Another month shown, or a day picked (then its hours); a day not offered: nothing.
    A month shown asks for a day: none is picked any more, so a time typed there names
    no day (not the one picked before "Another day")."""
    draft, query = _draft(context), update.callback_query
    if draft is None:
        return flow.end(context, DRAFT)
    if query is not None:
        await answer(query)
    tap, at, zone = buttons.CALENDAR.parse(context), now(context), context.settings.zone
    first, last = when.today(at, zone), when.last_day(at, zone)
    if tap.kind == TapKind.DAY and tap.day is not None and first <= tap.day <= last:
        draft.day = tap.day.isoformat()
        return await _hours(update, context, draft)
    if tap.kind == TapKind.MONTH and tap.day is not None:
        draft.day = None
        r = await reader(update, context)
        await flow.render(context, draft, *schedule_views.pick_day(tap.day, first, last, r))
    return TIME


async def chose_hour(update: Update, context: BotContext) -> Step:
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    if draft.day is None:  # an hour button from an older screen: ask again
        return await show_step(update, context, draft, TIME)
    day = dt.date.fromisoformat(draft.day)
    send_at = when.at_hour(day, buttons.DAY_HOUR.parse(context), context.settings.zone)
    if send_at is None:
        return await _hours(
            update, context, draft, views.refusal("", await reader(update, context))
        )
    return await send(update, context, draft.nonce, send_at)


async def got_time(update: Update, context: BotContext) -> Step:
    draft = _draft(context)
    if draft is None:
        return flow.end(context, DRAFT)
    day = dt.date.fromisoformat(draft.day) if draft.day else None
    send_at = when.typed(_text(update), day, context.settings.zone)
    if send_at is None:
        problem = views.refusal("bad_time", await reader(update, context))
        if day is not None:
            return await _hours(update, context, draft, problem)
        return await show_step(update, context, draft, TIME, problem)
    return await send(update, context, draft.nonce, send_at)
