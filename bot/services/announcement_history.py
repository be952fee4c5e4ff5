"""Past announcements: a page of them (their author's own; an admin's, everyone's) with
their state, audience and final counts, one in full, and cancelling a scheduled one.

The counts are those of ``announcements`` (the copies' states in the outbox), read for a
whole page in one grouped query. A segment's value is named (the plan's, the reseller's,
the panel's name) so the list says whom it reached without a lookup per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import announcement_authors as authors
from bot.services.announcement_audience import Audience, Segment
from bot.services.announcements import STOPPED, AnnouncementError, Template
from models import (
    Announcement,
    AnnouncementStatus,
    OutboxMessage,
    OutboxStatus,
    Panel,
    Plan,
    Reseller,
)

PAGE_SIZE = 8
MAX_PAGE = 9_999  # a page number past the last shows the last


@dataclass(frozen=True)
class Asker:
    """Who asks: an admin allowed to announce sees every announcement, anyone else only
    their own."""

    telegram_id: int
    admin: bool


@dataclass(frozen=True)
class Counts:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    stopped: int = 0  # held back by a Stop
    remaining: int = 0


@dataclass(frozen=True)
class Past:
    id: int
    author_telegram_id: int
    status: AnnouncementStatus
    audience: Audience
    segment: Segment
    value: str | None
    value_name: str | None  # the plan's, reseller's or panel's name; None if gone
    service: bool
    text: str  # the author's HTML, or the maintenance window
    template: Template | None
    has_photo: bool
    recipients: int
    created_at: dt.datetime
    scheduled_at: dt.datetime | None
    queued_at: dt.datetime | None
    finished_at: dt.datetime | None
    counts: Counts
    # Why it was not sent when its time came (announcement_authors.REASONS); None if it was
    # not refused.
    refused: str | None = None

    @property
    def cancellable(self) -> bool:
        return self.status == AnnouncementStatus.SCHEDULED

    @property
    def cancelled(self) -> bool:
        """Stopped before its time came: nothing of it was ever queued."""
        return self.status == AnnouncementStatus.STOPPED and self.queued_at is None

    @property
    def when(self) -> dt.datetime:
        """When it went (or goes) out."""
        return self.queued_at or self.scheduled_at or self.created_at


@dataclass(frozen=True)
class HistoryPage:
    items: tuple[Past, ...]
    total: int
    page: int  # from 0, clamped to the last
    pages: int


def _visible(query: Select[Any], asker: Asker) -> Select[Any]:
    if asker.admin:
        return query
    return query.where(Announcement.author_telegram_id == asker.telegram_id)


async def _counts(session: AsyncSession, ids: Sequence[int]) -> dict[int, Counts]:
    if not ids:
        return {}
    held_back = func.coalesce(OutboxMessage.last_error, "") == STOPPED
    rows = await session.execute(
        select(OutboxMessage.announcement_id, OutboxMessage.status, held_back, func.count())
        .where(OutboxMessage.announcement_id.in_(ids))
        .group_by(OutboxMessage.announcement_id, OutboxMessage.status, held_back)
    )
    names = {OutboxStatus.SENT: "sent", OutboxStatus.FAILED: "failed",
             OutboxStatus.DROPPED: "blocked", OutboxStatus.PENDING: "remaining"}  # fmt: skip
    found: dict[int, dict[str, int]] = {}
    for announcement_id, status, stopped, n in rows:
        name = (
            "stopped" if stopped and status == OutboxStatus.FAILED else names[OutboxStatus(status)]
        )
        into = found.setdefault(announcement_id or 0, {})
        into[name] = into.get(name, 0) + n
    return {key: Counts(**value) for key, value in found.items()}


async def _names(session: AsyncSession, rows: Sequence[Announcement]) -> dict[tuple[str, str], str]:
    """The names of the segments' values: one query per kind of value on the page."""
    tables = {Segment.PLAN: (Plan.id, Plan.name), Segment.PANEL: (Panel.id, Panel.name),
              Segment.RESELLER: (Reseller.id, Reseller.name)}  # fmt: skip
    names: dict[tuple[str, str], str] = {}
    for segment, (key, name) in tables.items():
        wanted = {int(r.segment_value or 0) for r in rows
                  if r.segment == segment and (r.segment_value or "").isdecimal()}  # fmt: skip
        if wanted:
            for found_id, found_name in await session.execute(
                select(key, name).where(key.in_(wanted))
            ):
                names[segment.value, str(found_id)] = found_name
    return names


