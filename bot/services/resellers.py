"""Resellers: registration, lookup and who is asking."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import BindParameter, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database, Reads
from bot.services import admin_log, ledger, roles
from bot.services.admin_log import ActionError
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue
from bot.services.roles import Permission
from models import AdminAction, Billing, Customer, LedgerAccount, Reseller, ResellerStatus
from models.base import utcnow

MAX_NAME = 100
# A Telegram username, without its @.
USERNAME = re.compile(r"[A-Za-z0-9_]{5,32}")


class ResellerError(Exception):
    """A reseller operation was refused; the message says why."""


class Role(StrEnum):
    ADMIN = "admin"
    RESELLER = "reseller"
    SUSPENDED = "suspended"
    CUSTOMER = "customer"  # a chat linked to a subscription by its invite link
    STRANGER = "stranger"


@dataclass(frozen=True)
class ResellerView:
    id: int
    telegram_id: int
    name: str
    username: str | None
    billing: Billing
    status: ResellerStatus
    low_balance_threshold: int
    account_id: int
    credit_limit: int
    # Levels of sub-resellers it may have below it (0: none).
    downline_depth: int = 0

    @property
    def postpaid(self) -> bool:
        return self.billing == Billing.POSTPAID

    @property
    def parent(self) -> bool:
        """It may have sub-resellers (and price lists for them)."""
        return self.downline_depth > 0


@dataclass(frozen=True)
class Identity:
    role: Role
    reseller: ResellerView | None
    # An admin's: everything for an owner (ADMIN_IDS), a staff admin's own permissions.
    permissions: frozenset[Permission] = frozenset()
    owner: bool = False

    @property
    def parent(self) -> bool:
        """A reseller who may have sub-resellers."""
        return self.reseller is not None and self.reseller.parent


@dataclass(frozen=True)
class ResellerRow:
    reseller: ResellerView
    balance: ledger.Balance


def _view(reseller: Reseller, account: LedgerAccount) -> ResellerView:
    return ResellerView(
        id=reseller.id,
        telegram_id=reseller.telegram_id,
        name=reseller.name,
        username=reseller.username,
        billing=Billing(reseller.billing),
        status=ResellerStatus(reseller.status),
        low_balance_threshold=reseller.low_balance_threshold,
        account_id=account.id,
        credit_limit=account.credit_limit or 0,
        downline_depth=reseller.downline_depth,
    )


# What a ResellerView shows, as plain columns: cheaper to read than two ORM objects,
# and read for nearly every update.
_VIEW_COLUMNS = (
    Reseller.id,
    Reseller.telegram_id,
    Reseller.name,
    Reseller.username,
    Reseller.billing,
    Reseller.status,
    Reseller.low_balance_threshold,
    LedgerAccount.id.label("account_id"),
    LedgerAccount.credit_limit,
    Reseller.downline_depth,
)


_WHO: BindParameter[int] = bindparam("telegram_id")
# Built once, and run with the id as a parameter: building a statement costs more CPU
# than SQLite takes to run it.
_BY_TELEGRAM_ID = (
    select(*_VIEW_COLUMNS)
    .join(LedgerAccount, LedgerAccount.reseller_id == Reseller.id)
    .where(Reseller.telegram_id == _WHO)
)
# A reseller (most who ask) and whether they are also staff: one statement.
_IDENTIFY = _BY_TELEGRAM_ID.add_columns(roles.stored_permissions(_WHO).label("staff"))


def _row_view(row: Any) -> ResellerView:  # a row of _VIEW_COLUMNS
    return ResellerView(
        id=row.id,
        telegram_id=row.telegram_id,
        name=row.name,
        username=row.username,
        billing=Billing(row.billing),
        status=ResellerStatus(row.status),
        low_balance_threshold=row.low_balance_threshold,
        account_id=row.account_id,
        credit_limit=row.credit_limit or 0,
        downline_depth=row.downline_depth,
    )


async def load_by_telegram_id(session: Reads, telegram_id: int) -> ResellerView | None:
    row = (await session.execute(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})).one_or_none()
    return None if row is None else _row_view(row)


async def require_by_telegram_id(session: Reads, telegram_id: int) -> ResellerView:
    reseller = await load_by_telegram_id(session, telegram_id)
    if reseller is None:
        raise ResellerError(f"no reseller with Telegram id {telegram_id}")
    return reseller


async def register_reseller(
    db: Database,
    *,
    telegram_id: int,
    name: str,
    username: str | None = None,
    billing: Billing = Billing.PREPAID,
    credit_limit: int = 0,
    low_balance_threshold: int = 0,
    actor: str = admin_log.CLI,
    now: dt.datetime | None = None,
    greet: bool = False,
) -> ResellerView:
    """Register a Telegram user as a reseller with an empty ledger account (logged);
    ``greet`` queues them a welcome in the same transaction."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ResellerError(f"the name must be 1 to {MAX_NAME} characters")
    if telegram_id <= 0:
        raise ResellerError("a Telegram user id is a positive number")
    if username is not None:
        username = username.removeprefix("@")
        if not USERNAME.fullmatch(username):
            raise ResellerError("a Telegram username is 5 to 32 letters, digits or underscores")
    if billing == Billing.PREPAID and credit_limit != 0:
        raise ResellerError("a prepaid reseller has no collection limit; use --postpaid")
    if credit_limit < 0 or low_balance_threshold < 0:
        raise ResellerError("limits and thresholds cannot be negative")

    async def _register(session: AsyncSession) -> ResellerView:
        if await load_by_telegram_id(session, telegram_id) is not None:
            raise ResellerError(f"Telegram id {telegram_id} is already a reseller")
        reseller = Reseller(
            telegram_id=telegram_id,
            name=name,
            username=username,
            billing=billing,
            low_balance_threshold=low_balance_threshold,
            status=ResellerStatus.ACTIVE,
        )
        session.add(reseller)
        await session.flush()
        await ledger.open_reseller_account(session, reseller.id, credit_limit)
        await admin_log.record(
            session,
            actor=actor,
            action="reseller_registered",
            now=now or utcnow(),
            reseller_id=reseller.id,
            after={
                "telegram_id": telegram_id,
                "name": name,
                "billing": billing.value,
                "credit_limit": credit_limit,
                "threshold": low_balance_threshold,
            },
        )
        if greet:
            welcome = Outgoing(
                f"reseller-welcome:{reseller.id}", telegram_id, Kind.RESELLER_WELCOME, {}
            )
            await enqueue(session, [welcome], now or utcnow())
        return await require_by_telegram_id(session, telegram_id)

    return await db.run(_register)


