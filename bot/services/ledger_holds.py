"""Two-phase holds: credit reserved for a sale whose outside step (provisioning) has not
happened yet, then posted as a transfer when it succeeds or voided when it fails.

A hold reserves credit (``held``) from the soonest-expiring grants; posting spends exactly
those, voiding returns them, and a grant that expired meanwhile expires on return.
Available credit is the balance less what is held (see ``ledger.Balance``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import grants
from bot.services.ledger import (
    IdempotencyConflict,
    InvalidEntry,
    LedgerError,
    Movement,
    move,
    raise_insufficient,
    require_reseller_account,
    rowcount,
    system_account_id,
    validate,
)
from models import EntryKind, Hold, HoldStatus, LedgerAccount, SystemAccount, TxType


class HoldNotPending(LedgerError):
    def __init__(self, hold_id: int, status: str) -> None:
        super().__init__(f"hold {hold_id} is {status}, not pending")
        self.status = status


@dataclass(frozen=True)
class HoldPlaced:
    hold_id: int
    amount: int
    replayed: bool


async def place_hold(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    kind: EntryKind,
    actor: str,
    key: str,
    comment: str | None = None,
    related: str | None = None,
) -> HoldPlaced:
    """Reserve credit for a sale whose outside step (provisioning) has not happened yet."""
    validate(amount, comment, key)
    await require_reseller_account(session, account_id)
    sales = await system_account_id(session, SystemAccount.SALES)
    found = (
        await session.execute(select(Hold).where(Hold.idempotency_key == key))
    ).scalar_one_or_none()
    if found is not None:
        if (found.account_id, found.amount, found.kind) != (account_id, amount, kind):
            raise IdempotencyConflict(f"key {key!r} was already used for another hold")
        return HoldPlaced(hold_id=found.id, amount=found.amount, replayed=True)
    account = LedgerAccount
    reserved = await session.execute(
        update(account)
        .where(
            account.id == account_id,
            account.balance - account.held - amount >= -account.credit_limit,
        )
        .values(held=account.held + amount)
    )
    if rowcount(reserved) != 1:
        await raise_insufficient(session, account_id, amount)
    hold = Hold(
        account_id=account_id,
        to_account_id=sales,
        amount=amount,
        kind=kind,
        tx_type=TxType.PURCHASE,
        comment=comment,
        actor=actor,
        related=related,
        idempotency_key=key,
    )
    session.add(hold)
    await session.flush()
    await grants.settle(session, account_id)  # reserve it from the soonest-expiring grants
    return HoldPlaced(hold_id=hold.id, amount=amount, replayed=False)


async def _claim_hold(
    session: AsyncSession, hold_id: int, new_status: HoldStatus, now: dt.datetime
) -> Hold:
    """Move a hold out of pending exactly once; return it as it was before."""
    hold = (
        await session.execute(
            select(Hold).where(Hold.id == hold_id).execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    if hold is None:
        raise InvalidEntry(f"no hold {hold_id}")
    claimed = await session.execute(
        update(Hold)
        .where(Hold.id == hold_id, Hold.status == HoldStatus.PENDING)
        .values(status=new_status, resolved_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1:
        status = await session.scalar(select(Hold.status).where(Hold.id == hold_id))
        raise HoldNotPending(hold_id, str(status))
    return hold


async def post_hold(session: AsyncSession, hold_id: int, *, now: dt.datetime) -> Movement:
    """Turn a pending hold into a transfer. Posting a posted hold returns its transfer."""
    posted = (
        await session.execute(
            select(Hold.status, Hold.transfer_id, Hold.amount).where(Hold.id == hold_id)
        )
    ).one_or_none()
    if posted is not None and posted.status == HoldStatus.POSTED and posted.transfer_id:
        return Movement(transfer_id=posted.transfer_id, amount=posted.amount, replayed=True)
    hold = await _claim_hold(session, hold_id, HoldStatus.POSTED, now)
    movement = await move(
        session,
        src=hold.account_id,
        dst=hold.to_account_id,
        amount=hold.amount,
        kind=EntryKind(hold.kind),
        tx_type=TxType(hold.tx_type),
        actor=hold.actor,
        key=f"hold:{hold.id}:post",
        comment=hold.comment,
        related=hold.related,
        from_held=True,
    )
    await session.execute(
        update(Hold)
        .where(Hold.id == hold_id)
        .values(transfer_id=movement.transfer_id)
        .execution_options(synchronize_session=False)
    )
    return movement


async def void_hold(session: AsyncSession, hold_id: int, *, now: dt.datetime) -> bool:
    """Release a pending hold. Returns False if it was already voided.

    What it reserved goes back to its grants; what it reserved from a grant that expired
    meanwhile expires now, as it would have if the hold had never been placed.
    """
    status = await session.scalar(select(Hold.status).where(Hold.id == hold_id))
    if status == HoldStatus.VOIDED:
        return False
    hold = await _claim_hold(session, hold_id, HoldStatus.VOIDED, now)
    await session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == hold.account_id)
        .values(held=LedgerAccount.held - hold.amount)
    )
    returned = await grants.return_reservations(session, hold_id)
    expired = sum(returned.to_expired.values())
    if expired:
        await move(
            session,
            src=hold.account_id,
            dst=await system_account_id(session, SystemAccount.EXPIRED),
            amount=expired,
            kind=EntryKind.EXPIRY,
            tx_type=TxType.ADJUSTMENT,
            actor="system",
            key=f"hold:{hold_id}:void:expiry",
            comment="Expired credits",
            related=f"hold:{hold_id}",
        )
    else:
        await grants.settle(session, hold.account_id)
    return True
