"""Who may announce, decided once for composing and again when a scheduled announcement's
time comes: its author may have lost the right meanwhile (a staff admin's permission taken
away or the admin removed from staff, a reseller suspended), and then it is not sent.

An announcement not sent for that reason is marked stopped (nothing of it was queued, so
it reads as cancelled), the reason is kept in the action log, and its author is told
through the outbox.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log, outbox, resellers
from bot.services.alerts import Kind
from bot.services.announcement_audience import Author
from bot.services.resellers import Identity, Role
from bot.services.roles import Permission
from models import AdminAction, Announcement, AnnouncementStatus, ResellerStatus

ACTION = "announcement_refused"  # the action log's kind for one not sent
ACTOR = "system"

# Why a scheduled announcement was not sent.
NO_PERMISSION = "no_permission"  # a staff admin without the announcements permission now
NOT_STAFF = "not_staff"  # no longer an admin at all
RESELLER_SUSPENDED = "reseller_suspended"
NOT_RESELLER = "not_reseller"  # no longer a reseller (nor an admin allowed to announce)
REASONS = (NO_PERMISSION, NOT_STAFF, RESELLER_SUSPENDED, NOT_RESELLER)


def _as_author(identity: Identity, telegram_id: int) -> Author | None:
    """The rule: owners and staff allowed to announce reach anyone; an active reseller
    its own customers only, also one who is a staff admin without that permission;
    anyone else may not announce."""
    if Permission.ANNOUNCEMENTS in identity.permissions:
        return Author(telegram_id)
    own = identity.reseller
    if own is not None and (
        identity.role == Role.RESELLER
        or (identity.role == Role.ADMIN and own.status == ResellerStatus.ACTIVE)
    ):
        return Author(telegram_id, own.id)
    return None


def may_announce(identity: Identity) -> bool:
    """Whether ``identity`` may announce at all (to anyone, or to its own customers): the
    rule of ``author_of``, for what their command menu lists."""
    return _as_author(identity, telegram_id=0) is not None  # the rule asks not who


async def author_of(db: Database, telegram_id: int, owner_ids: Collection[int]) -> Author | None:
    """``telegram_id`` as an author now, read from the database; None if they may not
    announce."""
    return _as_author(await resellers.identify(db, telegram_id, owner_ids), telegram_id)


async def refusal(
    db: Database, author_telegram_id: int, reseller_id: int | None, owner_ids: Collection[int]
) -> str | None:
    """Why the author of an announcement (a reseller's if ``reseller_id``) may no longer
    send it, one of ``REASONS``; None if they may. An admin's announcement needs an admin
    allowed to announce; a reseller's, that reseller still active (or its author now an
    admin allowed to announce)."""
    identity = await resellers.identify(db, author_telegram_id, owner_ids)
    author = _as_author(identity, author_telegram_id)
    if author is not None and author.reseller_id in (None, reseller_id):
        return None
    if reseller_id is None:
        return NO_PERMISSION if identity.role == Role.ADMIN else NOT_STAFF
    own = identity.reseller is not None and identity.reseller.id == reseller_id
    if identity.role == Role.SUSPENDED and own:
        return RESELLER_SUSPENDED
    return NOT_RESELLER


def _details(announcement_id: int) -> str:
    """The action's details as ``admin_log.record`` writes them: read back by equality."""
    return json.dumps({"before": None, "after": {"announcement": announcement_id}}, default=str)


async def refuse(session: AsyncSession, row: Announcement, reason: str, now: dt.datetime) -> None:
    """Mark ``row`` not sent for ``reason``, log why, and queue its author's notice."""
    row.status = AnnouncementStatus.STOPPED
    await admin_log.record(
        session, actor=ACTOR, action=ACTION, now=now, reseller_id=row.reseller_id,
        reason=reason, after={"announcement": row.id},
    )  # fmt: skip
    notice = outbox.Outgoing(
        key=f"ann-refused:{row.id}",
        chat_id=row.author_telegram_id,
        kind=Kind.ANNOUNCEMENT_REFUSED,
        payload={"announcement": row.id, "reason": reason},
    )
    await outbox.enqueue(session, [notice], now)


async def reasons(session: AsyncSession, announcement_ids: Sequence[int]) -> dict[int, str]:
    """Why each of ``announcement_ids`` that was refused was not sent, by id."""
    if not announcement_ids:
        return {}
    by_details = {_details(i): i for i in announcement_ids}
    rows = await session.execute(
        select(AdminAction.details, AdminAction.reason).where(
            AdminAction.action == ACTION, AdminAction.details.in_(list(by_details))
        )
    )
    return {by_details[details]: reason for details, reason in rows if details and reason}
