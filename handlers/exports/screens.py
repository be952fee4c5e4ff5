"""📤 Export: what (credit history, customers, top-ups, sales; admins also the action
log), the period (a preset, all time, or two typed dates), the format (CSV or XLSX), then
the file as a document.

Typing the dates is a one-step flow; the period and format buttons also work on their
own. Every tap asks ``exports.scope`` whether the asker may have that export. The file is
built in a task of its own (rows read a batch at a time, written in a worker thread), so
the handler returns at once; a second tap while the asker's file is being built, or on a
format screen already used, is told so and builds nothing.

    [*] --> PERIOD: a kind tapped
    PERIOD --> [*]: a period tapped or typed (the format buttons are shown)
    PERIOD --> PERIOD: dates that are malformed, reversed or in the future
    any --> [*]: /cancel, timeout, another flow
"""

from __future__ import annotations

import logging
import tempfile
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.adapters import exports as files
from bot.adapters.exports import Format, Row
from bot.context import BotContext
from bot.services import exports, statements
from bot.services.exports import ExportError, Kind, Scope
from bot.services.statements import Period, Preset, StatementError
from handlers import flow
from handlers.common import answer, now, refuse, show
from handlers.exports import callbacks as buttons
from handlers.exports import views
from handlers.language import reader
from handlers.reader import Reader

log = logging.getLogger(__name__)
DRAFT = "export_draft"
PERIOD = "export:period"
BUILDING = "exports_building"  # bot_data: the users whose file is being built
MADE = "exports_made"  # bot_data: the format screens already tapped (chat, message)
MADE_KEPT = 1_000


@dataclass
class ExportDraft(flow.FlowMessage):
    reseller: int = 0
    kind: str = Kind.HISTORY.value


async def _scope(
    update: Update, context: BotContext, r: Reader, kind: Kind, reseller: int
) -> Scope | None:
    """What the asker may export of ``kind`` about ``reseller`` (0: all they see); if
    nothing, they are told why and None is returned."""
    user = update.effective_user
    if user is None:
        return None
    try:
        return await exports.scope(
            context.db,
            kind,
            asker=user.id,
            owner_ids=context.settings.admin_ids,
            reseller=reseller or None,
        )
    except ExportError as exc:
        await refuse(update, views.refusal(exc, r.t))
        return None


async def menu(update: Update, context: BotContext) -> None:
    """📤 Export: the kinds the asker may export."""
    r = await reader(update, context)
    reseller = buttons.MENU.parse(context)
    where = await _scope(update, context, r, Kind.HISTORY, reseller)
    if where is not None:
        name = where.reseller.name if reseller and where.reseller else None
        await show(update, *views.menu(reseller, name, where.admin, r))


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def ask_period(update: Update, context: BotContext) -> int | str:
    """A kind tapped: ask for the period."""
    query = update.callback_query
    r = await reader(update, context)
    reseller, kind = buttons.PICK.parse(context)
    if query is None or query.message is None:
        return _end(context)
    if await _scope(update, context, r, kind, reseller) is None:
        return _end(context)
    await answer(query)
    draft = ExportDraft(query.message.chat.id, query.message.message_id, reseller, kind.value)
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await flow.render(context, draft, *views.period_prompt(reseller, kind, r))
    return PERIOD


async def typed_period(update: Update, context: BotContext) -> int | str:
    draft = flow.draft(context, DRAFT, ExportDraft)
    message = update.effective_message
    r = await reader(update, context)
    if draft is None or message is None or message.text is None:
        return _end(context)
    kind = Kind(draft.kind)
    try:
        period = statements.parse_period(message.text, now(context), r.zone)
    except StatementError as exc:
        problem = views.period_problem(exc, r.t)
        await flow.render(context, draft, *views.period_prompt(draft.reseller, kind, r, problem))
        return PERIOD
    if await _scope(update, context, r, kind, draft.reseller) is not None:
        screen = views.formats(draft.reseller, kind, buttons.typed(period), period, r)
        await flow.render(context, draft, *screen)
    return _end(context)


def _period(code: str, update: Update, context: BotContext, r: Reader) -> Period | None:
    found = buttons.period_of(code)
    if isinstance(found, Preset):
        return statements.preset(found, now(context), r.zone)
    return found


