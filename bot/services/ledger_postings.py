"""The movements the features make through ``ledger.move``: a sale's charge with no
outside call to wait on and its refund, a transfer between two resellers, and cash
received from a postpaid reseller."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.ledger import Movement, move, require_reseller_account, system_account_id
from models import EntryKind, SystemAccount, TxType


async def spend(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    kind: EntryKind,
    actor: str,
    key: str,
    comment: str | None = None,
    related: str | None = None,
) -> Movement:
    """Charge a reseller for a sale (activation, renewal) with no outside call to wait on."""
    await require_reseller_account(session, account_id)
    return await move(
        session,
        src=account_id,
        dst=await system_account_id(session, SystemAccount.SALES),
        amount=amount,
        kind=kind,
        tx_type=TxType.PURCHASE,
        actor=actor,
        key=key,
        comment=comment,
        related=related,
    )


async def refund(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    actor: str,
    key: str,
    comment: str | None = None,
    related: str | None = None,
) -> Movement:
    await require_reseller_account(session, account_id)
    return await move(
        session,
        src=await system_account_id(session, SystemAccount.SALES),
        dst=account_id,
        amount=amount,
        kind=EntryKind.REFUND,
        tx_type=TxType.ADJUSTMENT,
        actor=actor,
        key=key,
        comment=comment,
        related=related,
    )


async def transfer_between(
    session: AsyncSession,
    *,
    from_account_id: int,
    to_account_id: int,
    amount: int,
    actor: str,
    key: str,
    comment: str | None = None,
) -> Movement:
    """Move credits from one reseller to another: what the sender has above zero and
    unheld, keeping their expiry (``move(keep_expiry=True)``)."""
    return await move(
        session,
        src=from_account_id,
        dst=to_account_id,
        amount=amount,
        kind=EntryKind.TRANSFER,
        tx_type=TxType.PURCHASE,
        actor=actor,
        key=key,
        comment=comment,
        keep_expiry=True,
    )


async def record_cash_received(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    actor: str,
    key: str,
    comment: str | None = None,
) -> Movement:
    """Cash collected from a postpaid reseller: reduces what it owes."""
    await require_reseller_account(session, account_id)
    return await move(
        session,
        src=await system_account_id(session, SystemAccount.CASH),
        dst=account_id,
        amount=amount,
        kind=EntryKind.CASH_RECEIVED,
        tx_type=TxType.PURCHASE,
        actor=actor,
        key=key,
        comment=comment,
    )
