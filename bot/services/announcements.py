"""Announcements: compose, count, queue through the outbox, stop, schedule, progress.

Sending writes one outbox message per recipient chat, keyed by the announcement and the
chat, in the same transaction that marks the announcement sending: a crash queues all or
nothing, a second tap on Send finds the first announcement, and nobody gets two copies.
The outbox sender then sends them within Telegram's limits, after interactive replies.

Stopping moves every copy not yet sent out of the outbox's queue in one statement; the
sender checks copies are still queued just before it hands them to the Bot API, so
nothing goes out after the Stop but copies already on the wire, in the sender's window
(which are then counted as sent: the counts are the copies' states, always exact).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import announcement_authors as authors
from bot.services import outbox
from bot.services.announcement_audience import (
    Audience,
    AudienceError,
    Author,
    Segment,
    Target,
    check,
    count,
    recipients,
)
from models import Announcement, AnnouncementStatus, OutboxMessage, OutboxStatus

KIND = "announcement"  # the outbox kind of one copy
STOPPED = "stopped by its author"  # the last_error of a copy its announcement's Stop held back
MAX_TEXT = 4096  # Telegram's limits of a message's text and a photo's caption
MAX_CAPTION = 1024
MAX_LABEL = 64
MAX_URL = 512
MAX_WHEN = 200  # the maintenance window, as its author writes it
QUEUE_CHUNK = 5_000
_URL = re.compile(r"^(https?://|tg://)\S+$", re.IGNORECASE)


class ButtonKind(StrEnum):
    URL = "url"
    RENEW = "renew"  # customers only: asks their reseller to renew


class Template(StrEnum):
    # Worded in each reader's language when sent; the author gives only the window.
    MAINTENANCE = "maintenance"


class AnnouncementError(Exception):
    """Refused; ``code`` says why, for the views to word in the reader's language."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Message:
    """What every recipient gets: the author's HTML text (or a template's value), an
    optional photo and an optional button."""

    text: str
    template: Template | None = None
    photo_file_id: str | None = None
    button: ButtonKind | None = None
    button_label: str | None = None
    button_url: str | None = None


@dataclass(frozen=True)
class Content:
    """One announcement as the sender writes its copies."""

    id: int
    audience: Audience
    message: Message


@dataclass(frozen=True)
class Progress:
    id: int
    author_telegram_id: int
    status: AnnouncementStatus
    recipients: int
    sent: int
    failed: int
    blocked: int
    stopped: int
    remaining: int
    scheduled_at: dt.datetime | None
    queued_at: dt.datetime | None
    finished_at: dt.datetime | None
    chat_id: int | None  # the progress message's
    message_id: int | None

    def eta(self, now: dt.datetime) -> dt.timedelta | None:
        """Time left at the rate so far; None until something went out."""
        done = self.sent + self.failed + self.blocked
        if not self.remaining or not done or self.queued_at is None:
            return None
        elapsed = (now - self.queued_at).total_seconds()
        if elapsed <= 0:
            return None
        return dt.timedelta(seconds=round(self.remaining * elapsed / done))


def check_message(message: Message, audience: Audience) -> Message:
    """The message if Telegram will take it and its button fits its audience."""
    limit = MAX_CAPTION if message.photo_file_id else MAX_TEXT
    if message.template is not None:
        if not message.text.strip() or len(message.text) > MAX_WHEN:
            raise AnnouncementError("maintenance window empty or too long", "bad_when")
    elif not message.text.strip() or len(message.text) > limit:
        raise AnnouncementError("text empty or too long", "bad_text")
    if message.button == ButtonKind.RENEW and audience != Audience.CUSTOMERS:
        raise AnnouncementError("only customers can ask for a renewal", "renew_customers_only")
    if message.button == ButtonKind.URL:
        parse_link(f"{message.button_label or ''} | {message.button_url or ''}")
    return message


def parse_link(text: str) -> tuple[str, str]:
    """A link button typed as ``label | https://...``: its label and address."""
    label, bar, url = text.partition("|")
    label, url = " ".join(label.split()), url.strip()
    if not bar or not label or len(label) > MAX_LABEL or len(url) > MAX_URL or not _URL.match(url):
        raise AnnouncementError(f"bad link button {text!r}", "bad_link")
    return label, url


def _check(author: Author, target: Target) -> Target:
    try:
        return check(author, target)
    except AudienceError as exc:
        raise AnnouncementError(str(exc), exc.code) from exc


async def reach(db: Database, author: Author, target: Target, now: dt.datetime) -> int:
    """How many chats ``target`` reaches now (the preview's count)."""
    target = _check(author, target)
    async with db.transaction() as session:
        return await count(session, author, target, now)


