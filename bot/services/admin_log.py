"""The action log: every admin or operator action, with who, when, what and why."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import days
from bot.db import Database
from models import AdminAction, Reseller, StaffAdmin

MAX_REASON = 255
CLI = "cli"  # the actor of what the operator does from the shell


class ActionError(Exception):
    """An admin action was refused before anything was written.

    ``code`` says why, for the presentation; ``params`` are its plain values.
    """

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def check_text(
    value: str | None, limit: int, code: str, error: type[ActionError] = ActionError
) -> str | None:
    """An optional one-line text (a reason, a comment, a reference): blank is none, runs of
    whitespace become one space, longer than ``limit`` is refused with its length (never
    cut)."""
    if value is None or not value.strip():
        return None
    value = " ".join(value.split())
    if len(value) > limit:
        raise error(
            code, f"{len(value)} characters; at most {limit}", length=len(value), limit=limit
        )
    return value


def check_reason(reason: str | None) -> str | None:
    return check_text(reason, MAX_REASON, "reason_too_long")


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    now: dt.datetime,
    reseller_id: int | None = None,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Log one action in the caller's transaction, so it is written with the change."""
    details = {"before": before, "after": after} if before or after else None
    session.add(
        AdminAction(
            actor=actor,
            action=action,
            reseller_id=reseller_id,
            reason=reason,
            details=json.dumps(details, default=str) if details else None,
            created_at=now,
        )
    )
    await session.flush()


# --- reading the log --------------------------------------------------------------------

# The kinds of action this version writes, in a fixed order: a filter names one by its
# place here, so new kinds go at the end. A kind missing here (written by a later
# version) is still listed, with a generic label, but cannot be picked as a filter.
KINDS = (
    "credit_added", "credit_removed", "cash_received", "topup_approved", "topup_rejected",
    "reseller_registered", "reseller_suspended", "reseller_activated", "reseller_name",
    "reseller_type", "reseller_limit", "reseller_thr", "plan_added", "plan_edited",
    "plan_enabled", "plan_disabled", "plan_moved", "tier_added", "tier_edited",
    "tier_removed", "method_added", "method_edited", "method_enabled", "method_disabled",
    "staff_added", "staff_permissions", "staff_removed",
    "panel_import", "panel_customers_suspended", "panel_customers_resumed", "panel_added",
    "panel_enabled", "panel_disabled",
    "transfer_allowed", "transfer_limit", "transfer_reversed",
    "price_list_added", "price_list_renamed", "price_list_percent", "price_list_removed",
    "price_entry_set", "price_entry_cleared", "price_list_assigned",
    "reseller_depth", "credits_allocated", "credits_reclaimed",
    "stars_refunded", "stars_method",
    "report_switch", "announcement_refused",
)  # fmt: skip
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class LogFilter:
    """Which actions to list; None means any. ``since`` is inclusive, ``until`` exclusive."""

    actor: str | None = None
    reseller_id: int | None = None
    action: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class LoggedAction:
    id: int
    created_at: dt.datetime
    actor: str  # "cli" or "tg:<telegram id>"
    actor_name: str | None  # a staff admin's or reseller's name, or the one a decision kept
    action: str
    reseller_id: int | None
    reseller_name: str | None
    reason: str | None
    before: Mapping[str, Any]
    after: Mapping[str, Any]

    @property
    def actor_telegram_id(self) -> int | None:
        prefix, _, rest = self.actor.partition(":")
        return int(rest) if prefix == "tg" and rest.isdigit() else None


@dataclass(frozen=True)
class LogPage:
    actions: tuple[LoggedAction, ...]
    page: int  # from 0, clamped to the last
    pages: int
    total: int


@dataclass(frozen=True)
class Choice:
    """One value a filter can take, with how to show it."""

    value: str  # an actor, a reseller's id or a kind
    name: str | None


Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


def _where(query: Q, chosen: LogFilter) -> Q:
    if chosen.actor is not None:
        query = query.where(AdminAction.actor == chosen.actor)
    if chosen.reseller_id is not None:
        query = query.where(AdminAction.reseller_id == chosen.reseller_id)
    if chosen.action is not None:
        query = query.where(AdminAction.action == chosen.action)
    if chosen.since is not None:
        query = query.where(AdminAction.created_at >= chosen.since)
    if chosen.until is not None:
        query = query.where(AdminAction.created_at < chosen.until)
    return query


def _values(details: str | None) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    try:
        found = json.loads(details) if details else {}
    except ValueError:
        found = {}
    if not isinstance(found, dict):
        found = {}
    before, after = found.get("before"), found.get("after")
    return (before if isinstance(before, dict) else {}), (after if isinstance(after, dict) else {})


async def _actor_names(session: AsyncSession, actors: set[str]) -> dict[str, str]:
    """Names for ``tg:<id>`` actors: a staff admin's, else the reseller's they also are."""
    ids = {int(a[3:]) for a in actors if a.startswith("tg:") and a[3:].isdigit()}
    if not ids:
        return {}
    names = {
        tg: name
        for tg, name in await session.execute(
            select(Reseller.telegram_id, Reseller.name).where(Reseller.telegram_id.in_(ids))
        )
    }
    names |= {
        tg: name
        for tg, name in await session.execute(
            select(StaffAdmin.telegram_id, StaffAdmin.name).where(StaffAdmin.telegram_id.in_(ids))
        )
    }
    return {f"tg:{tg}": name for tg, name in names.items()}


