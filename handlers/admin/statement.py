"""Reports on postpaid resellers: who owes (/debtors, or the admin menu), and a reseller's
statement for a period, in chat and as a CSV file.

The statement starts from the card's 📄 Statement: a one-step flow waits for a period
typed as two dates; its period buttons also work on their own, after the flow is over.
The REPORTS permission is checked on every command and every tap.

    [*] --> PERIOD: 📄 Statement
    PERIOD --> [*]: a period tapped or typed (the statement and its file are sent)
    PERIOD --> PERIOD: dates that are malformed, reversed or in the future
    any --> [*]: /cancel, timeout, another flow
"""

from __future__ import annotations

import asyncio
import csv
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.services import cash, resellers, statements
from bot.services.resellers import ResellerError
from bot.services.roles import Permission
from bot.services.statements import Period, StatementError
from handlers import flow
from handlers.admin import postpaid_callbacks as buttons
from handlers.admin import statement_views as views
from handlers.admin.views import refusal as card_refusal
from handlers.common import answer, now, permitted, refuse, show
from handlers.language import reader
from handlers.reader import Reader

DRAFT = "statement_draft"
PERIOD = "statement:period"


@dataclass
class StatementDraft(flow.FlowMessage):
    telegram_id: int = 0
    name: str = ""


async def _allowed(update: Update, context: BotContext) -> Reader | None:
    """The asker as a reader if they may see reports; otherwise they are told no."""
    r = await reader(update, context)
    if not await permitted(update, context, Permission.REPORTS, r.t):
        return None
    return r


async def debtors(update: Update, context: BotContext) -> None:
    """/debtors, or 💸 Who owes: postpaid resellers that owe, the most first."""
    r = await _allowed(update, context)
    if r is None:
        return
    page = buttons.DEBTORS.parse(context) if update.callback_query else 0
    rows = await cash.debtors(context.db, now=now(context))
    await show(update, *views.debtors(rows, page, r))


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def ask_period(update: Update, context: BotContext) -> int | str:
    """📄 Statement on a card: ask for the period."""
    query = update.callback_query
    r = await _allowed(update, context)
    if r is None or query is None or query.message is None:
        return _end(context)
    try:
        row = await resellers.reseller_row(context.db, buttons.STATEMENT.parse(context))
    except ResellerError as exc:
        await refuse(update, card_refusal(exc, r))
        return _end(context)
    await answer(query)
    who = row.reseller
    draft = StatementDraft(
        query.message.chat.id, query.message.message_id, who.telegram_id, who.name
    )
    assert context.user_data is not None
    context.user_data[DRAFT] = draft
    await flow.render(context, draft, *views.period_prompt(who.name, who.telegram_id, r))
    return PERIOD


async def typed_period(update: Update, context: BotContext) -> int | str:
    draft = flow.draft(context, DRAFT, StatementDraft)
    message = update.effective_message
    r = await _allowed(update, context)
    if draft is None or r is None or message is None or message.text is None:
        return _end(context)
    try:
        period = statements.parse_period(message.text, now(context), r.zone)
    except StatementError as exc:
        problem = views.period_problem(exc, r.t)
        screen = views.period_prompt(draft.name, draft.telegram_id, r, problem)
        await flow.render(context, draft, *screen)
        return PERIOD
    await _send(context, draft, draft.telegram_id, period, r)
    return _end(context)


async def tapped_period(update: Update, context: BotContext) -> int:
    """A period button, in the flow or on a statement already shown."""
    query = update.callback_query
    r = await _allowed(update, context)
    if r is None or query is None or query.message is None:
        return _end(context)
    await answer(query)
    telegram_id, preset = buttons.STATEMENT_PERIOD.parse(context)
    period = statements.preset(preset, now(context), r.zone)
    on = flow.FlowMessage(query.message.chat.id, query.message.message_id)
    await _send(context, on, telegram_id, period, r)
    return _end(context)


async def _send(
    context: BotContext, on: flow.FlowMessage, telegram_id: int, period: Period, r: Reader
) -> None:
    """The statement on the flow's message, then its CSV file as a document."""
    try:
        found = await statements.statement(context.db, telegram_id, period, r.zone)
    except ResellerError as exc:
        await flow.render(context, on, card_refusal(exc, r), None)
        return
    await flow.render(context, on, *views.statement(found, r))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / views.file_name(found)
        await asyncio.to_thread(_write, path, views.csv_summary(found, r.t), "w")
        async for batch in statements.lines(context.db, found, r.zone):
            rows = [views.csv_line(line, r) for line in batch]
            await asyncio.to_thread(_write, path, rows, "a")
        with path.open("rb") as document:
            await context.bot.send_document(
                on.chat_id,
                document,
                filename=path.name,
                caption=views.file_caption(found, r),
            )


def _write(path: Path, rows: Sequence[Sequence[str]], mode: str) -> None:
    # utf-8-sig: spreadsheets then read the names and comments in any script.
    encoding = "utf-8-sig" if mode == "w" else "utf-8"
    with path.open(mode, newline="", encoding=encoding) as out:
        csv.writer(out).writerows(rows)


async def cancel(update: Update, context: BotContext) -> object:
    r = await reader(update, context)
    return await flow.leave(update, context, DRAFT, views.cancelled(r.t))


async def timed_out(update: Update, context: BotContext) -> None:
    if flow.draft(context, DRAFT, StatementDraft) is None:
        return
    r = await reader(update, context)
    await flow.expire(context, DRAFT, views.timed_out(r.t))


def statement() -> flow.Flow:
    """Asking for a statement's period, for the one conversation all flows share."""
    return flow.Flow(
        name="statement",
        draft_key=DRAFT,
        entry_points=[CallbackQueryHandler(ask_period, pattern=buttons.STATEMENT.pattern())],
        states={
            PERIOD: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, typed_period),
                CallbackQueryHandler(tapped_period, pattern=buttons.STATEMENT_PERIOD.pattern()),
            ],
        },
        fallbacks=[CallbackQueryHandler(cancel, pattern=buttons.STATEMENT_CANCEL.pattern())],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.replaced,
    )
