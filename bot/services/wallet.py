"""A reseller's wallet: what operators and resellers do with credits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log, credits, ledger, ledger_audit, ledger_postings, ledger_reads
from bot.services.alerts import Kind
from bot.services.resellers import ResellerError, ResellerView, require_by_telegram_id
from models import EntryKind, Transfer, TxType
from models.base import utcnow

EXPIRY_WINDOW = dt.timedelta(days=30)
# Operators' idempotency keys live apart from the keys the bot makes itself
# ("topup:7", "grant:3:expiry", "hold:9:post"), so no operator key can block one of those.
OPERATOR_KEY_PREFIX = "op:"


def _operator_key(key: str) -> str:
    return OPERATOR_KEY_PREFIX + key


async def _as_operator(key: str, work: Callable[[], Awaitable[WalletChange]]) -> WalletChange:
    try:
        return await work()
    except ledger.IdempotencyConflict:
        raise ledger.IdempotencyConflict(
            f"key {key!r} was already used with other values (reseller, amount, type, "
            "comment or expiry); nothing moved. Use a new key for a new movement."
        ) from None


@dataclass(frozen=True)
class BalanceSummary:
    reseller: ResellerView
    balance: ledger.Balance
    expiring: list[ledger_reads.ExpiringCredit]

    @property
    def owed(self) -> int:
        """What a postpaid reseller owes: how far its balance is below zero."""
        return max(0, -self.balance.balance)

    @property
    def below_threshold(self) -> bool:
        return self.balance.available < self.reseller.low_balance_threshold


@dataclass(frozen=True)
class WalletChange:
    reseller: ResellerView
    movement: ledger.Movement
    balance: ledger.Balance


async def balance_summary(
    db: Database, telegram_id: int, *, now: dt.datetime, known: ResellerView | None = None
) -> BalanceSummary:
    """``known``: the reseller as who is asking just read it, saving a statement."""
    async with db.read() as session:
        reseller = known or await require_by_telegram_id(session, telegram_id)
        balance, expiring = await ledger_reads.balance_and_expiring(
            session, reseller.account_id, now=now, within=EXPIRY_WINDOW
        )
        return BalanceSummary(reseller, balance, expiring)


async def history_page(
    db: Database,
    telegram_id: int,
    *,
    page: int,
    page_size: int = 10,
    known: ResellerView | None = None,
) -> ledger_reads.HistoryPage:
    """``known``: the reseller as who is asking just read it, saving a statement."""
    async with db.read() as session:
        reseller = known or await require_by_telegram_id(session, telegram_id)
        return await ledger_reads.history(
            session, reseller.account_id, page=page, page_size=page_size
        )


async def add_credit(
    db: Database,
    *,
    telegram_id: int,
    amount: int,
    tx_type: TxType,
    actor: str,
    key: str,
    now: dt.datetime,
    comment: str | None = None,
    expires_at: dt.datetime | None = None,
    tell: bool = False,
) -> WalletChange:
    """An operator grants credits (optionally expiring) to a reseller; ``tell`` queues
    the reseller's notice with it (the chat and the CLI tell, a test fixture need not)."""

    async def _add(session: AsyncSession) -> WalletChange:
        reseller = await require_by_telegram_id(session, telegram_id)
        before = await ledger.balance(session, reseller.account_id)
        movement = await ledger.grant(
            session,
            account_id=reseller.account_id,
            amount=amount,
            kind=EntryKind.ADJUSTMENT,
            tx_type=tx_type,
            actor=actor,
            key=_operator_key(key),
            now=now,
            comment=comment,
            expires_at=expires_at,
        )
        change = WalletChange(
            reseller, movement, await ledger.balance(session, reseller.account_id)
        )
        extra = {"expires_at": expires_at.isoformat()} if expires_at else {}
        await _log(session, "credit_added", change, before, actor, now, comment, tx_type, extra)
        if tell and not movement.replayed:
            await credits.tell_reseller(
                session,
                kind=Kind.CREDIT_ADDED,
                transfer_id=movement.transfer_id,
                chat_id=reseller.telegram_id,
                amount=amount,
                balance=change.balance,
                comment=comment,
                now=now,
                expires_at=expires_at,
            )
        return change

    return await _as_operator(key, lambda: db.run(_add))