def _past(row: Announcement, counts: Counts, names: dict[tuple[str, str], str]) -> Past:
    return Past(
        id=row.id, author_telegram_id=row.author_telegram_id,
        status=AnnouncementStatus(row.status), audience=Audience(row.audience),
        segment=Segment(row.segment), value=row.segment_value,
        value_name=names.get((row.segment, row.segment_value or "")), service=row.service,
        text=row.text, template=Template(row.template) if row.template else None,
        has_photo=row.photo_file_id is not None, recipients=row.recipients,
        created_at=row.created_at, scheduled_at=row.scheduled_at, queued_at=row.queued_at,
        finished_at=row.finished_at, counts=counts,
    )  # fmt: skip


async def _described(session: AsyncSession, rows: Sequence[Announcement]) -> list[Past]:
    counts = await _counts(session, [row.id for row in rows])
    names = await _names(session, rows)
    # Only one stopped before anything was queued can have been refused.
    unqueued = [r.id for r in rows if r.status == AnnouncementStatus.STOPPED and not r.queued_at]
    refused = await authors.reasons(session, unqueued)
    return [
        replace(_past(row, counts.get(row.id, Counts()), names), refused=refused.get(row.id))
        for row in rows
    ]


async def history(db: Database, asker: Asker, page: int, size: int = PAGE_SIZE) -> HistoryPage:
    """Page ``page`` (from 0; past the last: the last) of what ``asker`` may see, newest
    first."""
    async with db.transaction() as session:
        total = int(
            await session.scalar(_visible(select(func.count()).select_from(Announcement), asker))
            or 0
        )
        pages = max(1, -(-total // size))
        page = min(max(page, 0), pages - 1)
        rows = list(
            await session.scalars(
                _visible(select(Announcement), asker)
                .order_by(Announcement.id.desc())
                .offset(page * size)
                .limit(size)
            )
        )
        return HistoryPage(tuple(await _described(session, rows)), total, page, pages)


async def _one(session: AsyncSession, announcement_id: int, asker: Asker) -> Announcement:
    row = await session.get(Announcement, announcement_id)
    if row is None or not (asker.admin or row.author_telegram_id == asker.telegram_id):
        # Someone else's is refused exactly like one that does not exist.
        raise AnnouncementError(f"no announcement #{announcement_id} of this asker", "not_found")
    return row


async def one(db: Database, announcement_id: int, asker: Asker) -> Past:
    async with db.transaction() as session:
        row = await _one(session, announcement_id, asker)
        return (await _described(session, [row]))[0]


async def cancel(db: Database, announcement_id: int, asker: Asker) -> Past:
    """Cancel a scheduled announcement, so nothing of it goes out. Cancelling it again
    changes nothing; one that is sending, sent or stopped is refused (Stop is for those)."""
    async with db.transaction() as session:
        row = await _one(session, announcement_id, asker)
        changed = await session.execute(
            update(Announcement)
            .where(
                Announcement.id == announcement_id,
                Announcement.status == AnnouncementStatus.SCHEDULED,
            )
            .values(status=AnnouncementStatus.STOPPED)
            .execution_options(synchronize_session=False)
        )
        cancelled_now = bool(changed.rowcount)  # type: ignore[attr-defined]
        await session.refresh(row)
        # Cancelled before (a second tap) is no error; stopped while sending is not cancelled.
        again = row.status == AnnouncementStatus.STOPPED and row.queued_at is None
        if not (cancelled_now or again):
            raise AnnouncementError(f"#{announcement_id} is {row.status}", "not_scheduled")
        return (await _described(session, [row]))[0]
