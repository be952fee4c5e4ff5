"""When the scheduled reports are due, and queueing them: the admins' daily and weekly
summaries, and each reseller's monthly statement.

Each report is due from its local time on its day: a daily summary covers the day before,
a weekly one the seven days before its weekday, a statement the month before (due from
the 1st and until the 7th, so a bot that was down on the 1st still sends it).
What was queued for a period is a job run, and each message's outbox key names the
period, so however often the job runs, and across restarts, a period is queued once;
the sender then retries it within its limits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.db import Database
from bot.services import job_runs, summaries
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue_checked
from bot.services.statements import Period
from models import Reseller

STATEMENT_BATCH = 500  # resellers queued per transaction
# A bot down on the 1st still sends the statements within the month's first week; one
# first started later in the month does not send last month's out of the blue.
STATEMENT_CATCH_UP_DAYS = 7


class Every(StrEnum):
    DAY = "daily"
    WEEK = "weekly"


@dataclass(frozen=True)
class Schedule:
    """The report settings the services need, as plain values (None: that report is off)."""

    zone: ZoneInfo
    admin_chat_id: int | None
    daily: dt.time | None
    weekly: tuple[int, dt.time] | None  # ISO weekday (1 Monday .. 7 Sunday), local time
    sections: tuple[str, ...]
    statements: dt.time | None


def summary_due(every: Every, now: dt.datetime, schedule: Schedule) -> Period | None:
    """The period whose summary is due at ``now``, or None."""
    local = now.astimezone(schedule.zone)
    today = local.date()
    if every == Every.DAY:
        if schedule.daily is None or local.time() < schedule.daily:
            return None
        return Period(today - dt.timedelta(days=1), today - dt.timedelta(days=1))
    if schedule.weekly is None:
        return None
    weekday, at = schedule.weekly
    if local.isoweekday() != weekday or local.time() < at:
        return None
    return Period(today - dt.timedelta(days=7), today - dt.timedelta(days=1))


def statement_due(now: dt.datetime, schedule: Schedule) -> Period | None:
    """Last month, from the 1st at the statement time until the end of the 7th."""
    if schedule.statements is None:
        return None
    local = now.astimezone(schedule.zone)
    first = local.date().replace(day=1)
    if local < dt.datetime.combine(first, schedule.statements, schedule.zone):
        return None
    if local.day > STATEMENT_CATCH_UP_DAYS:
        return None
    last = first - dt.timedelta(days=1)
    return Period(last.replace(day=1), last)


def _name(period: Period) -> str:
    return f"{period.first.isoformat()}..{period.last.isoformat()}"


async def queue_summaries(db: Database, now: dt.datetime, schedule: Schedule) -> int:
    """Queue the daily and weekly summaries that are due and not yet queued (a period
    is done once its message is queued: not while the admin group is out of reach)."""
    chat_id = schedule.admin_chat_id
    if chat_id is None or not schedule.sections:
        return 0
    queued = 0
    for every in Every:
        period = summary_due(every, now, schedule)
        if period is None:
            continue
        job, name = f"report:{every}", _name(period)
        async with db.transaction() as session:
            if await job_runs.is_done(session, job, name):
                continue
        figures = await summaries.summary(db, period, schedule.zone, now=now)
        message = Outgoing(
            key=f"{job}:{chat_id}:{name}",
            chat_id=chat_id,
            kind=Kind.SUMMARY,
            payload={"every": every.value, "sections": list(schedule.sections),
                     **figures.payload()},
        )  # fmt: skip
        async with db.transaction() as session:
            done = await enqueue_checked(session, [message], now)
            if not done.skipped:  # an unreachable group: tried again on the next pass
                await job_runs.record(session, job, name, now, {"chat_id": chat_id})
        queued += done.written
    return queued


async def queue_statements(db: Database, now: dt.datetime, schedule: Schedule) -> int:
    """Queue last month's statement for every reseller registered before it ended.

    A reseller with no movement still gets one (its balance, unchanged): the statement
    is also the confirmation of what it holds or owes. One who has blocked the bot gets
    it if it is back before the catch-up ends: until then the month is not recorded as
    done, and each pass queues what it can (the others' keys are queued already). The
    figures and the file are made when the message is sent, from the ledger, which no
    longer changes for that month.
    """
    period = statement_due(now, schedule)
    if period is None:
        return 0
    job, name = "report:statements", period.first.strftime("%Y-%m")
    async with db.transaction() as session:
        if await job_runs.is_done(session, job, name):
            return 0
    _, end = period.bounds(schedule.zone)
    queued, after, waiting = 0, 0, 0
    while True:
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(Reseller.id, Reseller.telegram_id)
                    .where(Reseller.id > after, Reseller.created_at < end)
                    .order_by(Reseller.id)
                    .limit(STATEMENT_BATCH)
                )
            ).all()
            if not rows:
                break
            messages = [
                Outgoing(
                    key=f"{job}:{reseller_id}:{name}",
                    chat_id=telegram_id,
                    kind=Kind.STATEMENT,
                    payload={
                        "telegram_id": telegram_id,
                        "first": period.first.isoformat(),
                        "last": period.last.isoformat(),
                    },
                )
                for reseller_id, telegram_id in rows
            ]
            done = await enqueue_checked(session, messages, now)
        queued, waiting = queued + done.written, waiting + len(done.skipped)
        after = rows[-1][0]
    if not waiting:
        async with db.transaction() as session:
            await job_runs.record(session, job, name, now, {"queued": queued})
    return queued
