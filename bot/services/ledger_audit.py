"""The ledger's self-check: every balance and reservation recomputed from the entries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import grants
from models import Hold, HoldStatus, LedgerAccount, Transfer


@dataclass(frozen=True)
class AuditReport:
    accounts: int
    transfers: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


async def audit(session: AsyncSession) -> AuditReport:
    """Recompute every balance and reservation from the entries and compare."""
    incoming = (
        select(Transfer.to_account_id.label("account_id"), func.sum(Transfer.amount).label("s"))
        .group_by(Transfer.to_account_id)
        .subquery()
    )
    outgoing = (
        select(Transfer.from_account_id.label("account_id"), func.sum(Transfer.amount).label("s"))
        .group_by(Transfer.from_account_id)
        .subquery()
    )
    pending = (
        select(Hold.account_id.label("account_id"), func.sum(Hold.amount).label("s"))
        .where(Hold.status == HoldStatus.PENDING)
        .group_by(Hold.account_id)
        .subquery()
    )
    rows = (
        await session.execute(
            select(
                LedgerAccount.id,
                LedgerAccount.code,
                LedgerAccount.reseller_id,
                LedgerAccount.balance,
                LedgerAccount.held,
                LedgerAccount.credit_limit,
                func.coalesce(incoming.c.s, 0) - func.coalesce(outgoing.c.s, 0),
                func.coalesce(pending.c.s, 0),
            )
            .outerjoin(incoming, incoming.c.account_id == LedgerAccount.id)
            .outerjoin(outgoing, outgoing.c.account_id == LedgerAccount.id)
            .outerjoin(pending, pending.c.account_id == LedgerAccount.id)
            .order_by(LedgerAccount.id)
        )
    ).all()
    problems: list[str] = []
    total = 0
    for account_id, code, reseller_id, stored, held, limit, computed, reserved in rows:
        name = f"account {account_id} ({code or f'reseller {reseller_id}'})"
        total += stored
        if stored != computed:
            problems.append(f"{name}: balance {stored} but its entries sum to {computed}")
        if held != reserved:
            problems.append(f"{name}: held {held} but its pending holds sum to {reserved}")
        if limit is not None and stored - held < -limit:
            problems.append(f"{name}: available {stored - held} is below its limit -{limit}")
    if total != 0:
        problems.append(f"balances sum to {total}, not 0")
    unposted = await session.scalar(
        select(func.count())
        .select_from(Hold)
        .where(Hold.status == HoldStatus.POSTED, Hold.transfer_id.is_(None))
    )
    if unposted:
        problems.append(f"{unposted} posted holds have no transfer")
    problems.extend(await grants.problems(session))
    transfers = await session.scalar(select(func.count()).select_from(Transfer)) or 0
    return AuditReport(accounts=len(rows), transfers=transfers, problems=problems)
