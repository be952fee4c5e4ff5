"""Customers: activation and renewal with holds, listing, invite links, the customer's view.

A sale runs in three steps, each its own transaction so no write transaction is held
across the provider's network call:
1. hold the plan's price and record a pending order keyed by the confirmation nonce;
2. ask the provider to create or extend the subscription;
3. on success post the hold and save the customer; on failure (or timeout) void the hold.
A repeated nonce finds the order of the first tap and moves nothing.

An invite link links one chat. Revoking or replacing it unlinks that chat, withdraws the
reminders queued for it and tells it why (through the outbox, in the same transaction);
the customer may unlink their chat too. Reminders go only to linked chats.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from bot.db import Database
from bot.services import ledger
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue
from bot.services.panel_provider import PanelProvider, Panels
from bot.services.provisioning import (
    CreateSubscription,
    ExtendSubscription,
    OutcomeUnknown,
    Provider,
    Provisioned,
    ProvisioningError,
)
from bot.services.resellers import ResellerView, require_by_telegram_id
from models import (
    Customer,
    CustomerStatus,
    EntryKind,
    OrderKind,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    Plan,
    Reseller,
    ResellerStatus,
    SubscriptionOrder,
)

_USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{2,31}")
USERNAME_RULE = (
    "3 to 32 characters: letters, digits, '_', '.' or '-', starting with a letter or digit"
)
EXPIRING_WITHIN = dt.timedelta(days=7)
REQUEST_INTERVAL = dt.timedelta(hours=1)  # between two renewal requests of one customer
NOT_LINKED = "This chat is not linked to a subscription."
IN_DOUBT = (
    "The panel did not answer, so it is not known yet whether {username} was provisioned. "
    "The price is held, not charged; the bot checks with the panel and tells you the outcome."
)


class CustomerError(Exception):
    """A customer operation was refused. ``code`` and ``params`` (plain values) say why,
    for the views to word in the reader's language; the message is English, for logs and
    the CLI."""

    code = "refused"

    def __init__(self, message: str, code: str | None = None, **params: str | int) -> None:
        super().__init__(message)
        self.code = code or type(self).code
        self.params = params


class PlanUnavailable(CustomerError):
    code = "plan_unavailable"


class SaleFailed(CustomerError):
    """Provisioning failed; the held credit was released and nothing was charged."""

    code = "sale_failed"


class SaleInProgress(CustomerError):
    code = "sale_in_progress"


class AlreadySettled(Exception):
    """The order was settled by someone else (the sale or reconciliation) meanwhile."""


class SaleInDoubt(CustomerError):
    """The panel did not answer: the credit stays held (not charged) until reconciliation
    asks the panel and settles the order, and tells the reseller."""

    code = "sale_in_doubt"


class AlreadyRequested(CustomerError):
    """The customer asked for a renewal a moment ago; the reseller was told then."""

    code = "already_requested"


class UnlinkReason(StrEnum):
    REVOKED = "revoked"
    REPLACED = "replaced"


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
class SaleQuote:
    plan: PlanView
    price: int
    available_now: int
    available_after: int
    expires_at: dt.datetime
    missing: int  # credit lacking, 0 when affordable


@dataclass(frozen=True)
class SaleResult:
    order_id: int
    kind: OrderKind
    customer: CustomerView
    price: int
    balance: ledger.Balance
    replayed: bool


@dataclass(frozen=True)
class LinkChange:
    """An invite link revoked or replaced: the customer now, the new token, whether a
    linked chat was unlinked (and told)."""

    customer: CustomerView
    token: str | None
    unlinked_chat: bool


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


def new_expiry(current: dt.datetime | None, now: dt.datetime, days: int) -> dt.datetime:
    """The later of now and the current expiry, plus the plan's days."""
    start = max(now, current) if current is not None else now
    return start + dt.timedelta(days=days)


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


async def _active_reseller(session: AsyncSession, telegram_id: int) -> ResellerView:
    reseller = await require_by_telegram_id(session, telegram_id)
    if reseller.status != ResellerStatus.ACTIVE:
        raise CustomerError("Your reseller account is suspended, so sales are paused.", "suspended")
    return reseller


