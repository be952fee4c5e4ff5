"""The announcement composer's state table, for the one conversation all flows share.

audience (admins only) -> segment -> value (buttons, or typed days; "everyone" skips it)
-> text or photo (or the maintenance template's time) -> button (-> link) -> preview
-> Send now, or Schedule -> a quick time, a day on the calendar and its hour, or typed.
Cancel or /cancel at any step.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from handlers import flow
from handlers.announce import callbacks as buttons
from handlers.announce import views
from handlers.announce.compose import (
    buttons_expected,
    chose_audience,
    chose_button,
    chose_maintenance,
    chose_segment,
    chose_value,
    got_days,
    got_link,
    got_message,
    open_composer,
    toggled_service,
    turned_page,
)
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
)
from handlers.announce.history import leave_composer
from handlers.announce.schedule import (
    ask_time,
    chose_hour,
    chose_quick,
    got_time,
    on_calendar,
    send_now,
)
from handlers.language import translator


class Codec(Protocol):
    def pattern(self) -> str: ...


async def cancel(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, DRAFT, views.cancelled(t))


async def timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, DRAFT, views.timed_out(t))


def composer() -> flow.Flow:
    """The announcement composer, for the one conversation all flows share."""
    text = filters.TEXT & ~filters.COMMAND
    expected = MessageHandler(~filters.COMMAND, buttons_expected)

    def tap(
        callback: Callable[[Update, BotContext], Coroutine[Any, Any, object]], codec: Codec
    ) -> CallbackQueryHandler[BotContext, object]:
        return CallbackQueryHandler(callback, pattern=codec.pattern())

    return flow.Flow(
        name="announce",
        draft_key=DRAFT,
        entry_points=[
            CommandHandler("announce", open_composer, filters=filters.ChatType.PRIVATE),
            tap(open_composer, buttons.NEW),
        ],
        states={
            AUDIENCE: [
                tap(chose_audience, buttons.AUDIENCE),
                tap(leave_composer, buttons.HISTORY),
                expected,
            ],
            SEGMENT: [
                tap(chose_segment, buttons.SEGMENT),
                tap(leave_composer, buttons.HISTORY),
                expected,
            ],
            VALUE: [
                tap(chose_value, buttons.VALUE),
                tap(turned_page, buttons.VALUES_PAGE),
                MessageHandler(text, got_days),
            ],
            TEXT: [
                tap(chose_maintenance, buttons.MAINTENANCE),
                MessageHandler((text | filters.PHOTO) & ~filters.COMMAND, got_message),
            ],
            BUTTON: [tap(chose_button, buttons.BUTTON), expected],
            LINK: [MessageHandler(text, got_link)],
            PREVIEW: [
                tap(send_now, buttons.SEND),
                tap(ask_time, buttons.SCHEDULE),
                tap(toggled_service, buttons.SERVICE),
                expected,
            ],
            TIME: [
                tap(chose_quick, buttons.QUICK_TIME),
                tap(on_calendar, buttons.CALENDAR),
                tap(chose_hour, buttons.DAY_HOUR),
                MessageHandler(text, got_time),
            ],
        },
        fallbacks=[tap(cancel, buttons.CANCEL)],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.replaced,
    )
