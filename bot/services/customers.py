"""Customers: the views of a customer, the reseller's listing and card, the customer's side.

The reseller lists their own customers (filtered, searched, a page at a time) and opens
one's card; someone else's customer looks exactly like a missing one. A linked chat
sees its subscription and history and may ask the reseller for a renewal.

Selling (activation and renewal) is in ``bot.services.sales``; invite links and the
linking of chats in ``bot.services.customer_links``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from bot.db import Database
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue
from bot.services.resellers import ResellerView, require_by_telegram_id
from models import (
    Customer,
    CustomerStatus,
    OrderKind,
    OrderStatus,
    OutboxMessage,
    Plan,
    Reseller,
    SubscriptionOrder,
)

_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,31}")
USERNAME_RULE = (
    "3 to 32 characters: letters, digits, '_', '.' or '-', starting with a letter or digit"
)
EXPIRING_WITHIN = dt.timedelta(days=7)
REQUEST_INTERVAL = dt.timedelta(hours=1)  # between two renewal requests of one customer
NOT_LINKED = "This chat is not linked to a subscription."


class CustomerError(Exception):
    """A customer operation was refused. ``code`` and ``params`` (plain values) say why,
    for the views to word in the reader's language; the message is English, for logs and
    the CLI."""

    code = "refused"

    def __init__(self, message: str, code: str | None = None, **params: str | int) -> None:
        super().__init__(message)
        self.code = code or type(self).code
        self.params = params


class AlreadyRequested(CustomerError):
    """The customer asked for a renewal a moment ago; the reseller was told then."""

    code = "already_requested"


class Filter(StrEnum):
    ALL = "all"
    ACTIVE = "active"
    EXPIRING = "expiring"
    EXPIRED = "expired"


@dataclass(frozen=True)
class PlanView:
    id: int
    code: str
    name: str
    days: int
    price: int


@dataclass(frozen=True)
class CustomerView:
    id: int
    reseller_id: int
    username: str
    plan: PlanView
    expires_at: dt.datetime
    status: CustomerStatus
    external_id: str | None
    details: dict[str, str]
    link_token: str | None
    linked: bool
    linked_at: dt.datetime | None

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires_at <= now

    def days_left(self, now: dt.datetime) -> int:
        """Whole days left, counting a started day: 29 days and 2 hours is 30."""
        return max(0, -(-(self.expires_at - now) // dt.timedelta(days=1)))


@dataclass(frozen=True)
class CustomerPage:
    customers: list[CustomerView]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class HistoryItem:
    kind: OrderKind
    plan_name: str
    days: int
    at: dt.datetime
    expires_after: dt.datetime | None


@dataclass(frozen=True)
class CustomerStatusView:
    customer: CustomerView
    history: list[HistoryItem]


def check_username(text: str) -> str:
    username = text.strip().lower()
    if not _USERNAME.fullmatch(username):
        raise CustomerError(f"A customer username is {USERNAME_RULE}.", "username_invalid")
    return username


def _plan(plan: Plan) -> PlanView:
    return PlanView(plan.id, plan.code, plan.name, plan.days, plan.price)


def _view(customer: Customer, plan: Plan) -> CustomerView:
    return CustomerView(
        id=customer.id,
        reseller_id=customer.reseller_id,
        username=customer.username,
        plan=_plan(plan),
        expires_at=customer.expires_at,
        status=CustomerStatus(customer.status),
        external_id=customer.external_id,
        details=json.loads(customer.provider_details) if customer.provider_details else {},
        link_token=customer.link_token,
        linked=customer.chat_id is not None,
        linked_at=customer.linked_at if customer.chat_id is not None else None,
    )


async def _load(session: AsyncSession, customer_id: int) -> CustomerView | None:
    row = (
        await session.execute(
            select(Customer, Plan)
            .join(Plan, Plan.id == Customer.plan_id)
            .where(Customer.id == customer_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    return None if row is None else _view(*row)


async def _own(session: AsyncSession, reseller: ResellerView, customer_id: int) -> CustomerView:
    """The reseller's own customer; anyone else's looks exactly like a missing one."""
    found = await _load(session, customer_id)
    if found is None or found.reseller_id != reseller.id:
        raise CustomerError("You have no such customer.", "no_such_customer")
    return found


# --- reading ---------------------------------------------------------------------------


def _filtered(
    reseller_id: int, flt: Filter, search: str | None, now: dt.datetime
) -> ColumnElement[bool]:
    conditions = [Customer.reseller_id == reseller_id]
    if flt == Filter.ACTIVE:
        conditions.append(Customer.expires_at > now)
    elif flt == Filter.EXPIRING:
        conditions.append(
            and_(Customer.expires_at > now, Customer.expires_at <= now + EXPIRING_WITHIN)
        )
    elif flt == Filter.EXPIRED:
        conditions.append(Customer.expires_at <= now)
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(Customer.username.like(f"%{escaped}%", escape="\\"))
    return and_(*conditions)


async def list_customers(
    db: Database,
    telegram_id: int,
    *,
    now: dt.datetime,
    flt: Filter = Filter.ALL,
    search: str | None = None,
    page: int = 0,
    page_size: int = 8,
) -> CustomerPage:
    """The reseller's own customers, soonest expiry first."""
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        where = _filtered(reseller.id, flt, search, now)
        total = await session.scalar(select(func.count()).select_from(Customer).where(where)) or 0
        pages = max(1, -(-total // page_size))
        page = min(max(page, 0), pages - 1)
        rows = await session.execute(
            select(Customer, Plan)
            .join(Plan, Plan.id == Customer.plan_id)
            .where(where)
            .order_by(Customer.expires_at, Customer.id)
            .offset(page * page_size)
            .limit(page_size)
        )
        return CustomerPage([_view(*r) for r in rows], page, pages, total)


async def customer_card(db: Database, telegram_id: int, customer_id: int) -> CustomerView:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return await _own(session, reseller, customer_id)


# --- the customer's side ----------------------------------------------------------------


async def status_of(
    db: Database, chat_id: int, customer_id: int | None = None
) -> CustomerStatusView | None:
    """The subscription linked to ``chat_id`` (``customer_id``: that one of the chat's; None:
    its first) and its whole history, newest first."""
    async with db.transaction() as session:
        query = select(Customer.id).where(Customer.chat_id == chat_id)
        if customer_id is not None:
            query = query.where(Customer.id == customer_id)
        customer_id = await session.scalar(query.order_by(Customer.id).limit(1))
        if customer_id is None:
            return None
        customer = await _load(session, customer_id)
        assert customer is not None
        return CustomerStatusView(customer, await history_of(session, customer_id))


async def history_of(session: AsyncSession, customer_id: int) -> list[HistoryItem]:
    """The customer's completed activations and renewals, newest first."""
    rows = await session.execute(
        select(SubscriptionOrder, Plan.name)
        .join(Plan, Plan.id == SubscriptionOrder.plan_id)
        .where(
            SubscriptionOrder.customer_id == customer_id,
            SubscriptionOrder.status == OrderStatus.COMPLETED,
        )
        .order_by(SubscriptionOrder.id.desc())
    )
    return [
        HistoryItem(
            kind=OrderKind(order.kind),
            plan_name=name,
            days=order.days,
            at=order.completed_at or order.created_at,
            expires_after=order.expires_after,
        )
        for order, name in rows
    ]


async def renewal_request(
    db: Database,
    chat_id: int,
    *,
    now: dt.datetime,
    interval: dt.timedelta = REQUEST_INTERVAL,
    customer_id: int | None = None,
) -> CustomerView:
    """Queue the reseller's notice, with a one-tap Renew, once per ``interval`` at most.

    ``customer_id``: which of the chat's subscriptions (None: its first)."""
    async with db.transaction() as session:
        query = (
            select(Customer.id, Reseller.telegram_id)
            .join(Reseller, Reseller.id == Customer.reseller_id)
            .where(Customer.chat_id == chat_id)
            .order_by(Customer.id)
            .limit(1)
        )
        if customer_id is not None:
            query = query.where(Customer.id == customer_id)
        row = (await session.execute(query)).one_or_none()
        if row is None:
            raise CustomerError(NOT_LINKED, "not_linked")
        prefix = f"renewal-request:{row.id}:"
        recent = await session.scalar(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.kind == Kind.RENEWAL_REQUEST,
                OutboxMessage.key.startswith(prefix, autoescape=True),
                OutboxMessage.created_at > now - interval,
            )
            .limit(1)
        )
        if recent is not None:
            raise AlreadyRequested("Your reseller was already asked. Please wait for them.")
        customer = await _load(session, row.id)
        assert customer is not None
        notice = Outgoing(
            key=f"{prefix}{now.isoformat()}",
            chat_id=row.telegram_id,
            kind=Kind.RENEWAL_REQUEST,
            payload={
                "customer_id": customer.id,
                "username": customer.username,
                "plan_id": customer.plan.id,
                "plan": customer.plan.name,
                "days": customer.plan.days,
                "price": customer.plan.price,
                "expires_at": customer.expires_at.isoformat(),
            },
        )
        if not await enqueue(session, [notice], now):
            # The reseller blocked the bot: nothing can be queued for them.
            raise CustomerError(
                "Your reseller could not be reached. Please contact them directly.",
                "reseller_unreachable",
            )
        return customer
