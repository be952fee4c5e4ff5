"""A reseller's wallet: what operators and resellers do with credits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import ledger
from bot.services.resellers import ResellerError, ResellerView, require_by_telegram_id
from models import EntryKind, TxType

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
    expiring: list[ledger.ExpiringCredit]

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


async def balance_summary(db: Database, telegram_id: int, *, now: dt.datetime) -> BalanceSummary:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return BalanceSummary(
            reseller=reseller,
            balance=await ledger.balance(session, reseller.account_id),
            expiring=await ledger.expiring_credits(
                session, reseller.account_id, now=now, within=EXPIRY_WINDOW
            ),
        )


async def history_page(
    db: Database, telegram_id: int, *, page: int, page_size: int = 10
) -> ledger.HistoryPage:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return await ledger.history(session, reseller.account_id, page=page, page_size=page_size)


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
) -> WalletChange:
    """An operator grants credits (optionally expiring) to a reseller."""

    async def _add(session: AsyncSession) -> WalletChange:
        reseller = await require_by_telegram_id(session, telegram_id)
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
        return WalletChange(reseller, movement, await ledger.balance(session, reseller.account_id))

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
) -> WalletChange:
    """An operator takes credits back, within what the reseller may go down to."""

    async def _remove(session: AsyncSession) -> WalletChange:
        reseller = await require_by_telegram_id(session, telegram_id)
        movement = await ledger.remove(
            session,
            account_id=reseller.account_id,
            amount=amount,
            tx_type=tx_type,
            actor=actor,
            key=_operator_key(key),
            comment=comment,
        )
        return WalletChange(reseller, movement, await ledger.balance(session, reseller.account_id))

    return await _as_operator(key, lambda: db.run(_remove))


async def record_cash_received(
    db: Database,
    *,
    telegram_id: int,
    amount: int,
    actor: str,
    key: str,
    comment: str | None = None,
) -> WalletChange:
    """Cash collected from a postpaid reseller settles what it owes."""

    async def _record(session: AsyncSession) -> WalletChange:
        reseller = await require_by_telegram_id(session, telegram_id)
        if not reseller.postpaid:
            raise ResellerError("cash received applies to postpaid resellers only")
        movement = await ledger.record_cash_received(
            session,
            account_id=reseller.account_id,
            amount=amount,
            actor=actor,
            key=_operator_key(key),
            comment=comment,
        )
        return WalletChange(reseller, movement, await ledger.balance(session, reseller.account_id))

    return await _as_operator(key, lambda: db.run(_record))


async def audit(db: Database) -> ledger.AuditReport:
    async with db.transaction() as session:
        return await ledger.audit(session)
