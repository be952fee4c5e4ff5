"""Which credits a reseller's balance is made of, so expiring ones go first and on time.

Every credit into a reseller account makes a ``CreditGrant`` (a top-up's may expire; cash
and refunds never do; a transfer's keep the expiry they had, see below). The rule that
ties grants to the balance, checked by the audit after every change:

    the free remainders of the open grants, plus what pending holds reserve from grants,
    equal the reseller's positive balance; and pending holds reserve as much as that
    allows: min(held, positive balance).

So a prepaid reseller's grants always add up to exactly what it has, and a hold names the
grants it will spend. Credit granted to a postpaid reseller who owes first covers the debt;
only what is left above zero is backed by a grant (and can expire).

Credits moved from one reseller to another (transfers, their reversals, and credits a
parent gives its sub-reseller or takes back) keep their expiry (``take_free`` says which
grants a movement took them from; ``record_parts`` gives the receiver one grant per
expiry; ``capped`` only shortens them), so passing credits around never lengthens their
life.

``settle`` restores the rule after a movement, in one direction only: it moves free grant
credit into holds that reserve too little (soonest-expiring grant first, oldest hold first)
and drops what the balance no longer backs (soonest-expiring grant first, then the newest
hold's reservations). It never creates grant credit: a gap it cannot close is a bug and
is refused, so the transaction rolls back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import AccountKind, CreditGrant, Hold, HoldAllocation, HoldStatus, LedgerAccount


class GrantsOutOfStep(Exception):
    """The grants do not add up to the balance; nothing was written."""


@dataclass(frozen=True)
class Part:
    """Credits of one expiry (None: never) that a movement took from a reseller's grants."""

    expires_at: dt.datetime | None
    amount: int


@dataclass(frozen=True)
class Returned:
    """What voiding a hold gave back: to open grants, and to grants that expired meanwhile."""

    to_open: int
    to_expired: dict[int, int]  # grant id -> amount that must expire now


async def _grant_rows(session: AsyncSession, account_id: int) -> list[tuple[int, int]]:
    """(id, remaining) of open grants with something left, soonest-expiring first."""
    rows = await session.execute(
        select(CreditGrant.id, CreditGrant.remaining)
        .where(
            CreditGrant.account_id == account_id,
            CreditGrant.expired_at.is_(None),
            CreditGrant.remaining > 0,
        )
        .order_by(CreditGrant.expires_at.asc().nulls_last(), CreditGrant.id)
    )
    return [(r.id, r.remaining) for r in rows]


async def _pending_holds(session: AsyncSession, account_id: int) -> list[tuple[int, int, int]]:
    """(hold id, amount, reserved from grants) of pending holds, oldest first."""
    reserved = (
        select(HoldAllocation.hold_id, func.sum(HoldAllocation.amount).label("s"))
        .group_by(HoldAllocation.hold_id)
        .subquery()
    )
    rows = await session.execute(
        select(Hold.id, Hold.amount, func.coalesce(reserved.c.s, 0))
        .outerjoin(reserved, reserved.c.hold_id == Hold.id)
        .where(Hold.account_id == account_id, Hold.status == HoldStatus.PENDING)
        .order_by(Hold.id)
    )
    return [(hold_id, amount, int(got)) for hold_id, amount, got in rows]


async def _take_from_grant(session: AsyncSession, grant_id: int, amount: int) -> None:
    await session.execute(
        update(CreditGrant)
        .where(CreditGrant.id == grant_id)
        .values(remaining=CreditGrant.remaining - amount)
        .execution_options(synchronize_session=False)
    )


