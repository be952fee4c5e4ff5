"""Who may do what: the owners (ADMIN_IDS) may do everything; staff admins, added by an
owner, only what their permissions name. Every change is in the action log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, ScalarSelect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database, Reads
from bot.services import admin_log
from bot.services.admin_log import ActionError
from models import StaffAdmin


class Permission(StrEnum):
    TOPUPS = "topups"  # approve and reject top-ups
    CREDITS = "credits"  # add and remove credits, record cash received
    RESELLERS = "resellers"  # register, edit, suspend and reactivate resellers
    CATALOGUE = "catalogue"  # plans, price tiers, payment methods, panels
    REPORTS = "reports"  # the audit, the action log, statements
    ANNOUNCEMENTS = "announcements"  # announce to resellers and customers, see past ones


EVERYTHING = frozenset(Permission)
MAX_NAME = 128
MAX_TELEGRAM_ID = 2**63 - 1  # user ids are positive 64-bit integers (BIGINT)


@dataclass(frozen=True)
class StaffView:
    telegram_id: int
    name: str
    permissions: frozenset[Permission]
    added_by: str
    created_at: dt.datetime


def _parse(stored: str) -> frozenset[Permission]:
    known = {p.value for p in Permission}
    # A permission a later version dropped is ignored, never an error.
    return frozenset(Permission(code) for code in stored.split(",") if code in known)


def _store(permissions: Iterable[Permission]) -> str:
    return ",".join(sorted(p.value for p in permissions))


def _view(row: StaffAdmin) -> StaffView:
    return StaffView(
        row.telegram_id, row.name, _parse(row.permissions), row.added_by, row.created_at
    )


def _no_such_staff(telegram_id: int) -> ActionError:
    return ActionError("no_such_staff", f"{telegram_id} is not staff", telegram_id=telegram_id)


async def permissions_of(
    db: Database, telegram_id: int, owner_ids: Collection[int]
) -> frozenset[Permission]:
    """What ``telegram_id`` may do: everything for an owner, a staff admin's permissions,
    nothing for anyone else."""
    return await admin_permissions(db, telegram_id, owner_ids) or frozenset()


async def admin_permissions(
    db: Database, telegram_id: int, owner_ids: Collection[int]
) -> frozenset[Permission] | None:
    """Like ``permissions_of``, but None for someone who is no admin at all, so that a
    staff admin without a permission can be told apart from a stranger."""
    if telegram_id in owner_ids:
        return EVERYTHING
    async with db.transaction() as session:
        return await staff_permissions(session, telegram_id)


def stored_permissions(telegram_id: int | ColumnElement[int]) -> ScalarSelect[str]:
    """A staff admin's stored permissions as a column of another query (NULL: not
    staff), so that who is asking is one statement; read with ``parse_stored``."""
    return (
        select(StaffAdmin.permissions)
        .where(StaffAdmin.telegram_id == telegram_id)
        .scalar_subquery()
    )


def parse_stored(stored: str | None) -> frozenset[Permission] | None:
    return None if stored is None else _parse(stored)


async def staff_permissions(session: Reads, telegram_id: int) -> frozenset[Permission] | None:
    """A staff admin's permissions; None for someone who is not staff."""
    stored = await session.scalar(
        select(StaffAdmin.permissions).where(StaffAdmin.telegram_id == telegram_id)
    )
    return _parse(stored) if stored is not None else None


async def is_staff(session: AsyncSession, telegram_id: int) -> bool:
    return await session.get(StaffAdmin, telegram_id) is not None


async def list_staff(db: Database) -> list[StaffView]:
    async with db.transaction() as session:
        rows = await session.scalars(select(StaffAdmin).order_by(StaffAdmin.created_at))
        return [_view(row) for row in rows]


async def staff(db: Database, telegram_id: int) -> StaffView | None:
    async with db.transaction() as session:
        row = await session.get(StaffAdmin, telegram_id)
        return _view(row) if row else None


async def add_staff(
    db: Database,
    *,
    telegram_id: int,
    name: str,
    permissions: Iterable[Permission],
    owner_ids: Collection[int],
    actor: str,
    now: dt.datetime,
) -> StaffView:
    """Make ``telegram_id`` a staff admin. Refused for an owner or an existing staff admin."""
    name = " ".join(name.split())[:MAX_NAME] or str(telegram_id)
    chosen = frozenset(permissions)
    if not 0 < telegram_id <= MAX_TELEGRAM_ID:
        raise ActionError(
            "bad_telegram_id", f"{telegram_id} is not a Telegram user id", telegram_id=telegram_id
        )
    if telegram_id in owner_ids:
        raise ActionError("already_owner", f"{telegram_id} is an owner", telegram_id=telegram_id)
    already = ActionError(
        "already_staff", f"{telegram_id} is already staff", telegram_id=telegram_id
    )
    async with db.transaction() as session:
        if await session.get(StaffAdmin, telegram_id) is not None:
            raise already
        row = StaffAdmin(
            telegram_id=telegram_id,
            name=name,
            permissions=_store(chosen),
            added_by=actor,
            created_at=now,
        )
        session.add(row)
        try:
            await session.flush()
        except IntegrityError as exc:  # another owner added them a moment before
            raise already from exc
        await admin_log.record(
            session,
            actor=actor,
            action="staff_added",
            now=now,
            after={"telegram_id": telegram_id, "name": name, "permissions": _store(chosen)},
        )
        return _view(row)


async def set_permission(
    db: Database,
    *,
    telegram_id: int,
    permission: Permission,
    allowed: bool,
    actor: str,
    now: dt.datetime,
) -> StaffView:
    """Allow or forbid one permission; logged with the permissions before and after."""
    async with db.transaction() as session:
        row = await session.get(StaffAdmin, telegram_id, with_for_update=True)
        if row is None:
            raise ActionError(
                "no_such_staff", f"{telegram_id} is not staff", telegram_id=telegram_id
            )
        before = _parse(row.permissions)
        after = before | {permission} if allowed else before - {permission}
        if after != before:
            row.permissions = _store(after)
            await admin_log.record(
                session,
                actor=actor,
                action="staff_permissions",
                now=now,
                before={"telegram_id": telegram_id, "permissions": _store(before)},
                after={"telegram_id": telegram_id, "permissions": _store(after)},
            )
        return _view(row)


async def remove_staff(db: Database, *, telegram_id: int, actor: str, now: dt.datetime) -> None:
    async with db.transaction() as session:
        row = await session.get(StaffAdmin, telegram_id, with_for_update=True)
        if row is None:
            raise ActionError(
                "no_such_staff", f"{telegram_id} is not staff", telegram_id=telegram_id
            )
        await admin_log.record(
            session,
            actor=actor,
            action="staff_removed",
            now=now,
            before={"telegram_id": telegram_id, "name": row.name, "permissions": row.permissions},
        )
        await session.delete(row)