async def remove_credit(
    db: Database,
    *,
    telegram_id: int,
    amount: int,
    tx_type: TxType,
    actor: str,
    key: str,
    comment: str | None = None,
    now: dt.datetime | None = None,
    tell: bool = False,
) -> WalletChange:
    """An operator takes credits back, within what the reseller may go down to (more is
    refused with ``credits.TooMuchToRemove``, which says the most); ``tell`` as for
    ``add_credit``."""
    when = now or utcnow()

    async def _remove(session: AsyncSession) -> WalletChange:
        reseller = await require_by_telegram_id(session, telegram_id)
        before = await ledger.balance(session, reseller.account_id)
        try:
            movement = await ledger.remove(
                session,
                account_id=reseller.account_id,
                amount=amount,
                tx_type=tx_type,
                actor=actor,
                key=_operator_key(key),
                comment=comment,
            )
        except ledger.InsufficientCredit as exc:
            raise credits.TooMuchToRemove(exc.available, exc.requested, exc.credit_limit) from None
        change = WalletChange(
            reseller, movement, await ledger.balance(session, reseller.account_id)
        )
        await _log(session, "credit_removed", change, before, actor, when, comment, tx_type)
        if tell and not movement.replayed:
            await credits.tell_reseller(
                session,
                kind=Kind.CREDIT_REMOVED,
                transfer_id=movement.transfer_id,
                chat_id=reseller.telegram_id,
                amount=amount,
                balance=change.balance,
                comment=comment,
                now=when,
            )
        return change

    return await _as_operator(key, lambda: db.run(_remove))


async def record_cash_received(
    db: Database,
    *,
    telegram_id: int,
    amount: int,
    actor: str,
    key: str,
    comment: str | None = None,
    now: dt.datetime | None = None,
) -> WalletChange:
    """Cash collected from a postpaid reseller settles what it owes."""
    when = now or utcnow()

    async def _record(session: AsyncSession) -> WalletChange:
        reseller = await require_by_telegram_id(session, telegram_id)
        if not reseller.postpaid:
            raise ResellerError("cash received applies to postpaid resellers only")
        before = await ledger.balance(session, reseller.account_id)
        movement = await ledger_postings.record_cash_received(
            session,
            account_id=reseller.account_id,
            amount=amount,
            actor=actor,
            key=_operator_key(key),
            comment=comment,
        )
        change = WalletChange(
            reseller, movement, await ledger.balance(session, reseller.account_id)
        )
        await _log(session, "cash_received", change, before, actor, when, comment)
        return change

    return await _as_operator(key, lambda: db.run(_record))


async def _log(
    session: AsyncSession,
    action: str,
    change: WalletChange,
    before: ledger.Balance,
    actor: str,
    now: dt.datetime,
    comment: str | None,
    tx_type: TxType | None = None,
    extra: dict[str, str] | None = None,
) -> None:
    """Log a credit movement once: a replay of the same key moved nothing, logs nothing."""
    if change.movement.replayed:
        return
    after: dict[str, object] = {"balance": change.balance.balance, "amount": change.movement.amount}
    if tx_type is not None:
        after["tx_type"] = tx_type.value
    await admin_log.record(
        session,
        actor=actor,
        action=action,
        now=now,
        reseller_id=change.reseller.id,
        reason=comment,
        before={"balance": before.balance},
        after=after | (extra or {}),
    )


async def moved(db: Database, key: str) -> bool:
    """Whether an operator movement was already made with ``key``."""
    async with db.transaction() as session:
        found = await session.scalar(
            select(Transfer.id).where(Transfer.idempotency_key == _operator_key(key))
        )
        return found is not None


async def audit(db: Database) -> ledger_audit.AuditReport:
    async with db.transaction() as session:
        return await ledger_audit.audit(session)
