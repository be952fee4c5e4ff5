"""Postpaid resellers: cash received from them, and who owes.

Cash received is the ledger's cash-received movement (from the cash account to the
reseller's), so it reduces what the reseller owes; recording it is logged with the amounts
owed before and after, and the reseller is told through the outbox, in the same
transaction. What the admin adds (how it was paid, a reference) is kept in the log.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log, ledger, ledger_postings, resellers
from bot.services.admin_log import ActionError
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue
from bot.services.resellers import ResellerView, require_by_telegram_id
from models import Billing, EntryKind, LedgerAccount, Reseller, Transfer

MAX_METHOD = 32
MAX_REFERENCE = 64
MAX_COMMENT = ledger.MAX_COMMENT
KEY_PREFIX = "cash:"


@dataclass(frozen=True)
class CashReceipt:
    """What recording cash did (or, ``replayed``, had done the first time)."""

    reseller: ResellerView
    amount: int
    owed_before: int
    owed_after: int
    balance: ledger.Balance
    replayed: bool


@dataclass(frozen=True)
class Debtor:
    reseller: ResellerView
    owed: int
    limit: int
    used_percent: int | None  # of the collection limit, rounded; None without a limit
    last_payment: dt.datetime | None  # the last cash received
    days_since_payment: int | None


def owed(balance: int) -> int:
    """What a postpaid reseller owes: how far its balance is below zero."""
    return max(0, -balance)


def check_method(method: str) -> str:
    """How it was paid ("cash", "bank", a payment method's code or a short text)."""
    checked = admin_log.check_text(method, MAX_METHOD, "method_too_long")
    if checked is None:
        raise ActionError("no_method", "say how the cash was paid")
    return checked


def check_reference(reference: str | None) -> str | None:
    return admin_log.check_text(reference, MAX_REFERENCE, "reference_too_long")


def check_comment(comment: str | None) -> str | None:
    return admin_log.check_text(comment, MAX_COMMENT, "comment_too_long")


def _key(key: str) -> str:
    return KEY_PREFIX + key


async def record(
    db: Database,
    *,
    telegram_id: int,
    amount: int,
    method: str,
    actor: str,
    key: str,
    now: dt.datetime,
    reference: str | None = None,
    comment: str | None = None,
) -> CashReceipt:
    """Record ``amount`` of cash received from a postpaid reseller, once per ``key``.

    Refused (nothing written) for a prepaid reseller. Repeating ``key`` moves, logs and
    tells nothing again and returns the first result as ``replayed``.
    """
    method = check_method(method)
    reference, comment = check_reference(reference), check_comment(comment)
    if amount <= 0:
        raise ActionError("bad_amount", "the amount must be positive", amount=amount)

    async def _record(session: AsyncSession) -> CashReceipt:
        reseller = await require_by_telegram_id(session, telegram_id)
        if not reseller.postpaid:
            raise ActionError("not_postpaid", f"{reseller.name} is prepaid")
        before = await ledger.balance(session, reseller.account_id)
        movement = await ledger_postings.record_cash_received(
            session,
            account_id=reseller.account_id,
            amount=amount,
            actor=actor,
            key=_key(key),
            comment=comment,
        )
        after = await ledger.balance(session, reseller.account_id)
        if movement.replayed:
            return CashReceipt(
                reseller, amount, owed(after.balance), owed(after.balance), after, replayed=True
            )
        await admin_log.record(
            session,
            actor=actor,
            action="cash_received",
            now=now,
            reseller_id=reseller.id,
            reason=comment,
            before={"balance": before.balance, "owed": owed(before.balance)},
            after={
                "balance": after.balance,
                "owed": owed(after.balance),
                "amount": amount,
                "method": method,
                "reference": reference,
                "transfer_id": movement.transfer_id,
            },
        )
        notice = Outgoing(
            key=f"cash-received:{movement.transfer_id}",
            chat_id=reseller.telegram_id,
            kind=Kind.CASH_RECEIVED,
            payload={"amount": amount, "owed": owed(after.balance), "balance": after.balance},
        )
        await enqueue(session, [notice], now)
        return CashReceipt(
            reseller, amount, owed(before.balance), owed(after.balance), after, replayed=False
        )

    try:
        return await db.run(_record)
    except ledger.IdempotencyConflict:
        raise ActionError("key_reused", f"key {key!r} was used for another movement") from None


async def recorded(db: Database, key: str) -> bool:
    """Whether cash was recorded under ``key`` (a second tap on a Save that did its work)."""
    async with db.transaction() as session:
        found = await session.scalar(
            select(Transfer.id).where(Transfer.idempotency_key == _key(key))
        )
    return found is not None


def _percent(part: int, whole: int) -> int | None:
    if whole <= 0:
        return None
    return (part * 100 * 2 + whole) // (whole * 2)  # rounded half up


async def debtors(db: Database, *, now: dt.datetime) -> list[Debtor]:
    """Postpaid resellers that owe, the most owed first, with their last payment."""
    last_cash = (
        select(
            Transfer.to_account_id.label("account_id"), func.max(Transfer.created_at).label("at")
        )
        .where(Transfer.kind == EntryKind.CASH_RECEIVED)
        .group_by(Transfer.to_account_id)
        .subquery()
    )
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(Reseller, LedgerAccount, last_cash.c.at)
                .join(LedgerAccount, LedgerAccount.reseller_id == Reseller.id)
                .outerjoin(last_cash, last_cash.c.account_id == LedgerAccount.id)
                .where(Reseller.billing == Billing.POSTPAID, LedgerAccount.balance < 0)
                .order_by(LedgerAccount.balance, Reseller.name, Reseller.id)
            )
        ).all()
        found: list[Debtor] = []
        for row, account, paid_at in rows:
            reseller = resellers._view(row, account)
            if paid_at is not None and paid_at.tzinfo is None:
                paid_at = paid_at.replace(tzinfo=dt.UTC)
            days = None if paid_at is None else max(0, (now - paid_at).days)
            debt = owed(account.balance)
            found.append(
                Debtor(
                    reseller,
                    debt,
                    reseller.credit_limit,
                    _percent(debt, reseller.credit_limit),
                    paid_at,
                    days,
                )
            )
        return found