async def _active_plan(session: AsyncSession, plan_id: int) -> PlanView:
    plan = await session.get(Plan, plan_id, populate_existing=True)
    if plan is None or not plan.active:
        raise PlanUnavailable("That plan is no longer available. Pick another one.")
    return _plan(plan)


# --- preparing a sale ------------------------------------------------------------------


async def check_new_username(db: Database, telegram_id: int, text: str) -> str:
    username = check_username(text)
    async with db.transaction() as session:
        await _active_reseller(session, telegram_id)
        if await session.scalar(select(Customer.id).where(Customer.username == username)):
            raise CustomerError(
                f"The username {username} is taken. Choose another one.",
                "username_taken",
                username=username,
            )
    return username


async def active_plans(db: Database) -> list[PlanView]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(Plan).where(Plan.active.is_(True)).order_by(Plan.price, Plan.id)
        )
        return [_plan(p) for p in rows]


async def quote(
    db: Database,
    *,
    telegram_id: int,
    plan_id: int,
    now: dt.datetime,
    customer_id: int | None = None,
) -> SaleQuote:
    """What the confirmation screen shows: cost, credit now and after, the new expiry."""
    async with db.transaction() as session:
        reseller = await _active_reseller(session, telegram_id)
        plan = await _active_plan(session, plan_id)
        current = None
        if customer_id is not None:
            current = (await _own(session, reseller, customer_id)).expires_at
        balance = await ledger.balance(session, reseller.account_id)
    after = balance.available - plan.price
    return SaleQuote(
        plan=plan,
        price=plan.price,
        available_now=balance.available,
        available_after=after,
        expires_at=new_expiry(current, now, plan.days),
        missing=max(0, -(after + balance.credit_limit)),
    )


# --- selling ---------------------------------------------------------------------------


async def _replay(session: AsyncSession, key: str) -> SaleResult | None:
    order = await session.scalar(
        select(SubscriptionOrder)
        .where(SubscriptionOrder.idempotency_key == key)
        .execution_options(populate_existing=True)
    )
    if order is None:
        return None
    if order.status == OrderStatus.PENDING and order.error:
        raise SaleInDoubt(IN_DOUBT.format(username=order.username), username=order.username)
    if order.status == OrderStatus.PENDING:
        raise SaleInProgress("This sale is still being processed. Check again in a moment.")
    if order.status == OrderStatus.FAILED:
        raise SaleFailed(
            f"That sale did not go through ({order.error}); nothing was charged. "
            "Start again to retry.",
            "earlier_sale_failed",
        )
    assert order.customer_id is not None
    customer = await _load(session, order.customer_id)
    assert customer is not None
    account_id = await ledger.reseller_account_id(session, order.reseller_id)
    return SaleResult(
        order_id=order.id,
        kind=OrderKind(order.kind),
        customer=customer,
        price=order.price,
        balance=await ledger.balance(session, account_id),
        replayed=True,
    )


async def earlier_sale(db: Database, *, telegram_id: int, key: str) -> SaleResult | None:
    """What a confirmation nonce already did, if anything (None: never confirmed)."""
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        owner = await session.scalar(
            select(SubscriptionOrder.reseller_id).where(SubscriptionOrder.idempotency_key == key)
        )
        if owner is None or owner != reseller.id:
            return None
        return await _replay(session, key)


@dataclass(frozen=True)
class _Pending:
    order_id: int
    hold_id: int
    reseller_id: int
    plan: PlanView
    username: str
    customer: CustomerView | None
    # Panel orders: the panel, what to ask of it, and the expiry asked (the record's too).
    panel_id: int | None = None
    panel_expires_at: dt.datetime | None = None
    template: dict[str, Any] = field(default_factory=dict)
    data_limit_bytes: int | None = None
    reset_traffic: bool = False

    @property
    def reference(self) -> str:
        """What the panel keeps with the user, so a repeat or a check finds this order."""
        return f"order:{self.order_id}"


