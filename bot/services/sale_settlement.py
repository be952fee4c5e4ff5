"""A sale's order and its outcome, for the sale itself and for reconciliation: what the
order of a key came to (a repeated tap), and settling a pending one: complete it (post
the hold, pay the parents' margins, save the customer) or fail it (void the hold), each
once whoever gets there first; and the orders left half-way."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import downline, ledger, ledger_holds, price_lists
from bot.services.customers import CustomerView, PlanView, _load, _plan
from bot.services.outbox import Outgoing, enqueue
from bot.services.panel_provider import PanelProvider
from bot.services.provisioning import Provisioned
from bot.services.resellers import require_by_telegram_id
from bot.services.sale_errors import IN_DOUBT, SaleFailed, SaleInDoubt, SaleInProgress
from bot.services.sale_quotes import new_expiry
from models import (
    Customer,
    CustomerStatus,
    EntryKind,
    OrderKind,
    OrderStatus,
    Plan,
    SubscriptionOrder,
    SystemAccount,
    TxType,
)


@dataclass(frozen=True)
class SaleResult:
    order_id: int
    kind: OrderKind
    customer: CustomerView
    price: int
    balance: ledger.Balance
    replayed: bool


class AlreadySettled(Exception):
    """The order was settled by someone else (the sale or reconciliation) meanwhile."""


async def replay_order(session: AsyncSession, key: str) -> SaleResult | None:
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
        return await replay_order(session, key)


@dataclass(frozen=True)
class PendingOrder:
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


async def fail_order(
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
    await ledger_holds.void_hold(session, hold_id, now=now)
    if notice is not None:
        await enqueue(session, [notice], now)
    return True


async def fail(db: Database, pending: PendingOrder, reason: str, now: dt.datetime) -> None:
    async with db.transaction() as session:
        await fail_order(session, pending.order_id, pending.hold_id, reason, now)


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
            abandoned += await fail_order(session, order_id, hold_id, reason, now)
    return abandoned


async def complete(
    db: Database,
    pending: PendingOrder,
    provisioned: Provisioned,
    now: dt.datetime,
    notice: Callable[[CustomerView], Outgoing] | None = None,
) -> SaleResult:
    async with db.transaction() as session:
        return await _complete_in(session, pending, provisioned, now, notice)


async def _pay_margins(session: AsyncSession, pending: PendingOrder, charged: int) -> None:
    """A sub-reseller's sale: each parent up the tree earns, from what the sale paid in,
    its child's price less its own (so a parent's prices above its cost are its margin)."""
    base = await session.get(Plan, pending.plan.id)
    if base is None:
        return
    earned = await price_lists.margins(session, pending.reseller_id, _plan(base), charged)
    if not earned:
        return
    sales = await ledger.system_account_id(session, SystemAccount.SALES)
    for reseller_id, amount in earned:
        await ledger.move(
            session,
            src=sales,
            dst=await ledger.reseller_account_id(session, reseller_id),
            amount=amount,
            kind=EntryKind.MARGIN,
            tx_type=TxType.PURCHASE,
            actor="system",
            key=f"margin:{pending.order_id}:{reseller_id}",
            related=f"order:{pending.order_id}",
        )


async def _complete_in(
    session: AsyncSession,
    pending: PendingOrder,
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
    above = await downline.ancestors(session, pending.reseller_id)
    if above:
        # The margins credit the parents after the seller is charged: lock every account
        # first, in id order, as a parent's allocation or transfer to it would.
        accounts = [await ledger.reseller_account_id(session, r) for r in above]
        sales = await ledger.system_account_id(session, SystemAccount.SALES)
        seller = await ledger.reseller_account_id(session, pending.reseller_id)
        await ledger.lock_accounts(session, sales, seller, *accounts)
    movement = await ledger_holds.post_hold(session, pending.hold_id, now=now)
    if above:
        await _pay_margins(session, pending, movement.amount)
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


async def mark_in_doubt(db: Database, pending: PendingOrder, reason: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(SubscriptionOrder)
            .where(
                SubscriptionOrder.id == pending.order_id,
                SubscriptionOrder.status == OrderStatus.PENDING,
            )
            .values(error=f"outcome unknown: {reason}"[:255])
        )


async def ask_panel(provider: PanelProvider, pending: PendingOrder) -> Provisioned | None:
    """What the panel has for this order: the user it made or extended, or None."""
    assert pending.panel_expires_at is not None
    if pending.customer is None:
        return await provider.created(pending.username, pending.reference)
    external_id = pending.customer.external_id or pending.username
    return await provider.extended(external_id, pending.panel_expires_at)
