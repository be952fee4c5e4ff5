"""Grants past their expiry: finding them, and removing what is left of each, once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.ledger import move, rowcount, system_account_id
from models import CreditGrant, EntryKind, LedgerAccount, SystemAccount, TxType


@dataclass(frozen=True)
class ExpiredGrant:
    grant_id: int
    account_id: int
    amount: int


async def due_grant_ids(session: AsyncSession, *, now: dt.datetime, limit: int = 500) -> list[int]:
    rows = await session.scalars(
        select(CreditGrant.id)
        .where(CreditGrant.expired_at.is_(None), CreditGrant.expires_at <= now)
        .order_by(CreditGrant.expires_at, CreditGrant.id)
        .limit(limit)
    )
    return list(rows)


async def expire_grant(
    session: AsyncSession, grant_id: int, *, now: dt.datetime
) -> ExpiredGrant | None:
    """Remove what is left of an expired grant, once. None if there was nothing to do.

    Only its free remainder goes: what a pending hold reserves from it stays reserved,
    and expires when that hold is voided (a posted hold has spent it).
    """
    account_id = await session.scalar(
        select(CreditGrant.account_id).where(
            CreditGrant.id == grant_id,
            CreditGrant.expired_at.is_(None),
            CreditGrant.expires_at <= now,
        )
    )
    if account_id is None:
        return None
    # Lock the account first, as every debit does, so the grant's remainder is stable.
    await session.execute(
        select(LedgerAccount.id).where(LedgerAccount.id == account_id).with_for_update()
    )
    remaining = await session.scalar(
        select(CreditGrant.remaining).where(CreditGrant.id == grant_id)
    )
    claimed = await session.execute(
        update(CreditGrant)
        .where(CreditGrant.id == grant_id, CreditGrant.expired_at.is_(None))
        .values(expired_at=now, remaining=0)
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1 or remaining is None:
        return None
    if remaining > 0:
        await move(
            session,
            src=account_id,
            dst=await system_account_id(session, SystemAccount.EXPIRED),
            amount=remaining,
            kind=EntryKind.EXPIRY,
            tx_type=TxType.ADJUSTMENT,
            actor="system",
            key=f"grant:{grant_id}:expiry",
            comment="Expired credits",
            related=f"grant:{grant_id}",
        )
    return ExpiredGrant(grant_id=grant_id, account_id=account_id, amount=remaining)
