"""The customer portal's reads: the subscriptions linked to a chat, one of them with its
history, and whose it is.

A chat may be linked to several subscriptions (a family's). Every portal action names the
subscription by id, and the id is only ever taken together with the chat that asks: a
subscription linked to another chat looks exactly like a missing one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services.customers import NOT_LINKED, CustomerError, CustomerView, _load
from models import (
    Customer,
    CustomerPause,
    CustomerStatus,
    OrderStatus,
    Plan,
    Reseller,
    SelfPayPrice,
    StarPayment,
    StarPurpose,
    StarState,
    SubscriptionOrder,
)

YEAR = dt.timedelta(days=365)
# The keys of the orders a change of package makes: the reseller's Approve (a request's)
# and a customer's payment in Stars (a payment's, as a paid renewal's).
CHANGE_ORDER_KEY = "plan-change:"
ORDER_KEY = "stars-renewal:"
PAID_BY_CUSTOMER = (StarPurpose.RENEWAL, StarPurpose.PLAN_CHANGE)  # Stars a customer pays
_TAKEN = (StarState.PAID, StarState.REFUND_PENDING, StarState.REFUNDED)
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


class Entry(StrEnum):
    ACTIVATION = "activation"
    RENEWAL = "renewal"
    CHANGE = "change"  # a change of package (approved by the reseller, or paid in Stars)
    REFUNDED = "refunded"  # Stars paid for what could not be done, given back


@dataclass(frozen=True)
class PaymentItem:
    """One line of the customer's payments: what was done, and the customer's own amount
    (the Stars they paid, or the reseller's Stars price list for it); never what it cost
    the reseller."""

    entry: Entry
    plan_name: str
    days: int
    at: dt.datetime
    expires_after: dt.datetime | None
    paid_stars: int | None = None  # the customer paid it in Stars
    list_stars: int | None = None  # the reseller did it: their Stars price for the plan
    refund_pending: bool = False


@dataclass(frozen=True)
class Payments:
    customer: CustomerView
    history: list[PaymentItem]


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
    """The subscription's activations, renewals, changes and refunded payments, newest
    first, each with the customer's own amount where there is one."""
    async with db.transaction() as session:
        customer = await owned(session, chat_id, customer_id)
        return Payments(customer, await _payment_items(session, customer))


async def _payment_items(session: AsyncSession, customer: CustomerView) -> list[PaymentItem]:
    paid = {
        f"{ORDER_KEY}{p.id}": p
        for p in await session.scalars(
            select(StarPayment).where(
                StarPayment.customer_id == customer.id,
                StarPayment.purpose.in_(PAID_BY_CUSTOMER),
                StarPayment.state.in_(_TAKEN),
            )
        )
    }
    enabled = await session.scalar(
        select(Reseller.self_pay_enabled).where(Reseller.id == customer.reseller_id)
    )
    price_list: dict[int, int] = {}
    if enabled:
        rows = await session.execute(
            select(SelfPayPrice.plan_id, SelfPayPrice.stars).where(
                SelfPayPrice.reseller_id == customer.reseller_id
            )
        )
        price_list = {plan_id: stars for plan_id, stars in rows}
    orders = await session.execute(
        select(SubscriptionOrder, Plan.name)
        .join(Plan, Plan.id == SubscriptionOrder.plan_id)
        .where(
            SubscriptionOrder.customer_id == customer.id,
            SubscriptionOrder.status == OrderStatus.COMPLETED,
        )
        .order_by(SubscriptionOrder.id.desc())  # the newest first where the times are equal
    )
    items = []
    for order, name in orders:
        payment = paid.pop(order.idempotency_key, None)
        change = order.idempotency_key.startswith(CHANGE_ORDER_KEY) or (
            payment is not None and payment.purpose == StarPurpose.PLAN_CHANGE
        )
        entry = Entry.CHANGE if change else Entry(order.kind)
        item = PaymentItem(
            entry, name, order.days, order.completed_at or order.created_at,
            order.expires_after,
            paid_stars=payment.stars if payment else None,
            list_stars=None if payment else price_list.get(order.plan_id),
        )  # fmt: skip
        items.append(item)
    # Paid, but not done (or not yet): the Stars back, or on their way back.
    for payment in paid.values():
        if payment.state == StarState.PAID or payment.plan_id is None:
            continue  # being done now: its line comes with the order
        plan = await session.get(Plan, payment.plan_id)
        assert plan is not None
        item = PaymentItem(
            Entry.REFUNDED, plan.name, plan.days, payment.paid_at or payment.created_at,
            None, paid_stars=payment.stars,
            refund_pending=payment.state == StarState.REFUND_PENDING,
        )  # fmt: skip
        items.append(item)
    return sorted(items, key=lambda i: i.at, reverse=True)  # stable: equal times keep order
