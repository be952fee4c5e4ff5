"""The owners' scheduled reports screen (from the admin menu): which reports go out and
which sections the summaries show. The times and the defaults are settings; a choice made
here wins over its setting, and is logged."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot.context import BotApplication, BotContext
from bot.i18n import Translator
from bot.services import report_switches
from bot.services.admin_log import ActionError
from handlers.admin import report_callbacks as buttons
from handlers.admin import report_settings_views as views
from handlers.common import admin_only, now, show
from handlers.reader import Reader


async def _show(update: Update, context: BotContext, t: Translator, note: str = "") -> None:
    settings = context.settings
    on = report_switches.effective(
        settings.report_switches(), await report_switches.chosen(context.db)
    )
    await show(
        update,
        *views.screen(
            on, daily=settings.report_daily_time, weekday=settings.report_weekly_day,
            weekly=settings.report_weekly_time, statements=settings.statement_time,
            group=settings.admin_chat_id is not None, r=Reader.of(settings, t), note=note,
        ),
    )  # fmt: skip


@admin_only
async def screen(update: Update, context: BotContext, t: Translator) -> None:
    await _show(update, context, t)


@admin_only
async def switch(update: Update, context: BotContext, t: Translator) -> None:
    """On or off, as the button asked: a second tap on the same button changes nothing."""
    name, enabled = buttons.SWITCH.parse(context)
    user = update.effective_user
    assert user is not None, "only after the owner check"
    try:
        await report_switches.choose(
            context.db, name, enabled, known=tuple(context.settings.report_switches()),
            actor=f"tg:{user.id}", now=now(context),
        )  # fmt: skip
    except ActionError:  # a forged name: the screen as it is
        await _show(update, context, t)
        return
    await _show(update, context, t, views.changed(name, enabled, t))


def register(app: BotApplication) -> None:
    app.add_handler(CallbackQueryHandler(screen, pattern=buttons.SCREEN.pattern()))
    app.add_handler(CallbackQueryHandler(switch, pattern=buttons.SWITCH.pattern()))