async def _open_order(
    db: Database,
    *,
    kind: OrderKind,
    telegram_id: int,
    plan_id: int,
    key: str,
    username: str | None,
    customer_id: int | None,
    now: dt.datetime,
) -> SaleResult | _Pending:
    async def _open(session: AsyncSession) -> SaleResult | _Pending:
        replay = await _replay(session, key)
        if replay is not None:
            return replay
        reseller = await _active_reseller(session, telegram_id)
        plan = await _active_plan(session, plan_id)
        customer = None
        name = username
        if customer_id is not None:
            customer = await _own(session, reseller, customer_id)
            name = customer.username
        assert name is not None
        if kind == OrderKind.ACTIVATION and await session.scalar(
            select(Customer.id).where(Customer.username == name)
        ):
            raise CustomerError(
                f"The username {name} is taken. Choose another one.",
                "username_taken",
                username=name,
            )
        if customer_id is not None and await session.scalar(
            select(SubscriptionOrder.id).where(
                SubscriptionOrder.customer_id == customer_id,
                SubscriptionOrder.status == OrderStatus.PENDING,
            )
        ):
            # Two renewals from one expiry would ask the panel for the same new expiry.
            raise SaleInProgress(
                f"A renewal of {name} is still being processed.",
                "renewal_in_progress",
                username=name,
            )
        row = await session.get(Plan, plan.id)
        assert row is not None
        target = new_expiry(customer.expires_at if customer else None, now, plan.days)
        hold = await ledger.place_hold(
            session,
            account_id=reseller.account_id,
            amount=plan.price,
            kind=EntryKind.ACTIVATION if kind == OrderKind.ACTIVATION else EntryKind.RENEWAL,
            actor=f"tg:{telegram_id}",
            key=f"order:{key}",
            comment=f"{kind.value.capitalize()} of {name}: {plan.name}"[: ledger.MAX_COMMENT],
        )
        order = SubscriptionOrder(
            idempotency_key=key,
            kind=kind,
            status=OrderStatus.PENDING,
            reseller_id=reseller.id,
            customer_id=customer_id,
            username=name,
            plan_id=plan.id,
            days=plan.days,
            price=plan.price,
            hold_id=hold.hold_id,
            panel_id=row.panel_id,
            panel_expires_at=target if row.panel_id is not None else None,
        )
        session.add(order)
        await session.flush()
        return _Pending(
            order.id, hold.hold_id, reseller.id, plan, name, customer,
            panel_id=row.panel_id,
            panel_expires_at=order.panel_expires_at,
            template=json.loads(row.template) if row.template else {},
            data_limit_bytes=row.data_limit_bytes,
            reset_traffic=row.reset_traffic_on_renewal,
        )  # fmt: skip

    return await db.run(_open)


async def _fail_order(
    session: AsyncSession,
    order_id: int,
    hold_id: int,
    reason: str,
    now: dt.datetime,
    notice: Outgoing | None = None,
) -> bool:
    """Pending -> failed, releasing the held credit; False if it had already moved on."""
    moved = await session.execute(
        update(SubscriptionOrder)
        .where(SubscriptionOrder.id == order_id, SubscriptionOrder.status == OrderStatus.PENDING)
        .values(status=OrderStatus.FAILED, error=reason[:255], completed_at=now)
    )
    if ledger.rowcount(moved) != 1:
        return False
    await ledger.void_hold(session, hold_id, now=now)
    if notice is not None:
        await enqueue(session, [notice], now)
    return True


async def _fail(db: Database, pending: _Pending, reason: str, now: dt.datetime) -> None:
    async with db.transaction() as session:
        await _fail_order(session, pending.order_id, pending.hold_id, reason, now)