async def create(
    db: Database,
    author: Author,
    target: Target,
    message: Message,
    *,
    key: str,
    now: dt.datetime,
    send_at: dt.datetime | None = None,
    progress_at: tuple[int, int] | None = None,
    reseller_daily_limit: int | None = None,
) -> Progress:
    """Send (or schedule for ``send_at``) once per ``key``; the progress to show. A
    reseller author may create at most ``reseller_daily_limit`` in any 24 hours."""
    target = _check(author, target)
    message = check_message(message, target.audience)
    if send_at is not None and send_at <= now:
        raise AnnouncementError("the time to send is past", "past")

    async def work(session: AsyncSession) -> int:
        found = await session.scalar(
            select(Announcement.id).where(Announcement.idempotency_key == key)
        )
        if found is not None:
            return found
        if author.reseller_id is not None and reseller_daily_limit is not None:
            recent = await session.scalar(
                select(func.count()).where(
                    Announcement.reseller_id == author.reseller_id,
                    Announcement.created_at > now - dt.timedelta(days=1),
                )
            )
            if (recent or 0) >= reseller_daily_limit:
                raise AnnouncementError("too many announcements today", "too_many")
        row = Announcement(
            idempotency_key=key, author_telegram_id=author.telegram_id,
            reseller_id=author.reseller_id, audience=target.audience,
            segment=target.segment, segment_value=target.value, service=target.service,
            text=message.text, template=message.template, photo_file_id=message.photo_file_id,
            button=message.button, button_label=message.button_label,
            button_url=message.button_url, scheduled_at=send_at,
            status=AnnouncementStatus.SCHEDULED, recipients=0, created_at=now,
            progress_chat_id=progress_at[0] if progress_at else None,
            progress_message_id=progress_at[1] if progress_at else None,
        )  # fmt: skip
        session.add(row)
        await session.flush()
        if send_at is None:
            await _queue(session, row, now)
        return row.id

    announcement_id = await db.run(work)
    found = await progress(db, announcement_id)
    assert found is not None, "just written"
    return found


def _author(row: Announcement) -> Author:
    return Author(row.author_telegram_id, row.reseller_id)


def _target(row: Announcement) -> Target:
    return Target(Audience(row.audience), Segment(row.segment), row.segment_value, row.service)


async def _queue(session: AsyncSession, row: Announcement, now: dt.datetime) -> None:
    """One outbox copy per chat the announcement reaches now."""
    chats: list[int] = list(await session.scalars(recipients(_author(row), _target(row), now)))
    written = 0
    for start in range(0, len(chats), QUEUE_CHUNK):
        copies = [
            outbox.Outgoing(
                key=f"ann:{row.id}:{chat}",
                chat_id=chat,
                kind=KIND,
                payload={"announcement": row.id},
                announcement_id=row.id,
            )
            for chat in chats[start : start + QUEUE_CHUNK]
        ]
        written += (await outbox.enqueue_checked(session, copies, now)).written
    row.recipients, row.queued_at = written, now
    row.status = AnnouncementStatus.SENDING if written else AnnouncementStatus.DONE
    row.finished_at = None if written else now


async def queue_due(db: Database, now: dt.datetime, *, owner_ids: Collection[int]) -> list[int]:
    """Queue the scheduled announcements whose time has come; their ids. One whose author
    may no longer announce is not sent: it is stopped, and its author told why."""
    async with db.transaction() as session:
        due = (
            await session.execute(
                select(Announcement.id, Announcement.author_telegram_id, Announcement.reseller_id)
                .where(
                    Announcement.status == AnnouncementStatus.SCHEDULED,
                    Announcement.scheduled_at <= now,
                )
                .order_by(Announcement.id)
            )
        ).all()
    queued = []
    for announcement_id, author_telegram_id, reseller_id in due:
        # Checked outside the write: who the author is now is read on its own.
        refused = await authors.refusal(db, author_telegram_id, reseller_id, owner_ids)
        async with db.transaction() as session:
            row = await session.get(Announcement, announcement_id, with_for_update=True)
            # Stopped (cancelled) meanwhile, or queued by another pass: nothing to do.
            if row is None or row.status != AnnouncementStatus.SCHEDULED:
                continue
            if refused is not None:
                await authors.refuse(session, row, refused, now)
                continue
            await _queue(session, row, now)
            queued.append(announcement_id)
    return queued


