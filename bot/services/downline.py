"""Sub-resellers (the downline): who may have them and how deep, registering one, and who
is in whose subtree (what a parent may see of it is ``bot.services.subtree``).

A sub-reseller is prepaid under its parent: the parent carries the risk and moves its own
credits to it (``bot.services.allocation``). A parent sees only its own subtree, never a
sibling's or its own parent's: every call that names a child checks it here, from the
database. A suspended reseller blocks its whole subtree from selling (``require_upline_active``).

Refusals are ``DownlineError`` (an ``ActionError``: a code and plain parameters).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log, ledger
from bot.services.admin_log import ActionError
from bot.services.alerts import Kind
from bot.services.customers import CustomerError
from bot.services.outbox import Outgoing, enqueue
from bot.services.resellers import MAX_NAME, ResellerView, load_by_telegram_id
from models import Billing, Reseller, ResellerStatus

MAX_DEPTH = 5
# A chain longer than this cannot be built (depth is at most 5 below any admin-made
# reseller); walking further means a cycle in bad data, so the walk stops.
_MAX_CHAIN = 64


class DownlineError(ActionError):
    """A downline operation was refused; nothing was written."""


class UplineSuspended(CustomerError):
    """A reseller above the seller is suspended, so the whole subtree under it cannot sell."""

    code = "upline_suspended"


@dataclass(frozen=True)
class Upline:
    """What the admin's card shows of a reseller's place in a tree."""

    parent: ResellerView | None
    children: int
    depth: int


# --- the tree -------------------------------------------------------------------------------


async def ancestors(session: AsyncSession, reseller_id: int) -> list[int]:
    """The reseller's parent, its parent's parent, ... up to the top (nearest first)."""
    found: list[int] = []
    current: int | None = reseller_id
    for _ in range(_MAX_CHAIN):
        current = await session.scalar(select(Reseller.parent_id).where(Reseller.id == current))
        if current is None or current in found or current == reseller_id:
            break
        found.append(current)
    return found


async def subtree_ids(session: AsyncSession, root_id: int) -> set[int]:
    """Every reseller below ``root_id`` (not itself), level by level."""
    found: set[int] = set()
    level = {root_id}
    for _ in range(_MAX_CHAIN):
        below = set(await session.scalars(select(Reseller.id).where(Reseller.parent_id.in_(level))))
        below -= found | {root_id}
        if not below:
            break
        found |= below
        level = below
    return found


async def in_subtree(session: AsyncSession, parent_id: int, reseller_id: int) -> bool:
    """Whether ``reseller_id`` is below ``parent_id`` (itself is not)."""
    return parent_id in await ancestors(session, reseller_id)


async def upline_suspended(session: AsyncSession, reseller_id: int) -> bool:
    """Whether any reseller above this one is suspended (which stops its whole subtree)."""
    above = await ancestors(session, reseller_id)
    if not above:
        return False
    suspended = await session.scalar(
        select(func.count())
        .select_from(Reseller)
        .where(Reseller.id.in_(above), Reseller.status == ResellerStatus.SUSPENDED)
    )
    return bool(suspended)


async def require_upline_active(session: AsyncSession, reseller_id: int) -> None:
    """Refuse (``UplineSuspended``) when any reseller above this one is suspended."""
    if await upline_suspended(session, reseller_id):
        raise UplineSuspended("A reseller above yours is suspended, so sales are paused.")


async def require_reseller(session: AsyncSession, telegram_id: int) -> ResellerView:
    found = await load_by_telegram_id(session, telegram_id)
    if found is None:
        raise DownlineError("not_registered", f"no reseller with Telegram id {telegram_id}")
    return found


async def _depth(session: AsyncSession, reseller_id: int) -> int:
    return (
        await session.scalar(select(Reseller.downline_depth).where(Reseller.id == reseller_id)) or 0
    )


async def require_child(
    session: AsyncSession, parent_telegram_id: int, child_telegram_id: int, *, direct: bool
) -> tuple[ResellerView, ResellerView]:
    """The parent and the child it names, if the child is in the parent's subtree (its own
    child, when ``direct``); otherwise refused as ``not_in_subtree``, saying nothing of
    who the other is."""
    parent = await require_reseller(session, parent_telegram_id)
    child = await load_by_telegram_id(session, child_telegram_id)
    if child is not None:
        parent_of_child = await session.scalar(
            select(Reseller.parent_id).where(Reseller.id == child.id)
        )
        if parent_of_child == parent.id or (
            not direct and await in_subtree(session, parent.id, child.id)
        ):
            return parent, child
    raise DownlineError("not_in_subtree", "that reseller is not in your downline")


# --- the admin: how deep a reseller's downline may go -----------------------------------


async def set_depth(
    db: Database, *, telegram_id: int, depth: int, actor: str, now: dt.datetime
) -> int:
    """Allow a reseller sub-resellers down to ``depth`` levels (0: none), logged.

    A sub-reseller may not be allowed deeper than its parent leaves room for; lowering a
    reseller's depth lowers its sub-resellers' to fit under it (those already registered
    stay). Returns the depth before; setting the same depth again changes and logs nothing.
    """
    if not 0 <= depth <= MAX_DEPTH:
        raise DownlineError("depth_out_of_range", f"depth is 0 to {MAX_DEPTH}", limit=MAX_DEPTH)

    async def _set(session: AsyncSession) -> int:
        found = await require_reseller(session, telegram_id)
        # FOR NO KEY UPDATE: rows that refer to it (a transfer's record) may still go in.
        reseller = await session.get(Reseller, found.id, with_for_update={"key_share": True})
        assert reseller is not None
        before = reseller.downline_depth
        if reseller.parent_id is not None:
            room = max(0, await _depth(session, reseller.parent_id) - 1)
            if depth > room:
                raise DownlineError(
                    "depth_above_parent", "deeper than its parent allows", limit=room
                )
        if before == depth:
            return before
        reseller.downline_depth = depth
        lowered = await _fit_below(session, reseller.id, depth)
        await session.flush()
        after: dict[str, int] = {"depth": depth}
        if lowered:
            after["lowered"] = lowered
        await admin_log.record(
            session,
            actor=actor,
            action="reseller_depth",
            now=now,
            reseller_id=reseller.id,
            before={"depth": before},
            after=after,
        )
        return before

    return await db.run(_set)


async def _fit_below(session: AsyncSession, root_id: int, depth: int) -> int:
    """Lower the depth of everyone below ``root_id`` to fit under it; how many changed."""
    lowered, level = 0, [(root_id, depth)]
    for _ in range(_MAX_CHAIN):
        below: list[tuple[int, int]] = []
        for parent_id, parent_depth in level:
            room = max(0, parent_depth - 1)
            for child in await session.scalars(
                select(Reseller)
                .where(Reseller.parent_id == parent_id)
                .with_for_update(key_share=True)
            ):
                if child.downline_depth > room:
                    child.downline_depth = room
                    lowered += 1
                below.append((child.id, child.downline_depth))
        if not below:
            break
        level = below
    return lowered


async def upline(db: Database, telegram_id: int) -> Upline:
    """For the admin's card: the reseller's parent, how many sub-resellers it has, its depth."""
    async with db.transaction() as session:
        reseller = await require_reseller(session, telegram_id)
        row = await session.get(Reseller, reseller.id)
        assert row is not None
        parent = None
        if row.parent_id is not None:
            tid = await session.scalar(
                select(Reseller.telegram_id).where(Reseller.id == row.parent_id)
            )
            parent = await load_by_telegram_id(session, tid) if tid is not None else None
        children = await session.scalar(
            select(func.count()).select_from(Reseller).where(Reseller.parent_id == reseller.id)
        )
        return Upline(parent=parent, children=children or 0, depth=row.downline_depth)


async def depth_of(db: Database, telegram_id: int) -> int:
    """How many levels of sub-resellers this reseller may have (0 for none or no reseller)."""
    async with db.transaction() as session:
        found = await session.scalar(
            select(Reseller.downline_depth).where(Reseller.telegram_id == telegram_id)
        )
        return found or 0


# --- a parent registers a sub-reseller ------------------------------------------------------


async def register_child(
    db: Database,
    *,
    parent_telegram_id: int,
    telegram_id: int,
    name: str,
    username: str | None,
    low_balance_threshold: int,
    now: dt.datetime,
) -> ResellerView:
    """The parent registers a prepaid sub-reseller one level less deep than itself (logged;
    the newcomer is greeted through the outbox, in the same transaction)."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise DownlineError("bad_name", "the name must be 1 to 100 characters", limit=MAX_NAME)
    if telegram_id <= 0 or telegram_id >= 2**63:
        raise DownlineError("bad_id", "a Telegram user id is a positive number")
    if low_balance_threshold < 0:
        raise DownlineError("bad_threshold", "a threshold cannot be negative")

    async def _register(session: AsyncSession) -> ResellerView:
        parent = await require_reseller(session, parent_telegram_id)
        if parent.status != ResellerStatus.ACTIVE or await upline_suspended(session, parent.id):
            raise DownlineError("suspended", "a suspended reseller cannot register anyone")
        depth = await _depth(session, parent.id)
        if depth <= 0:
            raise DownlineError("no_downline", "this reseller may not have sub-resellers")
        existing = await load_by_telegram_id(session, telegram_id)
        if existing is not None:
            raise DownlineError("already_registered", "already a reseller", name=existing.name)
        child = Reseller(
            telegram_id=telegram_id,
            name=name,
            username=(username or None) and username.removeprefix("@")[:64],
            billing=Billing.PREPAID,
            low_balance_threshold=low_balance_threshold,
            status=ResellerStatus.ACTIVE,
            parent_id=parent.id,
            downline_depth=depth - 1,
        )
        session.add(child)
        await session.flush()
        await ledger.open_reseller_account(session, child.id, 0)
        await admin_log.record(
            session,
            actor=f"tg:{parent_telegram_id}",
            action="reseller_registered",
            now=now,
            reseller_id=child.id,
            after={
                "telegram_id": telegram_id,
                "name": name,
                "billing": Billing.PREPAID.value,
                "threshold": low_balance_threshold,
                "parent": parent_telegram_id,
                "depth": depth - 1,
            },
        )
        welcome = Outgoing(
            f"reseller-welcome:{child.id}",
            telegram_id,
            Kind.SUBRESELLER_WELCOME,
            {"parent": parent.name},
        )
        await enqueue(session, [welcome], now)
        return await require_reseller(session, telegram_id)

    return await db.run(_register)
