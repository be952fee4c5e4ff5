"""What an export holds and who may have it: credit history, customers, top-ups, sales
and the action log, for a period, as batches of rows read by id.

Who may export what (``scope``): the owners and staff admins with the ``reports``
permission everything (every reseller, or the one they name); a reseller its own data and
its subtree's (a sub-reseller it names, with that one's subtree), never anyone else's and
never the action log; the operator's shell (no asker) everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.db import Database
from bot.services import admin_log, export_rows, roles
from bot.services.admin_log import ActionError, LogFilter, LoggedAction
from bot.services.downline import in_subtree, subtree_ids
from bot.services.export_rows import CustomerRow, Movement, SaleRow, TopUpRow
from bot.services.resellers import ResellerView, load_by_telegram_id
from bot.services.roles import Permission
from bot.services.statements import Period
from models import AdminAction, Customer, SubscriptionOrder, TopUpRequest, Transfer

BATCH = 1_000
T = TypeVar("T")
ExportRow = Movement | CustomerRow | TopUpRow | SaleRow | LoggedAction


class ExportError(ActionError):
    """An export was refused; ``code``: ``not_allowed`` or ``no_reseller``."""


class Kind(StrEnum):
    HISTORY = "history"
    CUSTOMERS = "customers"
    TOPUPS = "topups"
    SALES = "sales"
    ACTIONS = "actions"


ADMIN_ONLY = frozenset({Kind.ACTIONS})


@dataclass(frozen=True)
class Scope:
    """Whose rows an export holds: ``reseller_ids`` (database ids), None for everyone's."""

    reseller_ids: frozenset[int] | None
    admin: bool
    reseller: ResellerView | None  # the reseller named, if one was


def _refused() -> ExportError:
    return ExportError("not_allowed", "you may not export that")


async def _named(session: AsyncSession, telegram_id: int) -> ResellerView:
    found = await load_by_telegram_id(session, telegram_id)
    if found is None:
        raise ExportError(
            "no_reseller", f"no reseller with Telegram id {telegram_id}", telegram_id=telegram_id
        )
    return found


async def scope(
    db: Database,
    kind: Kind,
    *,
    asker: int | None,
    owner_ids: Collection[int],
    reseller: int | None = None,
) -> Scope:
    """Whose ``kind`` rows ``asker`` (a Telegram id; None: the operator's shell) may have,
    about ``reseller`` (a Telegram id) or everyone they may see; refused otherwise."""
    admin = asker is None
    if asker is not None:
        allowed = await roles.admin_permissions(db, asker, owner_ids) or frozenset()
        admin = Permission.REPORTS in allowed
    async with db.transaction() as session:
        if admin:
            if reseller is None:
                return Scope(None, True, None)
            named = await _named(session, reseller)
            return Scope(frozenset({named.id}), True, named)
        assert asker is not None
        own = await load_by_telegram_id(session, asker)
        if own is None or kind in ADMIN_ONLY:
            raise _refused()
        target = own
        if reseller is not None and reseller != asker:
            other = await load_by_telegram_id(session, reseller)
            if other is None or not await in_subtree(session, own.id, other.id):
                raise _refused()  # saying nothing of who the other is
            target = other
        below = await subtree_ids(session, target.id)
        return Scope(frozenset({target.id, *below}), False, target)


def bounds(period: Period | None, zone: ZoneInfo) -> export_rows.Bounds:
    return (None, None) if period is None else period.bounds(zone)


Fetch = Callable[[AsyncSession, int, int], Awaitable[tuple[list[T], int | None]]]


async def _batches(
    db: Database, id_column: InstrumentedAttribute[int], fetch: Fetch[T]
) -> AsyncIterator[list[T]]:
    """Batches from ``fetch(session, after, top)``, one transaction each, up to the highest
    id when the export began."""
    async with db.transaction() as session:
        top = int(await session.scalar(select(func.coalesce(func.max(id_column), 0))) or 0)
    after = 0
    while after < top:
        async with db.transaction() as session:
            items, last = await fetch(session, after, top)
        if last is None:
            return
        if items:
            yield items
        after = last