async def abandon_stale_orders(db: Database, *, now: dt.datetime, older_than: dt.timedelta) -> int:
    """Release the credit of local sales stuck half-way (the process died meanwhile).

    Only long after the provider's own timeout, so a sale still under way is never hit.
    Panel orders are left to reconciliation, which asks the panel first.
    """
    async with db.transaction() as session:
        stale = (
            await session.execute(
                select(SubscriptionOrder.id, SubscriptionOrder.hold_id).where(
                    SubscriptionOrder.status == OrderStatus.PENDING,
                    SubscriptionOrder.created_at <= now - older_than,
                    # A panel may have acted: reconciliation asks it (bot.services.reconcile).
                    SubscriptionOrder.panel_id.is_(None),
                )
            )
        ).all()
    abandoned = 0
    for order_id, hold_id in stale:
        async with db.transaction() as session:
            reason = "abandoned: provisioning never answered"
            abandoned += await _fail_order(session, order_id, hold_id, reason, now)
    return abandoned


async def _complete(
    db: Database,
    pending: _Pending,
    provisioned: Provisioned,
    now: dt.datetime,
    notice: Callable[[CustomerView], Outgoing] | None = None,
) -> SaleResult:
    async with db.transaction() as session:
        return await _complete_in(session, pending, provisioned, now, notice)


async def _complete_in(
    session: AsyncSession,
    pending: _Pending,
    provisioned: Provisioned,
    now: dt.datetime,
    notice: Callable[[CustomerView], Outgoing] | None = None,
) -> SaleResult:
    """Pending -> completed: post the hold, save the customer (``AlreadySettled`` when the
    order had moved on, e.g. reconciliation and the sale settling it at once)."""
    moved = await session.execute(
        update(SubscriptionOrder)
        .where(
            SubscriptionOrder.id == pending.order_id,
            SubscriptionOrder.status == OrderStatus.PENDING,
        )
        .values(status=OrderStatus.COMPLETED, error=None, completed_at=now)
    )
    if ledger.rowcount(moved) != 1:
        raise AlreadySettled(pending.order_id)
    movement = await ledger.post_hold(session, pending.hold_id, now=now)
    details = json.dumps(provisioned.details) if provisioned.details else None
    if pending.customer is None:
        customer = Customer(
            reseller_id=pending.reseller_id,
            username=pending.username,
            plan_id=pending.plan.id,
            expires_at=pending.panel_expires_at or new_expiry(None, now, pending.plan.days),
            status=CustomerStatus.ACTIVE,
            external_id=provisioned.external_id,
            provider_details=details,
            link_token=secrets.token_urlsafe(16),
        )
        session.add(customer)
        await session.flush()
        customer_id = customer.id
        expires_at = customer.expires_at
    else:
        customer_id = pending.customer.id
        # Locked and read again: the expiry may have moved since the screen was shown.
        current = await session.scalar(
            select(Customer.expires_at).where(Customer.id == customer_id).with_for_update()
        )
        expires_at = pending.panel_expires_at or new_expiry(current, now, pending.plan.days)
        await session.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(
                expires_at=expires_at,
                plan_id=pending.plan.id,
                status=CustomerStatus.ACTIVE,
                external_id=provisioned.external_id,
                provider_details=details or Customer.provider_details,
            )
        )
    await session.execute(
        update(SubscriptionOrder)
        .where(SubscriptionOrder.id == pending.order_id)
        .values(customer_id=customer_id, expires_after=expires_at)
    )
    loaded = await _load(session, customer_id)
    assert loaded is not None
    if notice is not None:
        await enqueue(session, [notice(loaded)], now)
    account_id = await ledger.reseller_account_id(session, pending.reseller_id)
    return SaleResult(
        order_id=pending.order_id,
        kind=OrderKind.ACTIVATION if pending.customer is None else OrderKind.RENEWAL,
        customer=loaded,
        price=movement.amount,
        balance=await ledger.balance(session, account_id),
        replayed=False,
    )


async def _plan_panel(db: Database, plan_id: int) -> int | None:
    async with db.transaction() as session:
        return await session.scalar(select(Plan.panel_id).where(Plan.id == plan_id))


async def _mark_in_doubt(db: Database, pending: _Pending, reason: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(SubscriptionOrder)
            .where(
                SubscriptionOrder.id == pending.order_id,
                SubscriptionOrder.status == OrderStatus.PENDING,
            )
            .values(error=f"outcome unknown: {reason}"[:255])
        )


