"""The persistent outbox: jobs write messages here; the sender drains it.

A message has a unique key, so writing it twice queues it once, and a restart neither
repeats nor loses it. The sender records what came of its sends (``Outcome``) a group at
a time, one transaction for the group (``record``), and starts a new send only once
fewer than its window are unrecorded: a crash repeats at most the messages of one
window (see jobs/notifier.py).

A chat that blocked the bot (a 403) is marked unreachable: nothing is queued for it until
it does anything at all with the bot again.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, exists, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from models import OutboxMessage, OutboxStatus, UnreachableChat
from models.base import UTCDateTime

MAX_BACKOFF = dt.timedelta(minutes=10)
# One encoder for every payload: json.dumps(default=...) builds a new one per call, which
# costs more than the encoding itself when a job queues 100,000 messages.
_JSON = json.JSONEncoder(default=str)


@dataclass(frozen=True)
class Outgoing:
    key: str
    chat_id: int
    kind: str
    payload: dict[str, Any]
    announcement_id: int | None = None  # one copy of this announcement


@dataclass(frozen=True)
class Due:
    id: int
    chat_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Queued:
    """What one write into the outbox did."""

    written: int  # rows inserted; a key queued before is not written again
    skipped: frozenset[str]  # keys not queued because their chat blocked the bot


async def enqueue(session: AsyncSession, messages: Iterable[Outgoing], now: dt.datetime) -> int:
    """Queue messages, skipping keys already queued and chats that blocked the bot.

    Returns how many rows were written; ``enqueue_checked`` also says which were skipped.
    """
    return (await enqueue_checked(session, messages, now)).written


async def enqueue_checked(
    session: AsyncSession, messages: Iterable[Outgoing], now: dt.datetime
) -> Queued:
    """Queue messages like ``enqueue``, and say which keys a blocked chat kept out.

    A job that records "told" (an alert state, a reminder time) records it only for the
    keys not skipped, so what could not be queued is tried again on its next pass.
    """
    batch = list(messages)
    if not batch:
        return Queued(0, frozenset())
    blocked = set(
        await session.scalars(
            select(UnreachableChat.chat_id).where(
                UnreachableChat.chat_id.in_({m.chat_id for m in batch})
            )
        )
    )
    skipped = frozenset(m.key for m in batch if m.chat_id in blocked)
    rows = [
        [m.key, m.chat_id, m.kind, m.payload, m.announcement_id]
        for m in batch
        if m.chat_id not in blocked
    ]
    if not rows:
        return Queued(0, skipped)
    # The whole batch as one JSON document in one statement: the database unpacks it, so
    # the cost per message is one list here, not a bound statement and a returned id.
    # Its row count is the messages really queued, keys queued before excluded.
    dialect = session.get_bind().dialect.name
    statement = _PG_BULK if dialect == "postgresql" else _SQLITE_BULK
    result = await session.execute(
        statement,
        {"batch": _JSON.encode(rows), "status": OutboxStatus.PENDING.value, "now": now},
    )
    return Queued(cast(CursorResult[Any], result).rowcount, skipped)


_COLUMNS = (
    "key, chat_id, kind, payload, announcement_id, status, attempts, next_attempt_at, created_at"
)
_NOW = bindparam("now", type_=UTCDateTime())
_PG_BULK = text(
    f"INSERT INTO outbox ({_COLUMNS}) "
    "SELECT m.value->>0, (m.value->>1)::bigint, m.value->>2, (m.value->3)::text, "
    "(m.value->>4)::bigint, CAST(:status AS varchar), 0, CAST(:now AS timestamptz), "
    "CAST(:now AS timestamptz) "
    "FROM json_array_elements(CAST(:batch AS json)) WITH ORDINALITY AS m(value, n) "
    "ORDER BY m.n ON CONFLICT (key) DO NOTHING"
).bindparams(_NOW)
# WHERE true: SQLite reads ON CONFLICT after a bare SELECT as a join's ON.
_SQLITE_BULK = text(
    f"INSERT INTO outbox ({_COLUMNS}) "
    "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]'), "
    ":status, 0, :now, :now "
    "FROM json_each(:batch) WHERE true ORDER BY key ON CONFLICT (key) DO NOTHING"
).bindparams(_NOW)


async def due(db: Database, now: dt.datetime, limit: int = 200) -> list[Due]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.next_attempt_at <= now,
            )
            # An announcement's copies after every other notice: a broadcast to thousands
            # must not hold back a reseller's top-up decision or a reminder.
            .order_by(
                OutboxMessage.announcement_id.is_not(None),
                OutboxMessage.next_attempt_at,
                OutboxMessage.id,
            )
            .limit(limit)
        )
        return [Due(m.id, m.chat_id, m.kind, json.loads(m.payload), m.attempts) for m in rows]


class Result(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # not delivered: try again after a wait
    FAILED = "failed"  # given up
    UNREACHABLE = "unreachable"  # the chat blocked the bot: drop what is queued for it


@dataclass(frozen=True)
class Outcome:
    """What one send came to, for ``record``."""

    message: Due
    result: Result
    error: str = ""
    wait: dt.timedelta | None = None  # RETRY: after this (None: exponential backoff)
    refused: bool = False  # the chat answered 403: nothing more to it in this pass


def gives_up(message: Due, max_attempts: int) -> bool:
    """Whether a RETRY of ``message`` is its last attempt (it is then failed)."""
    return message.attempts + 1 >= max_attempts


async def record(
    db: Database, outcomes: Iterable[Outcome], now: dt.datetime, *, max_attempts: int
) -> None:
    """Record a group of outcomes in one transaction."""
    done = list(outcomes)
    if not done:
        return
    sent = [o.message.id for o in done if o.result == Result.SENT]
    async with db.transaction() as session:
        if sent:
            # Whatever the message's state: a copy stopped while on the wire went out.
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(sent))
                .values(status=OutboxStatus.SENT, sent_at=now, attempts=OutboxMessage.attempts + 1)
            )
        for outcome in done:
            if outcome.result == Result.RETRY:
                await _retry_later(session, outcome, now, max_attempts)
            elif outcome.result == Result.FAILED:
                await _fail(session, outcome.message.id, outcome.error)
            elif outcome.result == Result.UNREACHABLE:
                await _mark_unreachable(db, session, outcome.message.chat_id, outcome.error, now)


async def _retry_later(
    session: AsyncSession, outcome: Outcome, now: dt.datetime, max_attempts: int
) -> None:
    """Try again after the outcome's wait (or an exponential backoff), or give up."""
    message = outcome.message
    attempts = message.attempts + 1
    wait = outcome.wait
    delay = wait if wait is not None else min(MAX_BACKOFF, dt.timedelta(seconds=2**attempts))
    await session.execute(
        update(OutboxMessage)
        # Only while pending: a message stopped meanwhile stays stopped.
        .where(OutboxMessage.id == message.id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(
            attempts=attempts,
            last_error=outcome.error[:255],
            next_attempt_at=now + delay,
            status=OutboxStatus.FAILED if gives_up(message, max_attempts) else OutboxStatus.PENDING,
        )
    )


async def postpone(db: Database, message_ids: Iterable[int], until: dt.datetime) -> None:
    """Not an attempt: their chats were written to a moment ago."""
    ids = list(message_ids)
    if not ids:
        return
    async with db.transaction() as session:
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(next_attempt_at=until)
        )