def history(
    db: Database, where: Scope, period: Period | None, zone: ZoneInfo, *, batch: int = BATCH
) -> AsyncIterator[list[Movement]]:
    span = bounds(period, zone)

    async def fetch(
        session: AsyncSession, after: int, top: int
    ) -> tuple[list[Movement], int | None]:
        return await export_rows.history_batch(session, where.reseller_ids, span, after, top, batch)

    return _batches(db, Transfer.id, fetch)


def customers(
    db: Database, where: Scope, period: Period | None, zone: ZoneInfo, *, batch: int = BATCH
) -> AsyncIterator[list[CustomerRow]]:
    span = bounds(period, zone)

    async def fetch(
        session: AsyncSession, after: int, top: int
    ) -> tuple[list[CustomerRow], int | None]:
        return await export_rows.customers_batch(
            session, where.reseller_ids, span, after, top, batch
        )

    return _batches(db, Customer.id, fetch)


def topups(
    db: Database, where: Scope, period: Period | None, zone: ZoneInfo, *, batch: int = BATCH
) -> AsyncIterator[list[TopUpRow]]:
    span = bounds(period, zone)

    async def fetch(
        session: AsyncSession, after: int, top: int
    ) -> tuple[list[TopUpRow], int | None]:
        return await export_rows.topups_batch(session, where.reseller_ids, span, after, top, batch)

    return _batches(db, TopUpRequest.id, fetch)


def sales(
    db: Database, where: Scope, period: Period | None, zone: ZoneInfo, *, batch: int = BATCH
) -> AsyncIterator[list[SaleRow]]:
    span = bounds(period, zone)

    async def fetch(
        session: AsyncSession, after: int, top: int
    ) -> tuple[list[SaleRow], int | None]:
        return await export_rows.sales_batch(session, where.reseller_ids, span, after, top, batch)

    return _batches(db, SubscriptionOrder.id, fetch)


def actions(
    db: Database, where: Scope, period: Period | None, zone: ZoneInfo, *, batch: int = BATCH
) -> AsyncIterator[list[LoggedAction]]:
    if not where.admin:
        raise _refused()
    since, until = bounds(period, zone)
    chosen = LogFilter(since=since, until=until)

    async def fetch(
        session: AsyncSession, after: int, top: int
    ) -> tuple[list[LoggedAction], int | None]:
        return await admin_log.actions_batch(
            session, where.reseller_ids, chosen, after=after, top=top, limit=batch
        )

    return _batches(db, AdminAction.id, fetch)


async def rows(
    db: Database,
    kind: Kind,
    where: Scope,
    period: Period | None,
    zone: ZoneInfo,
    *,
    batch: int = BATCH,
) -> AsyncIterator[Sequence[ExportRow]]:
    """Every row of the ``kind`` export, a batch at a time."""
    source: AsyncIterator[Sequence[ExportRow]]
    match kind:
        case Kind.HISTORY:
            source = history(db, where, period, zone, batch=batch)
        case Kind.CUSTOMERS:
            source = customers(db, where, period, zone, batch=batch)
        case Kind.TOPUPS:
            source = topups(db, where, period, zone, batch=batch)
        case Kind.SALES:
            source = sales(db, where, period, zone, batch=batch)
        case Kind.ACTIONS:
            source = actions(db, where, period, zone, batch=batch)
    async for found in source:
        yield found


def check_period(first: dt.date | None, last: dt.date | None) -> Period | None:
    """A period from optional first and last days (the shell's ``--since``/``--until``)."""
    if first is None and last is None:
        return None
    if first is not None and last is not None and last < first:
        raise ExportError("reversed", "the first day is after the last")
    return Period(first or dt.date(1970, 1, 1), last or dt.date(9999, 12, 30))