async def tapped_period(update: Update, context: BotContext) -> int:
    """A period button, in the flow or on a screen already shown: the format buttons."""
    query = update.callback_query
    r = await reader(update, context)
    reseller, kind, code = buttons.WHEN.parse(context)
    if query is None or await _scope(update, context, r, kind, reseller) is None:
        return _end(context)
    try:
        period = _period(code, update, context, r)
    except ValueError:
        await refuse(update, views.stale(r.t))
        return _end(context)
    await show(update, *views.formats(reseller, kind, code, period, r))
    return _end(context)


async def make(update: Update, context: BotContext) -> None:
    """A format tapped: build the file in a task of its own, once per asker at a time."""
    query, user = update.callback_query, update.effective_user
    r = await reader(update, context)
    reseller, kind, code, kind_of_file = buttons.MAKE.parse(context)
    if query is None or query.message is None or user is None:
        return
    where = await _scope(update, context, r, kind, reseller)
    if where is None:
        return
    try:
        period = _period(code, update, context, r)
    except ValueError:
        await refuse(update, views.stale(r.t))
        return
    building: set[int] = context.bot_data.setdefault(BUILDING, set())
    made: OrderedDict[tuple[int, int], None] = context.bot_data.setdefault(MADE, OrderedDict())
    screen = (query.message.chat.id, query.message.message_id)
    if user.id in building or screen in made:
        text = views.busy(r.t) if user.id in building else views.already_sent(r.t)
        await answer(query, text, alert=True)
        return
    building.add(user.id)
    made[screen] = None
    while len(made) > MADE_KEPT:
        made.popitem(last=False)
    try:
        await show(update, views.building(kind, period, r))
    except TelegramError:
        building.discard(user.id)
        raise
    chat_id = query.message.chat.id
    context.application.create_task(
        _build(context, user.id, chat_id, where, kind, period, kind_of_file, r), update=update
    )


async def _build(
    context: BotContext,
    user_id: int,
    chat_id: int,
    where: Scope,
    kind: Kind,
    period: Period | None,
    kind_of_file: Format,
    r: Reader,
) -> None:
    """Write the file batch by batch into a temporary folder, send it, forget it."""
    try:
        rows = exports.rows(context.db, kind, where, period, r.zone)

        async def batches() -> AsyncIterator[Sequence[Row]]:
            async for batch in rows:
                yield [views.cells(row, r.t) for row in batch]

        with tempfile.TemporaryDirectory() as folder:
            named = where.reseller.telegram_id if where.reseller else None
            path = Path(folder) / views.file_name(kind, period, kind_of_file, named)
            title = views.kind_title(kind, r.t)
            header = views.header(kind, r.t)
            count = await files.write(path, kind_of_file, header, batches(), r.zone, title=title)
            with path.open("rb") as document:
                await context.bot.send_document(
                    chat_id,
                    document,
                    filename=path.name,
                    caption=views.caption(kind, period, count, r),
                )
    except Exception:
        log.exception("export %s for %s failed", kind.value, user_id)
        await context.bot.send_message(chat_id, views.failed(r.t))
    finally:
        context.bot_data.setdefault(BUILDING, set()).discard(user_id)


async def cancel(update: Update, context: BotContext) -> object:
    r = await reader(update, context)
    return await flow.leave(update, context, DRAFT, views.cancelled(r.t))


async def timed_out(update: Update, context: BotContext) -> None:
    if flow.draft(context, DRAFT, ExportDraft) is None:
        return
    r = await reader(update, context)
    await flow.expire(context, DRAFT, views.timed_out(r.t))


def form() -> flow.Flow:
    """Asking for an export's period, for the one conversation all flows share."""
    return flow.Flow(
        name="export",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(ask_period, pattern=buttons.PICK.pattern())],
        states={
            PERIOD: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, typed_period),
                CallbackQueryHandler(tapped_period, pattern=buttons.WHEN.pattern()),
            ],
        },
        fallbacks=[CallbackQueryHandler(cancel, pattern=f"^{buttons.CANCEL}$")],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.replaced,
    )