async def _ask_panel(provider: PanelProvider, pending: _Pending) -> Provisioned | None:
    """What the panel has for this order: the user it made or extended, or None."""
    assert pending.panel_expires_at is not None
    if pending.customer is None:
        return await provider.created(pending.username, pending.reference)
    external_id = pending.customer.external_id or pending.username
    return await provider.extended(external_id, pending.panel_expires_at)


async def _provision(provider: Provider, pending: _Pending, now: dt.datetime) -> Provisioned:
    if pending.customer is None:
        return await provider.create(
            CreateSubscription(
                pending.username,
                pending.plan.code,
                pending.panel_expires_at or new_expiry(None, now, pending.plan.days),
                reference=pending.reference,
                data_limit_bytes=pending.data_limit_bytes,
                template=pending.template,
            )
        )
    return await provider.extend(
        ExtendSubscription(
            pending.username,
            pending.customer.external_id,
            pending.plan.code,
            pending.panel_expires_at
            or new_expiry(pending.customer.expires_at, now, pending.plan.days),
            reset_traffic=pending.reset_traffic,
        )
    )


async def sell(
    db: Database,
    provider: Provider,
    *,
    telegram_id: int,
    plan_id: int,
    key: str,
    now: dt.datetime,
    provider_seconds: float,
    username: str | None = None,
    customer_id: int | None = None,
    panels: Panels | None = None,
) -> SaleResult:
    """Activate ``username`` or renew ``customer_id`` on a plan, once per ``key``.

    A plan on a panel provisions there (through ``panels``); any other on ``provider``.
    Raises InsufficientCredit (nothing held), PlanUnavailable, CustomerError, SaleFailed
    (refused, or the panel is down: the hold was voided or never placed, nothing charged)
    or SaleInDoubt (the panel did not answer: held until reconciliation settles it).
    """
    panel_id = await _plan_panel(db, plan_id)
    if panel_id is not None:
        if panels is None:
            raise SaleFailed(
                "This plan's panel is not set up here. Nothing was charged.", "panel_missing"
            )
        try:
            await panels.guard(panel_id)
        except ProvisioningError as exc:
            raise SaleFailed(
                f"Sorry, {exc}; nothing was charged. Try again later.", exc.code, **exc.params
            ) from exc
        provider = panels.provider(panel_id)
    kind = OrderKind.ACTIVATION if customer_id is None else OrderKind.RENEWAL
    opened = await _open_order(
        db,
        kind=kind,
        telegram_id=telegram_id,
        plan_id=plan_id,
        key=key,
        username=username,
        customer_id=customer_id,
        now=now,
    )
    if isinstance(opened, SaleResult):
        return opened
    if opened.panel_id is not None and opened.panel_id != panel_id:
        # The plan moved to another panel between the two reads: ask the order's panel.
        assert panels is not None
        provider = panels.provider(opened.panel_id)
    try:
        async with asyncio.timeout(provider_seconds):
            provisioned = await _provision(provider, opened, now)
    except ProvisioningError as exc:
        reason = str(exc) or "the provider refused"
        await _fail(db, opened, reason, now)
        raise SaleFailed(
            f"The subscription could not be provisioned ({reason}). Nothing was charged.",
            exc.code,
            **exc.params,
        ) from exc
    except (OutcomeUnknown, TimeoutError) as exc:
        if not isinstance(provider, PanelProvider):
            # The local provider acts in this process: nothing outside to ask.
            reason = "the provider did not answer in time"
            await _fail(db, opened, reason, now)
            raise SaleFailed(
                f"The subscription could not be provisioned ({reason}). Nothing was charged.",
                "provider_timeout",
            ) from exc
        return await _unknown_outcome(db, provider, opened, exc, now, provider_seconds)
    try:
        return await _complete(db, opened, provisioned, now)
    except IntegrityError as exc:
        # Another activation took the username in between: release the credit.
        await _fail(db, opened, "username taken", now)
        raise CustomerError(
            f"The username {opened.username} was just taken.",
            "username_taken",
            username=opened.username,
        ) from exc


