"""When the scheduled backup is due, and what it sent.

What was sent is kept in the outbox, the table of what the jobs sent, as rows of their own
kind that are written already sent (the sender only ever picks pending rows): so a restart
knows when the last backup went out and sends at most one per interval.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, select

from bot.db import Database
from bot.services.backup import BackupMade
from models import OutboxMessage, OutboxStatus

KIND = "backup_sent"
PREFIX = "auto"  # the scheduled backups' file names: auto-20260101T120000Z.sqlite3.enc


@dataclass(frozen=True)
class Sent:
    at: dt.datetime
    file: str
    message_id: int


async def last_sent(db: Database, chat_id: int) -> dt.datetime | None:
    """When a backup last reached ``chat_id``, or None if one never did."""
    async with db.transaction() as session:
        return await session.scalar(
            select(func.max(OutboxMessage.sent_at)).where(
                OutboxMessage.kind == KIND,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.status == OutboxStatus.SENT,
            )
        )


def is_due(last: dt.datetime | None, now: dt.datetime, interval: dt.timedelta) -> bool:
    return last is None or now - last >= interval


async def record_sent(
    db: Database, *, chat_id: int, made: BackupMade, message_id: int, now: dt.datetime
) -> None:
    payload = {"file": made.path.name, "size": made.size, "message_id": message_id}
    async with db.transaction() as session:
        session.add(
            OutboxMessage(
                key=f"backup:{chat_id}:{made.path.name}"[:191],
                chat_id=chat_id,
                kind=KIND,
                payload=json.dumps(payload),
                status=OutboxStatus.SENT,
                attempts=1,
                next_attempt_at=now,
                created_at=made.made_at,
                sent_at=now,
            )
        )


async def history(db: Database, chat_id: int) -> list[Sent]:
    """Every backup sent to ``chat_id``, oldest first."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(OutboxMessage.sent_at, OutboxMessage.payload)
            .where(OutboxMessage.kind == KIND, OutboxMessage.chat_id == chat_id)
            .order_by(OutboxMessage.sent_at, OutboxMessage.id)
        )
        found = []
        for at, payload in rows:
            if at is None:
                continue
            values = json.loads(payload)
            found.append(Sent(at, str(values["file"]), int(values["message_id"])))
        return found
