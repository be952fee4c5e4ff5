"""The scheduled reports: the admins' summaries and the resellers' monthly statements.

The job queues what is due (``bot.services.report_schedule``); the sender delivers it.
A statement goes out as a document: its figures and its XLSX file are made when it is
sent, from the ledger, in the reseller's language at that moment.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from telegram.ext import ExtBot

from bot.adapters import exports
from bot.adapters.exports import Row
from bot.db import Database
from bot.i18n import Translator
from bot.ratelimit import BULK
from bot.services import report_schedule, report_switches, statements
from bot.services.report_schedule import Schedule
from bot.services.resellers import ResellerError
from bot.services.statements import Period, Statement
from bot.settings import REPORT_SECTIONS, Settings
from handlers.reader import Reader
from jobs import report_views

UPLOAD_SECONDS = 120


def schedule(settings: Settings, choices: Mapping[str, bool]) -> Schedule:
    """The reports due as the settings say, with the owners' choices made in the bot."""
    on = report_switches.effective(settings.report_switches(), choices)
    weekly = (settings.report_weekly_day, settings.report_weekly_time)
    return Schedule(
        zone=settings.zone,
        admin_chat_id=settings.admin_chat_id,
        daily=settings.report_daily_time if on["daily"] else None,
        weekly=weekly if on["weekly"] else None,
        sections=tuple(name for name, shown in on.items() if shown and name in REPORT_SECTIONS),
        statements=settings.statement_time if on["statements"] else None,
    )


async def run_reports(db: Database, settings: Settings, now: dt.datetime) -> int:
    """Queue the summaries and statements due at ``now``; how many messages were queued."""
    plan = schedule(settings, await report_switches.chosen(db))
    queued = await report_schedule.queue_summaries(db, now, plan)
    return queued + await report_schedule.queue_statements(db, now, plan)


async def send_statement(
    bot: ExtBot[Any], db: Database, settings: Settings, payload: dict[str, Any], t: Translator
) -> None:
    """Make the queued statement and its file, and send them as one document.

    Raises ValueError when the reseller is gone (the sender then gives the message up).
    """
    period = Period(dt.date.fromisoformat(payload["first"]), dt.date.fromisoformat(payload["last"]))
    try:
        found = await statements.statement(db, int(payload["telegram_id"]), period, settings.zone)
    except ResellerError as exc:
        raise ValueError(str(exc)) from exc
    reader = Reader.of(settings, t)
    with tempfile.TemporaryDirectory(prefix="statement-") as folder:
        path = Path(folder) / report_views.statement_file_name(found)
        await write_statement(db, found, path, reader)
        await bot.send_document(
            found.reseller.telegram_id, document=path, filename=path.name,
            caption=report_views.statement_message(found, reader), rate_limit_args=BULK,
            write_timeout=UPLOAD_SECONDS, read_timeout=UPLOAD_SECONDS,
        )  # fmt: skip


async def write_statement(db: Database, found: Statement, path: Path, reader: Reader) -> int:
    """The statement as an XLSX file: its figures, then every movement with the balance."""
    t = reader.t
    head, *summary = report_views.statement_rows(found, t)

    async def rows() -> AsyncIterator[Sequence[Row]]:
        yield summary
        async for batch in statements.lines(db, found, reader.zone):
            yield [report_views.statement_line(line, t) for line in batch]

    return await exports.write(
        path, exports.Format.XLSX, head, rows(), reader.zone, title=report_views.sheet_title(t)
    )