async def _unknown_outcome(
    db: Database,
    provider: PanelProvider,
    pending: _Pending,
    exc: Exception,
    now: dt.datetime,
    seconds: float,
) -> SaleResult:
    """Never void blindly. When the panel itself answered (an error page), the request is
    over there, so asking it now tells the outcome; a request that timed out may still be
    in flight, so it waits for reconciliation, past the grace period."""
    reason = str(exc) if isinstance(exc, OutcomeUnknown) else "the panel did not answer in time"
    if isinstance(exc, OutcomeUnknown) and exc.answered:
        try:
            async with asyncio.timeout(seconds):
                found = await _ask_panel(provider, pending)
        except (OutcomeUnknown, ProvisioningError, TimeoutError):
            pass
        else:
            if found is not None:
                return await _complete(db, pending, found, now)
            await _fail(db, pending, reason, now)
            raise SaleFailed(
                f"Sorry, {reason}. Nothing was charged.", exc.code, **exc.params
            ) from exc
    await _mark_in_doubt(db, pending, reason)
    raise SaleInDoubt(
        IN_DOUBT.format(username=pending.username), username=pending.username
    ) from exc


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


async def invite_token(db: Database, telegram_id: int, customer_id: int) -> str:
    """The customer's invite token, minting one if it was revoked."""
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        customer = await _own(session, reseller, customer_id)
        if customer.link_token:
            return customer.link_token
        token = secrets.token_urlsafe(16)
        await session.execute(
            update(Customer).where(Customer.id == customer.id).values(link_token=token)
        )
        return token


async def _withdraw_reminders(session: AsyncSession, chat_id: int) -> None:
    """Reminders already queued for a chat that is no longer linked must not go out.

    Deleted rather than marked dropped, so that whichever chat links next gets them.
    A chat is linked to one customer at most, so its reminders are that customer's.
    """
    await session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.kind == Kind.EXPIRY_REMINDER,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    )


async def _change_link(
    db: Database, telegram_id: int, customer_id: int, *, now: dt.datetime, reason: UnlinkReason
) -> LinkChange:
    """Revoke or replace the invite link; a chat linked through the old one is unlinked."""
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        await _own(session, reseller, customer_id)
        # Locked: a link made with the old token at this moment either lands before this
        # (and is undone here) or finds the token gone.
        chat_id = await session.scalar(
            select(Customer.chat_id).where(Customer.id == customer_id).with_for_update()
        )
        token = secrets.token_urlsafe(16) if reason == UnlinkReason.REPLACED else None
        await session.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(link_token=token, chat_id=None, linked_at=None)
        )
        customer = await _load(session, customer_id)
        assert customer is not None
        if chat_id is not None:
            await _withdraw_reminders(session, chat_id)
            notice = Outgoing(
                key=f"unlinked:{customer_id}:{chat_id}:{now.isoformat()}",
                chat_id=chat_id,
                kind=Kind.CUSTOMER_UNLINKED,
                payload={"username": customer.username, "reason": reason.value},
            )
            await enqueue(session, [notice], now)
        return LinkChange(customer, token, unlinked_chat=chat_id is not None)


async def revoke_invite(
    db: Database, telegram_id: int, customer_id: int, *, now: dt.datetime
) -> LinkChange:
    """The link stops working and the chat linked through it is unlinked (and told)."""
    return await _change_link(db, telegram_id, customer_id, now=now, reason=UnlinkReason.REVOKED)


async def replace_invite(
    db: Database, telegram_id: int, customer_id: int, *, now: dt.datetime
) -> LinkChange:
    """A new link replaces the old one, which stops working; its chat is unlinked (and told)."""
    return await _change_link(db, telegram_id, customer_id, now=now, reason=UnlinkReason.REPLACED)


# --- the customer's side ----------------------------------------------------------------