async def settle(session: AsyncSession, account_id: int) -> None:
    """Bring the account's grants and hold reservations back to the rule above."""
    row = (
        await session.execute(
            select(LedgerAccount.kind, LedgerAccount.balance, LedgerAccount.held).where(
                LedgerAccount.id == account_id
            )
        )
    ).one()
    if row.kind != AccountKind.RESELLER:
        return
    backed = max(0, row.balance)
    want_reserved = min(row.held, backed)
    want_free = backed - want_reserved
    grants = await _grant_rows(session, account_id)
    holds = await _pending_holds(session, account_id)
    free = sum(r for _, r in grants)
    reserved = sum(got for _, _, got in holds)

    if reserved > want_reserved:
        await _release_newest(session, holds, reserved - want_reserved)
        reserved = want_reserved
    if reserved < want_reserved and free > want_free:
        moved = await _reserve_oldest(
            session, grants, holds, min(want_reserved - reserved, free - want_free)
        )
        reserved += moved
        free -= moved
    if free > want_free:
        await _drop_free(session, grants, free - want_free)
        free = want_free
    if (free, reserved) != (want_free, want_reserved):
        raise GrantsOutOfStep(
            f"account {account_id}: grants {free} free and {reserved} reserved, "
            f"but the balance backs {want_free} and {want_reserved}"
        )


async def _release_newest(
    session: AsyncSession, holds: list[tuple[int, int, int]], amount: int
) -> None:
    """The balance no longer backs these reservations (a postpaid reseller went into
    debt): drop them, newest hold first."""
    left = amount
    for hold_id, _, _ in reversed(holds):
        if left == 0:
            return
        allocations = await session.execute(
            select(HoldAllocation.id, HoldAllocation.amount)
            .where(HoldAllocation.hold_id == hold_id, HoldAllocation.amount > 0)
            .order_by(HoldAllocation.id.desc())
        )
        for allocation_id, got in allocations.all():
            take = min(left, got)
            await session.execute(
                update(HoldAllocation)
                .where(HoldAllocation.id == allocation_id)
                .values(amount=HoldAllocation.amount - take)
                .execution_options(synchronize_session=False)
            )
            left -= take
            if left == 0:
                return


async def _reserve_oldest(
    session: AsyncSession,
    grants: list[tuple[int, int]],
    holds: list[tuple[int, int, int]],
    amount: int,
) -> int:
    """Reserve free grant credit (soonest-expiring first) for holds short of it (oldest
    first). Updates ``grants`` in place. Returns how much was reserved."""
    left = amount
    g = 0
    for hold_id, hold_amount, got in holds:
        short = min(hold_amount - got, left)
        while short > 0 and g < len(grants):
            grant_id, remaining = grants[g]
            take = min(short, remaining)
            if take > 0:
                await _take_from_grant(session, grant_id, take)
                session.add(HoldAllocation(hold_id=hold_id, grant_id=grant_id, amount=take))
                grants[g] = (grant_id, remaining - take)
                short -= take
                left -= take
            if grants[g][1] == 0:
                g += 1
        if left == 0:
            break
    await session.flush()
    return amount - left


async def _drop_free(session: AsyncSession, grants: list[tuple[int, int]], amount: int) -> None:
    """Credit left the account (spent, removed, moved): the soonest-expiring goes first."""
    left = amount
    for grant_id, remaining in grants:
        if left == 0:
            return
        take = min(left, remaining)
        if take > 0:
            await _take_from_grant(session, grant_id, take)
            left -= take


async def _free_plan(
    session: AsyncSession, account_id: int, amount: int, first_from: int | None
) -> list[tuple[int, int, dt.datetime | None]]:
    """(grant id, amount, expiry) that taking ``amount`` of free credit would take:
    soonest-expiring first, the grants of movement ``first_from`` before any other."""
    query = select(CreditGrant.id, CreditGrant.remaining, CreditGrant.expires_at).where(
        CreditGrant.account_id == account_id,
        CreditGrant.expired_at.is_(None),
        CreditGrant.remaining > 0,
    )
    if first_from is not None:
        query = query.order_by(case((CreditGrant.transfer_id == first_from, 0), else_=1))
    rows = await session.execute(
        query.order_by(CreditGrant.expires_at.asc().nulls_last(), CreditGrant.id)
    )
    plan: list[tuple[int, int, dt.datetime | None]] = []
    left = amount
    for grant_id, remaining, expires_at in rows.all():
        if left == 0:
            break
        take = min(left, remaining)
        plan.append((grant_id, take, expires_at))
        left -= take
    return plan