async def _fail(session: AsyncSession, message_id: int, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.FAILED, last_error=error[:255])
    )


async def mark_unreachable(db: Database, chat_id: int, reason: str, now: dt.datetime) -> None:
    """The chat blocked the bot: drop what is queued for it and write nothing more."""
    async with db.transaction() as session:
        await _mark_unreachable(db, session, chat_id, reason, now)


async def _mark_unreachable(
    db: Database, session: AsyncSession, chat_id: int, reason: str, now: dt.datetime
) -> None:
    unmarked = _unmarked.get(db)
    if unmarked is not None:
        unmarked.pop(chat_id, None)
    known = await session.scalar(select(exists().where(UnreachableChat.chat_id == chat_id)))
    if not known:
        session.add(UnreachableChat(chat_id=chat_id, reason=reason[:255], since=now))
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.chat_id == chat_id, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.DROPPED, last_error=reason[:255])
    )


# Chats this process found unmarked, with until when it trusts that (monotonic seconds):
# a chat that keeps writing is read once a minute, not on every update. A mark made by
# this process (``mark_unreachable``) forgets the chat at once. Only the instance that
# runs the sender marks chats; an update reaching another instance within a minute of
# that chat's previous one clears the mark at the chat's next update after the minute.
REACHABLE_FOR_SECONDS = 60.0
REACHABLE_REMEMBERED = 10_000
_clock = time.monotonic
_unmarked: weakref.WeakKeyDictionary[Database, OrderedDict[int, float]] = (
    weakref.WeakKeyDictionary()
)


async def mark_reachable(db: Database, chat_id: int) -> bool:
    """The chat did something again (it was unblocked): it can be written to again.

    Called for every update, so it only reads unless the chat really is marked, and
    not even that for a chat found unmarked within the last minute.
    Returns whether it was.
    """
    unmarked = _unmarked.setdefault(db, OrderedDict())
    clock = _clock()
    if unmarked.get(chat_id, 0.0) > clock:
        return False
    async with db.transaction() as session:
        marked = await session.scalar(select(exists().where(UnreachableChat.chat_id == chat_id)))
        if marked:
            await session.execute(delete(UnreachableChat).where(UnreachableChat.chat_id == chat_id))
    unmarked[chat_id] = clock + REACHABLE_FOR_SECONDS
    unmarked.move_to_end(chat_id)
    if len(unmarked) > REACHABLE_REMEMBERED:
        unmarked.popitem(last=False)
    return bool(marked)