async def identify(db: Database, telegram_id: int, admin_ids: Collection[int]) -> Identity:
    """Who is asking: decided from settings and the database, never from the update."""
    owner = telegram_id in admin_ids
    linked = reseller = staff = None
    async with db.read() as session:  # runs for nearly every update: reads only
        row = (await session.execute(_IDENTIFY, {"telegram_id": telegram_id})).one_or_none()
        if row is not None:
            reseller = _row_view(row)
            staff = None if owner else roles.parse_stored(row.staff)
        elif not owner:
            staff = await roles.staff_permissions(session, telegram_id)
        if reseller is None and staff is None and not owner:
            linked = await session.scalar(
                select(Customer.id).where(Customer.chat_id == telegram_id).limit(1)
            )
    if owner:
        return Identity(Role.ADMIN, reseller, roles.EVERYTHING, owner=True)
    if staff is not None:
        return Identity(Role.ADMIN, reseller, staff)
    if reseller is None:
        return Identity(Role.CUSTOMER if linked else Role.STRANGER, None)
    if reseller.status == ResellerStatus.SUSPENDED:
        return Identity(Role.SUSPENDED, reseller)
    return Identity(Role.RESELLER, reseller)


async def reseller_row(db: Database, telegram_id: int) -> ResellerRow:
    """One reseller with its balance, for the admin's card."""
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return ResellerRow(reseller, await ledger.balance(session, reseller.account_id))


async def list_resellers(db: Database) -> list[ResellerRow]:
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(Reseller, LedgerAccount)
                .join(LedgerAccount, LedgerAccount.reseller_id == Reseller.id)
                .order_by(Reseller.name, Reseller.id)
            )
        ).all()
        return [
            ResellerRow(
                reseller=_view(reseller, account),
                balance=ledger.Balance(account.balance, account.held, account.credit_limit or 0),
            )
            for reseller, account in rows
        ]


async def set_status(
    db: Database,
    *,
    telegram_id: int,
    status: ResellerStatus,
    actor: str,
    now: dt.datetime,
    reason: str | None = None,
) -> ResellerView:
    """Suspend or reactivate a reseller, once: log who and why, and tell the reseller.

    A suspended reseller cannot sell or have top-ups approved; its customers and credit
    stay as they are.
    """
    reason = admin_log.check_reason(reason)

    async def _set(session: AsyncSession) -> ResellerView:
        row = (
            await session.execute(
                select(Reseller, LedgerAccount)
                .join(LedgerAccount, LedgerAccount.reseller_id == Reseller.id)
                .where(Reseller.telegram_id == telegram_id)
                .with_for_update(key_share=True)
            )
        ).one_or_none()
        if row is None:
            raise ResellerError(f"no reseller with Telegram id {telegram_id}")
        reseller, account = row
        if reseller.status == status:
            raise ActionError(
                "already_in_status", f"{reseller.name} is already {status}", status=status
            )
        before = reseller.status
        reseller.status = status
        await session.flush()
        suspended = status == ResellerStatus.SUSPENDED
        await admin_log.record(
            session,
            actor=actor,
            action="reseller_suspended" if suspended else "reseller_activated",
            now=now,
            reseller_id=reseller.id,
            reason=reason,
            before={"status": before},
            after={"status": status},
        )
        count = await session.scalar(
            select(func.count())
            .select_from(AdminAction)
            .where(AdminAction.reseller_id == reseller.id)
        )
        notice = Outgoing(
            key=f"reseller-status:{reseller.id}:{count}",
            chat_id=reseller.telegram_id,
            kind=Kind.RESELLER_SUSPENDED if suspended else Kind.RESELLER_ACTIVATED,
            payload={"reason": reason},
        )
        await enqueue(session, [notice], now)
        return _view(reseller, account)

    return await db.run(_set)