def _parts(taken: list[tuple[dt.datetime | None, int]]) -> list[Part]:
    """One part per expiry, soonest first (never last)."""
    merged: dict[dt.datetime | None, int] = {}
    for expires_at, amount in taken:
        merged[expires_at] = merged.get(expires_at, 0) + amount
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    return [Part(e, n) for e, n in sorted(merged.items(), key=lambda p: p[0] or never)]


async def take_free(
    session: AsyncSession, account_id: int, amount: int, *, first_from: int | None = None
) -> list[Part]:
    """Take ``amount`` of the account's free grant credit, as ``settle`` would drop it
    (soonest-expiring first; what pending holds reserve is not free), but the grants of
    movement ``first_from`` before any other; return what it took, one part per expiry,
    soonest first. The caller has debited the balance by ``amount`` without touching
    what is held or going below zero, so the free credit is there: short of it, the
    grants are out of step and the transaction is refused."""
    plan = await _free_plan(session, account_id, amount, first_from)
    for grant_id, take, _ in plan:
        await _take_from_grant(session, grant_id, take)
    left = amount - sum(take for _, take, _ in plan)
    if left:
        raise GrantsOutOfStep(f"account {account_id}: {amount} moved but only {amount - left} free")
    return _parts([(expires_at, take) for _, take, expires_at in plan])


async def free_parts(session: AsyncSession, account_id: int, amount: int) -> list[Part]:
    """What ``take_free`` would take now, one part per expiry, without taking it (at most
    what is free)."""
    plan = await _free_plan(session, account_id, amount, None)
    return _parts([(expires_at, take) for _, take, expires_at in plan])


def capped(parts: list[Part], latest: dt.datetime | None) -> list[Part]:
    """``parts`` expiring at ``latest`` at the latest (None: as they are): a new expiry may
    shorten a credit's life, never lengthen it."""
    if latest is None:
        return parts
    return _parts([(min(p.expires_at or latest, latest), p.amount) for p in parts])


async def return_reservations(session: AsyncSession, hold_id: int) -> Returned:
    """A hold was voided: give what it reserved back to its grants. What it reserved from
    a grant that expired meanwhile is returned as due to expire now."""
    rows = await session.execute(
        select(HoldAllocation.grant_id, func.sum(HoldAllocation.amount), CreditGrant.expired_at)
        .join(CreditGrant, CreditGrant.id == HoldAllocation.grant_id)
        .where(HoldAllocation.hold_id == hold_id)
        .group_by(HoldAllocation.grant_id, CreditGrant.expired_at)
    )
    to_open = 0
    to_expired: dict[int, int] = {}
    for grant_id, total, expired_at in rows.all():
        amount = int(total or 0)  # PostgreSQL sums BIGINTs as NUMERIC
        if not amount:
            continue
        if expired_at is None:
            await _take_from_grant(session, grant_id, -amount)
            to_open += amount
        else:
            to_expired[grant_id] = amount
    return Returned(to_open=to_open, to_expired=to_expired)


async def record_credit(
    session: AsyncSession,
    *,
    account_id: int,
    transfer_id: int,
    amount: int,
    expires_at: dt.datetime | None,
) -> None:
    """Credits came into a reseller account: they are a grant (``settle`` trims the part
    that only covered a debt)."""
    session.add(
        CreditGrant(
            account_id=account_id,
            transfer_id=transfer_id,
            amount=amount,
            remaining=amount,
            expires_at=expires_at,
        )
    )
    await session.flush()


async def record_parts(
    session: AsyncSession, *, account_id: int, transfer_id: int, parts: list[Part]
) -> None:
    """Credits moved in from another reseller: one grant per expiry they carried."""
    for part in parts:
        await record_credit(
            session,
            account_id=account_id,
            transfer_id=transfer_id,
            amount=part.amount,
            expires_at=part.expires_at,
        )


