"""When the scheduled backup is due, and what it sent.

Each backup sent is a job run (``job_runs``) of the chat it went to, so a restart knows
when the last one went out and sends at most one per interval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.db import Database
from bot.services import job_runs
from bot.services.backup import BackupMade

PREFIX = "auto"  # the scheduled backups' file names: auto-20260101T120000Z.sqlite3.enc


@dataclass(frozen=True)
class Sent:
    at: dt.datetime
    file: str
    message_id: int


def _job(chat_id: int) -> str:
    return f"backup:{chat_id}"


async def last_sent(db: Database, chat_id: int) -> dt.datetime | None:
    """When a backup last reached ``chat_id``, or None if one never did."""
    async with db.transaction() as session:
        return await job_runs.last_done(session, _job(chat_id))


def is_due(last: dt.datetime | None, now: dt.datetime, interval: dt.timedelta) -> bool:
    return last is None or now - last >= interval


async def record_sent(
    db: Database, *, chat_id: int, made: BackupMade, message_id: int, now: dt.datetime
) -> None:
    detail = {"file": made.path.name, "size": made.size, "message_id": message_id}
    async with db.transaction() as session:
        await job_runs.record(session, _job(chat_id), made.path.name, now, detail)


async def history(db: Database, chat_id: int) -> list[Sent]:
    """Every backup sent to ``chat_id``, oldest first."""
    async with db.transaction() as session:
        found = await job_runs.runs(session, _job(chat_id))
    return [
        Sent(run.done_at, str(run.detail["file"]), int(run.detail["message_id"])) for run in found
    ]
