"""The rows of each export, read a batch at a time by id (keyset pagination): one query,
one short transaction per batch, never the whole table at once.

Each ``*_batch`` function reads the rows with an id above ``after`` and at most ``top``
(the highest id when the export began, so rows written meanwhile do not stretch it), for
the resellers in ``ids`` (None: every reseller) and created in ``[start, end)`` (None: no
bound). It returns the rows and the last id it read, or None when there was none.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, aliased

from models import (
    AccountKind,
    Customer,
    LedgerAccount,
    PaymentMethod,
    Plan,
    Reseller,
    SubscriptionOrder,
    TopUpRequest,
    Transfer,
)

Bounds = tuple[dt.datetime | None, dt.datetime | None]


@dataclass(frozen=True)
class Movement:
    """One side of a ledger movement, as the reseller on that side sees it."""

    transfer_id: int
    created_at: dt.datetime
    reseller_telegram_id: int
    reseller_name: str
    kind: str
    tx_type: str
    amount: int  # signed: positive in, negative out
    other: str  # the other reseller's name, or the system account's code
    comment: str | None
    actor: str


@dataclass(frozen=True)
class CustomerRow:
    customer_id: int
    created_at: dt.datetime
    reseller_telegram_id: int
    reseller_name: str
    username: str
    plan: str
    status: str
    expires_at: dt.datetime
    linked: bool


@dataclass(frozen=True)
class TopUpRow:
    request_id: int
    created_at: dt.datetime
    reseller_telegram_id: int
    reseller_name: str
    credits: int
    unit_price: int
    total_price: int
    price_currency: str
    method: str
    status: str
    decided_at: dt.datetime | None
    decided_by: str | None
    reject_reason: str | None
    reference: str | None


@dataclass(frozen=True)
class SaleRow:
    order_id: int
    created_at: dt.datetime
    reseller_telegram_id: int
    reseller_name: str
    kind: str
    username: str
    plan: str
    days: int
    price: int
    status: str
    completed_at: dt.datetime | None


def _within(
    column: InstrumentedAttribute[dt.datetime], bounds: Bounds
) -> list[ColumnElement[bool]]:
    start, end = bounds
    found: list[ColumnElement[bool]] = []
    if start is not None:
        found.append(column >= start)
    if end is not None:
        found.append(column < end)
    return found


def _of(column: InstrumentedAttribute[int], ids: Collection[int] | None) -> ColumnElement[bool]:
    return true() if ids is None else column.in_(list(ids))


async def history_batch(
    session: AsyncSession,
    ids: Collection[int] | None,
    bounds: Bounds,
    after: int,
    top: int,
    limit: int,
) -> tuple[list[Movement], int | None]:
    """Movements of the resellers in ``ids``: a movement between two of them is two rows."""
    fa, ta = aliased(LedgerAccount), aliased(LedgerAccount)
    fr, tr = aliased(Reseller), aliased(Reseller)
    if ids is None:
        sides = or_(fa.kind == AccountKind.RESELLER, ta.kind == AccountKind.RESELLER)
    else:
        sides = or_(fa.reseller_id.in_(list(ids)), ta.reseller_id.in_(list(ids)))
    query = (
        select(Transfer, fa.code, fr.id, fr.telegram_id, fr.name)
        .add_columns(ta.code, tr.id, tr.telegram_id, tr.name)
        .join(fa, fa.id == Transfer.from_account_id)
        .join(ta, ta.id == Transfer.to_account_id)
        .outerjoin(fr, fr.id == fa.reseller_id)
        .outerjoin(tr, tr.id == ta.reseller_id)
        .where(sides, Transfer.id > after, Transfer.id <= top)
        .where(*_within(Transfer.created_at, bounds))
        .order_by(Transfer.id)
        .limit(limit)
    )  # fmt: skip
    rows = (await session.execute(query)).all()
    found: list[Movement] = []
    for move, f_code, f_id, f_tg, f_name, t_code, t_id, t_tg, t_name in rows:

        def side(tg: int, name: str, amount: int, other: str, move: Transfer = move) -> Movement:
            return Movement(
                move.id, move.created_at, tg, name, move.kind, move.tx_type, amount, other,
                move.comment, move.actor,
            )  # fmt: skip

        if f_id is not None and (ids is None or f_id in ids):
            found.append(side(f_tg, f_name, -move.amount, t_name or t_code or ""))
        if t_id is not None and (ids is None or t_id in ids):
            found.append(side(t_tg, t_name, move.amount, f_name or f_code or ""))
    return found, (rows[-1][0].id if rows else None)


async def customers_batch(
    session: AsyncSession,
    ids: Collection[int] | None,
    bounds: Bounds,
    after: int,
    top: int,
    limit: int,
) -> tuple[list[CustomerRow], int | None]:
    query = (
        select(Customer, Reseller.telegram_id, Reseller.name, Plan.name)
        .join(Reseller, Reseller.id == Customer.reseller_id)
        .join(Plan, Plan.id == Customer.plan_id)
        .where(
            _of(Customer.reseller_id, ids),
            and_(Customer.id > after, Customer.id <= top),
            *_within(Customer.created_at, bounds),
        )
        .order_by(Customer.id)
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    found = [
        CustomerRow(
            c.id,
            c.created_at,
            tg,
            name,
            c.username,
            plan,
            c.status,
            c.expires_at,
            c.chat_id is not None,
        )
        for c, tg, name, plan in rows
    ]
    return found, (rows[-1][0].id if rows else None)


async def topups_batch(
    session: AsyncSession,
    ids: Collection[int] | None,
    bounds: Bounds,
    after: int,
    top: int,
    limit: int,
) -> tuple[list[TopUpRow], int | None]:
    query = (
        select(TopUpRequest, Reseller.telegram_id, Reseller.name, PaymentMethod.name)
        .join(Reseller, Reseller.id == TopUpRequest.reseller_id)
        .join(PaymentMethod, PaymentMethod.id == TopUpRequest.method_id)
        .where(
            _of(TopUpRequest.reseller_id, ids),
            and_(TopUpRequest.id > after, TopUpRequest.id <= top),
            *_within(TopUpRequest.created_at, bounds),
        )
        .order_by(TopUpRequest.id)
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    found = [
        TopUpRow(
            q.id,
            q.created_at,
            tg,
            name,
            q.credits,
            q.unit_price,
            q.total_price,
            q.price_currency,
            method,
            q.status,
            q.decided_at,
            q.decided_by_name,
            q.reject_reason,
            q.proof_reference,
        )
        for q, tg, name, method in rows
    ]
    return found, (rows[-1][0].id if rows else None)


async def sales_batch(
    session: AsyncSession,
    ids: Collection[int] | None,
    bounds: Bounds,
    after: int,
    top: int,
    limit: int,
) -> tuple[list[SaleRow], int | None]:
    query = (
        select(SubscriptionOrder, Reseller.telegram_id, Reseller.name, Plan.name)
        .join(Reseller, Reseller.id == SubscriptionOrder.reseller_id)
        .join(Plan, Plan.id == SubscriptionOrder.plan_id)
        .where(
            _of(SubscriptionOrder.reseller_id, ids),
            and_(SubscriptionOrder.id > after, SubscriptionOrder.id <= top),
            *_within(SubscriptionOrder.created_at, bounds),
        )
        .order_by(SubscriptionOrder.id)
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    found = [
        SaleRow(
            o.id,
            o.created_at,
            tg,
            name,
            o.kind,
            o.username,
            plan,
            o.days,
            o.price,
            o.status,
            o.completed_at,
        )
        for o, tg, name, plan in rows
    ]
    return found, (rows[-1][0].id if rows else None)