async def _read(
    session: AsyncSession, query: Select[AdminAction, str | None]
) -> list[LoggedAction]:
    rows = (await session.execute(query)).all()
    names = await _actor_names(session, {row[0].actor for row in rows})
    found = []
    for row, reseller_name in rows:
        before, after = _values(row.details)
        kept = after.get("admin_name")
        found.append(
            LoggedAction(
                id=row.id,
                created_at=row.created_at,
                actor=row.actor,
                actor_name=names.get(row.actor) or (str(kept) if kept else None),
                action=row.action,
                reseller_id=row.reseller_id,
                reseller_name=reseller_name,
                reason=row.reason,
                before=before,
                after=after,
            )
        )
    return found


def _listing(chosen: LogFilter) -> Select[AdminAction, str | None]:
    query = select(AdminAction, Reseller.name).outerjoin(
        Reseller, Reseller.id == AdminAction.reseller_id
    )
    return _where(query, chosen).order_by(AdminAction.created_at.desc(), AdminAction.id.desc())


async def actions_page(
    db: Database, chosen: LogFilter, *, page: int, page_size: int = 10
) -> LogPage:
    """One page of the actions ``chosen`` lets through, newest first."""
    async with db.transaction() as session:
        total = await session.scalar(_where(select(func.count()).select_from(AdminAction), chosen))
        pages = max(1, -(-(total or 0) // page_size))
        page = min(max(page, 0), pages - 1)
        query = _listing(chosen).offset(page * page_size).limit(page_size)
        return LogPage(tuple(await _read(session, query)), page, pages, total or 0)


async def latest(db: Database, chosen: LogFilter, *, limit: int = 50) -> list[LoggedAction]:
    """The ``limit`` newest actions ``chosen`` lets through, newest first (for the CLI)."""
    if not 0 < limit <= MAX_LIMIT:
        raise ActionError("bad_limit", f"the limit is 1 to {MAX_LIMIT}", limit=MAX_LIMIT)
    async with db.transaction() as session:
        return await _read(session, _listing(chosen).limit(limit))


async def actions_batch(
    session: AsyncSession,
    reseller_ids: Collection[int] | None,
    chosen: LogFilter,
    *,
    after: int,
    top: int,
    limit: int,
) -> tuple[list[LoggedAction], int | None]:
    """The actions with an id above ``after`` and at most ``top``, oldest first, about
    the resellers in ``reseller_ids`` (None: any); and the last id read (for exports)."""
    query = select(AdminAction, Reseller.name).outerjoin(
        Reseller, Reseller.id == AdminAction.reseller_id
    )
    query = query.where(AdminAction.id > after, AdminAction.id <= top)
    if reseller_ids is not None:
        query = query.where(AdminAction.reseller_id.in_(list(reseller_ids)))
    found = await _read(session, _where(query, chosen).order_by(AdminAction.id).limit(limit))
    return found, (found[-1].id if found else None)


async def actors(db: Database) -> list[Choice]:
    """Everyone who has done something, the most recently active first."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(AdminAction.actor)
            .group_by(AdminAction.actor)
            .order_by(func.max(AdminAction.id).desc())
        )
        found = [actor for (actor,) in rows]
        names = await _actor_names(session, set(found))
    return [Choice(actor, names.get(actor)) for actor in found]


async def resellers_acted_on(db: Database, *, limit: int = 30) -> list[Choice]:
    """The resellers with actions, the most recent first (their database ids)."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(Reseller.id, Reseller.name)
            .join(AdminAction, AdminAction.reseller_id == Reseller.id)
            .group_by(Reseller.id, Reseller.name)
            .order_by(func.max(AdminAction.id).desc())
            .limit(limit)
        )
        return [Choice(str(reseller_id), name) for reseller_id, name in rows]


async def kinds_logged(db: Database) -> list[str]:
    """The kinds of action in the log, in ``KINDS`` order, then any unknown ones."""
    async with db.transaction() as session:
        found = set(await session.scalars(select(AdminAction.action).distinct()))
    known = [kind for kind in KINDS if kind in found]
    return known + sorted(found - set(KINDS))


async def reseller_name(db: Database, reseller_id: int) -> str | None:
    async with db.transaction() as session:
        return await session.scalar(select(Reseller.name).where(Reseller.id == reseller_id))


async def reseller_id_of(db: Database, telegram_id: int) -> int | None:
    """The reseller with that Telegram id (the CLI names resellers so), or None."""
    async with db.transaction() as session:
        return await session.scalar(select(Reseller.id).where(Reseller.telegram_id == telegram_id))


def parse_days(text: str) -> tuple[dt.date, dt.date]:
    """``yyyy-mm-dd yyyy-mm-dd`` typed in any digits: the first and the last day, both
    real, the first not after the last."""
    try:
        return days.parse_days(text)
    except days.DayError as error:
        raise ActionError(error.code, str(error)) from None