async def invite_info(db: Database, token: str) -> CustomerView | None:
    """The customer an invite link belongs to, without linking anything (None: not valid)."""
    async with db.transaction() as session:
        customer_id = await session.scalar(select(Customer.id).where(Customer.link_token == token))
        return None if customer_id is None else await _load(session, customer_id)


async def link(db: Database, *, token: str, chat_id: int, now: dt.datetime) -> CustomerView:
    """Link a chat to the subscription behind ``token``: one chat per token."""

    async def _link(session: AsyncSession) -> CustomerView:
        customer = await session.scalar(
            select(Customer)
            .where(Customer.link_token == token)
            .execution_options(populate_existing=True)
        )
        if customer is None:
            raise CustomerError(
                "This invite link is not valid (it may have been revoked). "
                "Ask your reseller for a new one.",
                "invite_invalid",
            )
        if customer.chat_id is not None and customer.chat_id != chat_id:
            raise CustomerError(
                "This invite link was already used by someone else. "
                "Ask your reseller for a new one.",
                "invite_used",
            )
        if await session.scalar(
            select(Customer.id).where(Customer.chat_id == chat_id, Customer.id != customer.id)
        ):
            raise CustomerError(
                "This chat is already linked to another subscription. "
                "Send /unlink first to link it to this one.",
                "chat_linked_elsewhere",
            )
        if customer.chat_id is None:
            linked = await session.execute(
                update(Customer)
                .where(
                    Customer.id == customer.id,
                    Customer.chat_id.is_(None),
                    # Revoked or replaced in the meantime: the old token links nothing.
                    Customer.link_token == token,
                )
                .values(chat_id=chat_id, linked_at=now)
            )
            if ledger.rowcount(linked) != 1:
                raise CustomerError(
                    "This invite link is no longer valid. Ask your reseller for a new one.",
                    "invite_invalid",
                )
        found = await _load(session, customer.id)
        assert found is not None
        return found

    return await db.run(_link)


async def unlink_chat(db: Database, chat_id: int, *, now: dt.datetime) -> CustomerView:
    """The customer unlinks their chat: no more reminders here. The link still works."""
    async with db.transaction() as session:
        customer_id = await session.scalar(
            select(Customer.id).where(Customer.chat_id == chat_id).with_for_update()
        )
        if customer_id is None:
            raise CustomerError(NOT_LINKED, "not_linked")
        await session.execute(
            update(Customer).where(Customer.id == customer_id).values(chat_id=None, linked_at=None)
        )
        await _withdraw_reminders(session, chat_id)
        customer = await _load(session, customer_id)
        assert customer is not None
        return customer


async def status_of(db: Database, chat_id: int) -> CustomerStatusView | None:
    """The subscription linked to ``chat_id`` and its whole history, newest first."""
    async with db.transaction() as session:
        customer_id = await session.scalar(select(Customer.id).where(Customer.chat_id == chat_id))
        if customer_id is None:
            return None
        customer = await _load(session, customer_id)
        assert customer is not None
        rows = await session.execute(
            select(SubscriptionOrder, Plan.name)
            .join(Plan, Plan.id == SubscriptionOrder.plan_id)
            .where(
                SubscriptionOrder.customer_id == customer_id,
                SubscriptionOrder.status == OrderStatus.COMPLETED,
            )
            .order_by(SubscriptionOrder.id.desc())
        )
        history = [
            HistoryItem(
                kind=OrderKind(order.kind),
                plan_name=name,
                days=order.days,
                at=order.completed_at or order.created_at,
                expires_after=order.expires_after,
            )
            for order, name in rows
        ]
        return CustomerStatusView(customer, history)


async def renewal_request(
    db: Database, chat_id: int, *, now: dt.datetime, interval: dt.timedelta = REQUEST_INTERVAL
) -> CustomerView:
    """Queue the reseller's notice, with a one-tap Renew, once per ``interval`` at most."""
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(Customer.id, Reseller.telegram_id)
                .join(Reseller, Reseller.id == Customer.reseller_id)
                .where(Customer.chat_id == chat_id)
            )
        ).one_or_none()
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
