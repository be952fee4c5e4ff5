"""What a parent sees of its subtree, read-only: its sub-resellers with their balances, a
sub-reseller's card, its customers and sales, and the other side of a movement between two
resellers in a history. Every call naming a sub-reseller checks it is in the asker's
subtree (``downline.require_child``), so nobody sees outside their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import func, select

from bot.db import Database
from bot.services import ledger, reseller_search
from bot.services.downline import require_child, require_reseller, subtree_ids
from bot.services.reseller_search import ResellerCard
from bot.services.resellers import ResellerView
from models import (
    Billing,
    Customer,
    LedgerAccount,
    OrderStatus,
    Plan,
    Reseller,
    ResellerStatus,
    SubscriptionOrder,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Child:
    """A sub-reseller in its parent's list."""

    reseller: ResellerView
    balance: ledger.Balance
    downline_depth: int

    @property
    def telegram_id(self) -> int:
        return self.reseller.telegram_id


@dataclass(frozen=True)
class ChildCard:
    card: ResellerCard
    parent_id: int | None
    direct: bool  # a child of the viewer (credits can move), not a grandchild


@dataclass(frozen=True)
class CustomerLine:
    username: str
    plan: str
    status: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class SaleLine:
    created_at: dt.datetime
    kind: str
    username: str
    plan: str
    price: int
    seller: str  # the sub-reseller who sold it


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    total: int


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
    )


# --- what a parent sees -----------------------------------------------------------------------


async def children(db: Database, parent_telegram_id: int) -> list[Child]:
    """The parent's own sub-resellers, by name, with their balances."""
    async with db.transaction() as session:
        parent = await require_reseller(session, parent_telegram_id)
        rows = (
            await session.execute(
                select(Reseller, LedgerAccount)
                .join(LedgerAccount, LedgerAccount.reseller_id == Reseller.id)
                .where(Reseller.parent_id == parent.id)
                .order_by(Reseller.name, Reseller.id)
            )
        ).all()
        return [
            Child(
                _view(reseller, account),
                ledger.Balance(account.balance, account.held, account.credit_limit or 0),
                reseller.downline_depth,
            )
            for reseller, account in rows
        ]


async def subtree(db: Database, parent_telegram_id: int) -> list[ResellerView]:
    """Everyone below the parent, at any depth."""
    async with db.transaction() as session:
        parent = await require_reseller(session, parent_telegram_id)
        ids = await subtree_ids(session, parent.id)
        rows = await session.execute(
            select(Reseller, LedgerAccount)
            .join(LedgerAccount, LedgerAccount.reseller_id == Reseller.id)
            .where(Reseller.id.in_(ids))
            .order_by(Reseller.id)
        )
        return [_view(reseller, account) for reseller, account in rows.all()]


async def child_card(
    db: Database,
    parent_telegram_id: int,
    child_telegram_id: int,
    *,
    now: dt.datetime,
    zone: dt.tzinfo,
) -> ChildCard:
    """A sub-reseller's card (balance, held, available, status, customers, this month's
    sales, last activity), for a parent whose subtree it is in."""
    async with db.transaction() as session:
        parent, child = await require_child(
            session, parent_telegram_id, child_telegram_id, direct=False
        )
        parent_id = await session.scalar(select(Reseller.parent_id).where(Reseller.id == child.id))
    card = await reseller_search.card(db, child_telegram_id, now=now, zone=zone)
    return ChildCard(card=card, parent_id=parent_id, direct=parent_id == parent.id)


def _paged(items: list[T], total: int, page: int, size: int) -> Page[T]:
    return Page(items, page, max(1, -(-total // size)), total)


def _clamp(page: int, total: int, size: int) -> int:
    return min(max(page, 0), max(0, -(-total // size) - 1))


async def customers(
    db: Database, parent_telegram_id: int, child_telegram_id: int, *, page: int, size: int = 10
) -> Page[CustomerLine]:
    """A sub-reseller's customers, soonest expiry first (read-only)."""
    async with db.transaction() as session:
        _, child = await require_child(session, parent_telegram_id, child_telegram_id, direct=False)
        where = Customer.reseller_id == child.id
        total = await session.scalar(select(func.count()).select_from(Customer).where(where)) or 0
        page = _clamp(page, total, size)
        rows = await session.execute(
            select(Customer.username, Plan.name, Customer.status, Customer.expires_at)
            .join(Plan, Plan.id == Customer.plan_id)
            .where(where)
            .order_by(Customer.expires_at, Customer.id)
            .offset(page * size)
            .limit(size)
        )
        items = [CustomerLine(u, p, s, e) for u, p, s, e in rows]
        return _paged(items, total, page, size)


async def sales(
    db: Database,
    parent_telegram_id: int,
    child_telegram_id: int | None,
    *,
    page: int,
    size: int = 10,
) -> Page[SaleLine]:
    """Completed sales, newest first, of one sub-reseller or (``None``) of the whole
    subtree (read-only)."""
    async with db.transaction() as session:
        if child_telegram_id is None:
            parent = await require_reseller(session, parent_telegram_id)
            ids = await subtree_ids(session, parent.id)
        else:
            _, child = await require_child(
                session, parent_telegram_id, child_telegram_id, direct=False
            )
            ids = {child.id}
        where = (
            SubscriptionOrder.reseller_id.in_(ids),
            SubscriptionOrder.status == OrderStatus.COMPLETED,
        )
        total = (
            await session.scalar(select(func.count()).select_from(SubscriptionOrder).where(*where))
            or 0
        )
        page = _clamp(page, total, size)
        rows = await session.execute(
            select(
                SubscriptionOrder.created_at,
                SubscriptionOrder.kind,
                SubscriptionOrder.username,
                Plan.name,
                SubscriptionOrder.price,
                Reseller.name,
            )
            .join(Plan, Plan.id == SubscriptionOrder.plan_id)
            .join(Reseller, Reseller.id == SubscriptionOrder.reseller_id)
            .where(*where)
            .order_by(SubscriptionOrder.id.desc())
            .offset(page * size)
            .limit(size)
        )
        items = [SaleLine(c, k, u, p, price, s) for c, k, u, p, price, s in rows]
        return _paged(items, total, page, size)