async def stop(db: Database, announcement_id: int, *, asker: int, admin: bool) -> Progress:
    """Stop what has not gone out (or cancel a scheduled one). The author may, and admins;
    anyone else is refused. Stopping a finished one changes nothing."""
    async with db.transaction() as session:
        row = await session.get(Announcement, announcement_id)
        if row is None or not (admin or row.author_telegram_id == asker):
            raise AnnouncementError("not this asker's announcement", "not_yours")
        changed = await session.execute(
            update(Announcement)
            .where(
                Announcement.id == announcement_id,
                Announcement.status.in_([AnnouncementStatus.SCHEDULED, AnnouncementStatus.SENDING]),
            )
            .values(status=AnnouncementStatus.STOPPED)
        )
        if changed.rowcount:  # type: ignore[attr-defined]
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.announcement_id == announcement_id,
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
                .values(status=OutboxStatus.FAILED, last_error=STOPPED)
            )
    found = await progress(db, announcement_id)
    assert found is not None, "read above"
    return found


async def _counts(session: AsyncSession, announcement_id: int) -> dict[str, int]:
    held_back = case((func.coalesce(OutboxMessage.last_error, "") == STOPPED, 1), else_=0)
    rows = await session.execute(
        select(OutboxMessage.status, held_back, func.count())
        .where(OutboxMessage.announcement_id == announcement_id)
        .group_by(OutboxMessage.status, held_back)
    )
    counts = {"sent": 0, "failed": 0, "blocked": 0, "stopped": 0, "remaining": 0}
    names = {OutboxStatus.SENT: "sent", OutboxStatus.FAILED: "failed",
             OutboxStatus.DROPPED: "blocked", OutboxStatus.PENDING: "remaining"}  # fmt: skip
    for status, stopped, n in rows:
        name = "stopped" if stopped and status == OutboxStatus.FAILED else names[status]
        counts[name] += n
    return counts


async def _progress(session: AsyncSession, row: Announcement) -> Progress:
    return Progress(
        row.id, row.author_telegram_id, AnnouncementStatus(row.status), row.recipients,
        **await _counts(session, row.id), scheduled_at=row.scheduled_at,
        queued_at=row.queued_at, finished_at=row.finished_at, chat_id=row.progress_chat_id,
        message_id=row.progress_message_id,
    )  # fmt: skip


async def progress(db: Database, announcement_id: int) -> Progress | None:
    async with db.transaction() as session:
        row = await session.get(Announcement, announcement_id)
        return None if row is None else await _progress(session, row)


async def unfinished(db: Database) -> list[int]:
    """Announcements whose progress message still changes: sending, or stopped and not
    yet shown final."""
    async with db.transaction() as session:
        return list(
            await session.scalars(
                select(Announcement.id)
                .where(
                    Announcement.status.in_(
                        [AnnouncementStatus.SENDING, AnnouncementStatus.STOPPED]
                    ),
                    Announcement.finished_at.is_(None),
                )
                .order_by(Announcement.id)
            )
        )


async def finish_if_drained(db: Database, announcement_id: int, now: dt.datetime) -> Progress:
    """Mark it finished once nothing of it waits in the outbox; its progress then."""
    async with db.transaction() as session:
        row = await session.get(Announcement, announcement_id, with_for_update=True)
        assert row is not None, "listed by unfinished"
        shown = await _progress(session, row)
        if shown.remaining or row.finished_at is not None:
            return shown
        if row.status == AnnouncementStatus.SENDING:
            row.status = AnnouncementStatus.DONE
        row.finished_at = now
        return await _progress(session, row)


async def pending_copies(db: Database, outbox_ids: Iterable[int]) -> dict[int, Content]:
    """What each copy queued as one of ``outbox_ids`` says, for those still queued (a
    stopped one is left out), by outbox id: read in one query just before they are sent."""
    ids = list(outbox_ids)
    if not ids:
        return {}
    async with db.transaction() as session:
        rows = await session.execute(
            select(OutboxMessage.id, Announcement)
            .join(Announcement, OutboxMessage.announcement_id == Announcement.id)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == OutboxStatus.PENDING)
        )
        found = [(outbox_id, row) for outbox_id, row in rows]
    contents: dict[int, Content] = {}  # by announcement: its copies share one
    return {
        outbox_id: contents.get(row.id) or contents.setdefault(row.id, _content(row))
        for outbox_id, row in found
    }


def _content(row: Announcement) -> Content:
    return Content(
        row.id,
        Audience(row.audience),
        Message(
            row.text,
            Template(row.template) if row.template else None,
            row.photo_file_id,
            ButtonKind(row.button) if row.button else None,
            row.button_label,
            row.button_url,
        ),
    )
