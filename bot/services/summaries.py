"""The figures of the admins' scheduled summaries: what happened in a period, read from
the ledger, the customers and the accounts.

Movements are summed by where credits went, so the figures add up against the audit:
``issued`` left the issuance account, ``spent`` is what the sales account kept (sales less
refunds and parents' margins), ``expired`` went to the expired account. ``expiring`` and
the postpaid ``debt`` are how things stand at ``now``, not over the period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import ledger, star_refunds
from bot.services.statements import Period
from models import (
    Billing,
    Customer,
    CustomerStatus,
    EntryKind,
    LedgerAccount,
    Reseller,
    SystemAccount,
    Transfer,
)

EXPIRING_WITHIN = dt.timedelta(days=7)
TOP_RESELLERS = 5
SALE_KINDS = (EntryKind.ACTIVATION, EntryKind.RENEWAL)


@dataclass(frozen=True)
class TopReseller:
    name: str
    telegram_id: int
    sales: int  # activations and renewals
    amount: int


@dataclass(frozen=True)
class Summary:
    first: dt.date
    last: dt.date  # inclusive
    activations: int
    activations_amount: int
    renewals: int
    renewals_amount: int
    refunds_amount: int
    topups: int
    topups_amount: int
    issued: int
    spent: int
    expired: int
    new_customers: int
    expiring: int  # active customers whose subscription ends within EXPIRING_WITHIN
    debtors: int  # postpaid resellers below zero
    debt: int  # what they owe in all
    top: tuple[TopReseller, ...]

    def payload(self) -> dict[str, Any]:
        """Plain values for the outbox (dates as ISO text)."""
        values = asdict(self)
        values["first"], values["last"] = self.first.isoformat(), self.last.isoformat()
        return values

    @classmethod
    def from_payload(cls, values: dict[str, Any]) -> Summary:
        fields = {name: values[name] for name in cls.__dataclass_fields__}
        fields["first"] = dt.date.fromisoformat(values["first"])
        fields["last"] = dt.date.fromisoformat(values["last"])
        fields["top"] = tuple(TopReseller(**row) for row in values["top"])
        return cls(**fields)


def _within(start: dt.datetime, end: dt.datetime) -> ColumnElement[bool]:
    return (Transfer.created_at >= start) & (Transfer.created_at < end)


async def _total(session: AsyncSession, *where: ColumnElement[bool]) -> tuple[int, int]:
    """(count, sum of amounts) of the transfers matching ``where``."""
    row = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Transfer.amount), 0)).where(*where)
        )
    ).one()
    return int(row[0]), int(row[1])


async def summary(db: Database, period: Period, zone: ZoneInfo, *, now: dt.datetime) -> Summary:
    """The figures of ``period`` (whole local days) and the standing ones at ``now``."""
    start, end = period.bounds(zone)
    window = _within(start, end)
    async with db.transaction() as session:
        issuance = await ledger.system_account_id(session, SystemAccount.ISSUANCE)
        sales = await ledger.system_account_id(session, SystemAccount.SALES)
        expired_account = await ledger.system_account_id(session, SystemAccount.EXPIRED)
        to_sales = Transfer.to_account_id == sales
        activations = await _total(session, window, to_sales, Transfer.kind == EntryKind.ACTIVATION)
        renewals = await _total(session, window, to_sales, Transfer.kind == EntryKind.RENEWAL)
        into_sales = await _total(session, window, to_sales)
        out_of_sales = await _total(session, window, Transfer.from_account_id == sales)
        refunds = await _total(
            session, window, Transfer.from_account_id == sales, Transfer.kind == EntryKind.REFUND
        )
        topups = await _total(
            session,
            window,
            Transfer.kind == EntryKind.TOPUP,
            ~Transfer.idempotency_key.startswith(f"{star_refunds.RESTORED}:"),
        )
        issued = await _total(session, window, Transfer.from_account_id == issuance)
        expired = await _total(session, window, Transfer.to_account_id == expired_account)
        new_customers = await session.scalar(
            select(func.count()).where(Customer.created_at >= start, Customer.created_at < end)
        )
        expiring = await session.scalar(
            select(func.count()).where(
                Customer.status == CustomerStatus.ACTIVE,
                Customer.expires_at > now,
                Customer.expires_at <= now + EXPIRING_WITHIN,
            )
        )
        debt = (
            await session.execute(
                select(func.count(), func.coalesce(func.sum(-LedgerAccount.balance), 0))
                .join(Reseller, Reseller.id == LedgerAccount.reseller_id)
                .where(Reseller.billing == Billing.POSTPAID, LedgerAccount.balance < 0)
            )
        ).one()
        top = await _top_resellers(session, window, sales)
    return Summary(
        first=period.first,
        last=period.last,
        activations=activations[0],
        activations_amount=activations[1],
        renewals=renewals[0],
        renewals_amount=renewals[1],
        refunds_amount=refunds[1],
        topups=topups[0],
        topups_amount=topups[1],
        issued=issued[1],
        spent=into_sales[1] - out_of_sales[1],
        expired=expired[1],
        new_customers=int(new_customers or 0),
        expiring=int(expiring or 0),
        debtors=int(debt[0]),
        debt=int(debt[1]),
        top=top,
    )


async def _top_resellers(
    session: AsyncSession, window: ColumnElement[bool], sales: int
) -> tuple[TopReseller, ...]:
    """The resellers who sold the most in the window (by amount), at most TOP_RESELLERS."""
    amount = func.sum(Transfer.amount)
    rows = await session.execute(
        select(Reseller.name, Reseller.telegram_id, func.count(), amount)
        .select_from(Transfer)
        .join(LedgerAccount, LedgerAccount.id == Transfer.from_account_id)
        .join(Reseller, Reseller.id == LedgerAccount.reseller_id)
        .where(window, Transfer.to_account_id == sales, Transfer.kind.in_(SALE_KINDS))
        .group_by(Reseller.id, Reseller.name, Reseller.telegram_id)
        .order_by(amount.desc(), Reseller.id)
        .limit(TOP_RESELLERS)
    )
    return tuple(TopReseller(name, int(tid), int(n), int(total)) for name, tid, n, total in rows)
