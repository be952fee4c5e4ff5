"""The customer portal's reads: the subscriptions linked to a chat, one of them with its
history, and whose it is.

A chat may be linked to several subscriptions (a family's). Every portal action names the
subscription by id, and the id is only ever taken together with the chat that asks: a
subscription linked to another chat looks exactly like a missing one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services.customers import (
    NOT_LINKED,
    CustomerError,
    CustomerView,
    HistoryItem,
    _load,
    history_of,
)
from models import Customer, CustomerPause, CustomerStatus, Reseller

YEAR = dt.timedelta(days=365)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Allowance:
    """Pausing as the reseller allows it: days a year, used in the last year, left."""

    max_days: int
    used_days: int

    @property
    def left(self) -> int:
        return max(0, self.max_days - self.used_days)


@dataclass(frozen=True)
class OpenPause:
    started_at: dt.datetime
    until: dt.datetime


@dataclass(frozen=True)
class Subscription:
    """One of the chat's subscriptions, as its portal screens show it."""

    customer: CustomerView
    reseller_name: str
    allowance: Allowance
    pause: OpenPause | None
    others: int  # the chat's other subscriptions

    @property
    def cancelled(self) -> bool:
        return self.customer.status == CustomerStatus.CANCELLED

    @property
    def paused(self) -> bool:
        return self.customer.status == CustomerStatus.PAUSED


@dataclass(frozen=True)
class Payments:
    customer: CustomerView
    history: list[HistoryItem]


def whole_days(span: dt.timedelta) -> int:
    """Days a span counts for, a started day whole: a pause of 2 days 1 hour uses 3."""
    return max(0, -(-span // DAY))


async def owned(
    session: AsyncSession, chat_id: int, customer_id: int, *, lock: bool = False
) -> CustomerView:
    """The subscription ``customer_id`` if it is linked to ``chat_id``; anything else is
    refused the same way, so a forged id tells nothing."""
    query = select(Customer.id).where(Customer.id == customer_id, Customer.chat_id == chat_id)
    if lock:
        query = query.with_for_update()
    found = await session.scalar(query)
    customer = None if found is None else await _load(session, found)
    if customer is None:
        raise CustomerError(NOT_LINKED, "not_linked")
    return customer


async def allowance_of(
    session: AsyncSession, customer: CustomerView, now: dt.datetime
) -> Allowance:
    """The reseller's allowance and what the pauses of the last 365 days used of it: an
    open pause counts for the days it was asked for, a resumed one for the days it ran."""
    max_days = await session.scalar(
        select(Reseller.max_pause_days).where(Reseller.id == customer.reseller_id)
    )
    rows = await session.execute(
        select(CustomerPause.started_at, CustomerPause.until, CustomerPause.resumed_at).where(
            CustomerPause.customer_id == customer.id, CustomerPause.started_at > now - YEAR
        )
    )
    used = sum(whole_days((resumed or until) - started) for started, until, resumed in rows)
    return Allowance(max_days or 0, used)


async def open_pause(session: AsyncSession, customer_id: int) -> CustomerPause | None:
    return await session.scalar(
        select(CustomerPause)
        .where(CustomerPause.customer_id == customer_id, CustomerPause.resumed_at.is_(None))
        .order_by(CustomerPause.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


async def linked_ids(session: AsyncSession, chat_id: int) -> list[int]:
    return list(
        await session.scalars(
            select(Customer.id).where(Customer.chat_id == chat_id).order_by(Customer.id)
        )
    )


async def subscriptions(db: Database, chat_id: int) -> list[CustomerView]:
    """Every subscription linked to the chat, oldest link first."""
    async with db.transaction() as session:
        found = [await _load(session, i) for i in await linked_ids(session, chat_id)]
    return [c for c in found if c is not None]


async def subscription(
    db: Database, chat_id: int, customer_id: int | None, *, now: dt.datetime
) -> Subscription | None:
    """One of the chat's subscriptions (``None``: its first); None if it has none. A
    ``customer_id`` not linked to the chat is refused (``not_linked``)."""
    async with db.transaction() as session:
        ids = await linked_ids(session, chat_id)
        if not ids:
            return None
        customer = await owned(session, chat_id, ids[0] if customer_id is None else customer_id)
        reseller_name = await session.scalar(
            select(Reseller.name).where(Reseller.id == customer.reseller_id)
        )
        pause = await open_pause(session, customer.id)
        return Subscription(
            customer=customer,
            reseller_name=reseller_name or "",
            allowance=await allowance_of(session, customer, now),
            pause=OpenPause(pause.started_at, pause.until) if pause else None,
            others=len(ids) - 1,
        )


async def payments(db: Database, chat_id: int, customer_id: int) -> Payments:
    """The subscription's activations and renewals, newest first (dates and plans: what
    the reseller paid for them is theirs, never shown here)."""
    async with db.transaction() as session:
        customer = await owned(session, chat_id, customer_id)
        return Payments(customer, await history_of(session, customer.id))