async def expiring_parts(session: AsyncSession, transfer_id: int) -> list[Part]:
    """The parts of what movement ``transfer_id`` brought in that expire, soonest first."""
    rows = await session.execute(
        select(CreditGrant.expires_at, CreditGrant.amount)
        .where(CreditGrant.transfer_id == transfer_id, CreditGrant.expires_at.is_not(None))
        .order_by(CreditGrant.expires_at, CreditGrant.id)
    )
    return [Part(expires_at, amount) for expires_at, amount in rows]


async def problems(session: AsyncSession) -> list[str]:
    """Where grants and hold reservations break the rule above, in words."""
    found: list[str] = []
    free = (
        select(
            CreditGrant.account_id.label("account_id"),
            func.sum(CreditGrant.remaining).label("s"),
        )
        .where(CreditGrant.expired_at.is_(None))
        .group_by(CreditGrant.account_id)
        .subquery()
    )
    reserved = (
        select(Hold.account_id.label("account_id"), func.sum(HoldAllocation.amount).label("s"))
        .join(Hold, Hold.id == HoldAllocation.hold_id)
        .where(Hold.status == HoldStatus.PENDING)
        .group_by(Hold.account_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            LedgerAccount.id,
            LedgerAccount.reseller_id,
            LedgerAccount.balance,
            LedgerAccount.held,
            func.coalesce(free.c.s, 0),
            func.coalesce(reserved.c.s, 0),
        )
        .outerjoin(free, free.c.account_id == LedgerAccount.id)
        .outerjoin(reserved, reserved.c.account_id == LedgerAccount.id)
        .where(LedgerAccount.kind == AccountKind.RESELLER)
        .order_by(LedgerAccount.id)
    )
    for account_id, reseller_id, balance, held, got_free, got_reserved in rows:
        name = f"account {account_id} (reseller {reseller_id})"
        backed = max(0, balance)
        want_reserved = min(held, backed)
        if got_free + got_reserved != backed:
            found.append(
                f"{name}: grants hold {got_free + got_reserved} "
                f"({got_free} free, {got_reserved} reserved) but the balance backs {backed}"
            )
        elif got_reserved != want_reserved:
            found.append(
                f"{name}: pending holds reserve {got_reserved} of its grants, not {want_reserved}"
            )
    over_reserved = await session.execute(
        select(Hold.id, Hold.amount, func.sum(HoldAllocation.amount))
        .join(HoldAllocation, HoldAllocation.hold_id == Hold.id)
        .where(Hold.status == HoldStatus.PENDING)
        .group_by(Hold.id, Hold.amount)
        .having(func.sum(HoldAllocation.amount) > Hold.amount)
    )
    for hold_id, amount, got in over_reserved:
        found.append(f"hold {hold_id}: reserves {got} of grants but holds only {amount}")
    pending_from = (
        select(
            HoldAllocation.grant_id.label("grant_id"),
            func.sum(HoldAllocation.amount).label("s"),
        )
        .join(Hold, Hold.id == HoldAllocation.hold_id)
        .where(Hold.status == HoldStatus.PENDING)
        .group_by(HoldAllocation.grant_id)
        .subquery()
    )
    overdrawn = await session.execute(
        select(CreditGrant.id, CreditGrant.amount, CreditGrant.remaining, pending_from.c.s)
        .join(pending_from, pending_from.c.grant_id == CreditGrant.id)
        .where(CreditGrant.remaining + pending_from.c.s > CreditGrant.amount)
    )
    for grant_id, amount, remaining, got in overdrawn:
        found.append(
            f"grant {grant_id}: {remaining} free and {got} reserved, more than its {amount}"
        )
    leftover = await session.scalar(
        select(func.count())
        .select_from(CreditGrant)
        .where(CreditGrant.expired_at.is_not(None), CreditGrant.remaining != 0)
    )
    if leftover:
        found.append(f"{leftover} expired grants still have credit left")
    return found
