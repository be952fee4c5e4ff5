"""The action log screen: who did what, to whom, and why, newest first, a page at a time,
filtered by admin, reseller, kind and days (``/log``, or the admin menu's button).

The filters travel in the buttons' data (see ``action_log_callbacks``); typing two dates
is a one-step flow of the conversation all flows share. Owners and staff admins allowed
reports only, checked on every command, tap and message.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import BotApplication, BotContext
from bot.i18n import Translator
from bot.services import admin_log
from bot.services.admin_log import ActionError
from bot.services.roles import Permission
from handlers import flow
from handlers.admin import action_log_views as views
from handlers.admin.action_log_callbacks import PAGE, PICK, STALE, BadData, Filters, Pick
from handlers.common import answer, now, refuse, show, with_permission
from handlers.language import translator
from handlers.reader import Reader

PAGE_SIZE = 8
DRAFT = "action_log_draft"
DAYS = "actionlog:days"

guarded = with_permission(Permission.REPORTS)


@dataclass
class DaysDraft(flow.FlowMessage):
    """The date picker waiting for two typed dates, and the other filters it keeps."""

    actor: str | None = None
    reseller_id: int | None = None
    kind: str | None = None

    def filters(self) -> Filters:
        return Filters(self.actor, self.reseller_id, self.kind)


def _reader(context: BotContext, t: Translator) -> Reader:
    return Reader.of(context.settings, t)


async def _names(context: BotContext, chosen: Filters) -> dict[str, str | None]:
    """The names of the admin and the reseller the list is filtered by."""
    names: dict[str, str | None] = {}
    if chosen.actor is not None:
        found = [c for c in await admin_log.actors(context.db) if c.value == chosen.actor]
        names["actor"] = found[0].name if found else None
    if chosen.reseller_id is not None:
        names["reseller"] = await admin_log.reseller_name(context.db, chosen.reseller_id)
    return names


async def _page(context: BotContext, page: int, chosen: Filters, r: Reader) -> views.Screen:
    found = await admin_log.actions_page(
        context.db, chosen.query(r.zone), page=page, page_size=PAGE_SIZE
    )
    return views.log_page(found, chosen, await _names(context, chosen), r)


@guarded
async def log_command(update: Update, context: BotContext, t: Translator) -> None:
    """/log: the first page, unfiltered."""
    r = _reader(context, t)
    await show(update, *await _page(context, 0, Filters(), r))


@guarded
async def log_page(update: Update, context: BotContext, t: Translator) -> None:
    """A page of the log under the filters its button carries."""
    r = _reader(context, t)
    try:
        page, chosen = PAGE.parse(context)
    except BadData:
        await refuse(update, views.stale(t))
        return
    await show(update, *await _page(context, page, chosen, r))


@guarded
async def pick(update: Update, context: BotContext, t: Translator) -> None:
    """The choices for one filter: the admins, resellers or kinds found in the log."""
    r = _reader(context, t)
    try:
        which, chosen = PICK.parse(context)
    except BadData:
        await refuse(update, views.stale(t))
        return
    if which == Pick.ADMIN:
        screen = views.pick_admin(await admin_log.actors(context.db), chosen, r)
    elif which == Pick.RESELLER:
        screen = views.pick_reseller(await admin_log.resellers_acted_on(context.db), chosen, r)
    else:
        screen = views.pick_kind(await admin_log.kinds_logged(context.db), chosen, r)
    await show(update, *screen)


@guarded
async def stale_button(update: Update, context: BotContext, t: Translator) -> None:
    """Data under the log's prefixes that no pattern takes: refused, nothing shown."""
    await refuse(update, views.stale(t))


# --- the days: presets, or two typed dates (a one-step flow) ----------------------------


@guarded
async def _ask_days(update: Update, context: BotContext, t: Translator) -> str | int:
    query = update.callback_query
    if query is None or query.message is None or context.user_data is None:
        return flow.end(context, DRAFT)
    try:
        _, chosen = PICK.parse(context)
    except BadData:
        await refuse(update, views.stale(t))
        return flow.end(context, DRAFT)
    await answer(query)
    draft = DaysDraft(
        query.message.chat.id, query.message.message_id, chosen.actor, chosen.reseller_id,
        chosen.kind,
    )  # fmt: skip
    context.user_data[DRAFT] = draft
    today = now(context).astimezone(context.settings.zone).date()
    await flow.render(context, draft, *views.pick_dates(chosen, today, _reader(context, t)))
    return DAYS


async def ask_days(update: Update, context: BotContext) -> str | int:
    """Entry, from the log's Dates button: the presets, and wait for two typed dates."""
    step = await _ask_days(update, context)
    return flow.end(context, DRAFT) if step is None else step


@guarded
async def _got_days(update: Update, context: BotContext, t: Translator) -> str | int:
    draft = flow.draft(context, DRAFT, DaysDraft)
    message = update.effective_message
    if draft is None or message is None:
        return flow.end(context, DRAFT)
    r = _reader(context, t)
    today = now(context).astimezone(context.settings.zone).date()
    try:
        first, last = admin_log.parse_days(message.text or "")
    except ActionError as exc:
        problem = views.bad_dates(exc.code, r)
        await flow.render(context, draft, *views.pick_dates(draft.filters(), today, r, problem))
        return DAYS
    chosen = draft.filters().with_days(first, last)
    await flow.render(context, draft, *await _page(context, 0, chosen, r))
    return flow.end(context, DRAFT)


async def got_days(update: Update, context: BotContext) -> str | int:
    """Two typed dates: the log between them; anything else is asked again."""
    step = await _got_days(update, context)
    return flow.end(context, DRAFT) if step is None else step


async def page_instead(update: Update, context: BotContext) -> int:
    """A page of the log tapped while the dates were awaited: show it, stop waiting."""
    flow.end(context, DRAFT)
    await log_page(update, context)
    return flow.end(context, DRAFT)


async def pick_instead(update: Update, context: BotContext) -> int:
    """Another filter tapped while the dates were awaited: show it, stop waiting."""
    flow.end(context, DRAFT)
    await pick(update, context)
    return flow.end(context, DRAFT)


async def cancel_days(update: Update, context: BotContext) -> object:
    t = await translator(update, context)
    return await flow.leave(update, context, DRAFT, views.dates_cancelled(t))


async def days_timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, DRAFT, views.dates_cancelled(t))


def typing_days() -> flow.Flow:
    """Typing the log's days, for the one conversation all flows share."""
    return flow.Flow(
        name="actionlog",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(ask_days, pattern=PICK.pattern(Pick.DATES))],
        states={
            DAYS: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, got_days),
                CallbackQueryHandler(page_instead, pattern=PAGE.pattern()),
                CallbackQueryHandler(
                    pick_instead, pattern=PICK.pattern(Pick.ADMIN, Pick.RESELLER, Pick.KIND)
                ),
            ],
        },
        fallbacks=[],
        cancel=cancel_days,
        timed_out=days_timed_out,
        replaced_text=views.dates_cancelled,
    )


def register(app: BotApplication) -> None:
    """The log's command and buttons outside the dates flow (which is ``typing_days``)."""
    app.add_handler(CommandHandler("log", log_command))
    app.add_handler(CallbackQueryHandler(log_page, pattern=PAGE.pattern()))
    app.add_handler(
        CallbackQueryHandler(pick, pattern=PICK.pattern(Pick.ADMIN, Pick.RESELLER, Pick.KIND))
    )
    app.add_handler(CallbackQueryHandler(stale_button, pattern=STALE))
