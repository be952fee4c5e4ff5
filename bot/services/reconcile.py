"""Reconciliation: settle the panel orders left in flight by a crash or a silent panel.

An order stays pending when the process died between the hold and the end of the sale,
or when the panel did not answer. Past a grace period (so that a request still in
flight has landed or died), this asks the order's panel what it has:

- the user this order created (its reference in the panel's note), or the renewed
  user at the expiry the order asked for: post the hold, save the customer;
- nothing of this order's: void the hold;
- no answer: leave it for the next run.

Either way the reseller is told through the outbox, in the settling transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.db import Database
from bot.services.alerts import Kind
from bot.services.customers import CustomerView, _load, _plan
from bot.services.outbox import Outgoing
from bot.services.panel_provider import Panels
from bot.services.panels import PanelConfigError
from bot.services.provisioning import SUBSCRIPTION_URL, OutcomeUnknown, ProvisioningError
from bot.services.sale_settlement import (
    AlreadySettled,
    PendingOrder,
    ask_panel,
    complete,
    fail_order,
)
from models import OrderKind, OrderStatus, Panel, Plan, Reseller, SubscriptionOrder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconciled:
    completed: int = 0
    voided: int = 0
    unknown: int = 0  # the panel did not answer: tried again next time


@dataclass(frozen=True)
class _Stale:
    pending: PendingOrder
    kind: OrderKind
    price: int
    chat_id: int
    panel: str


async def _stale(db: Database, now: dt.datetime, older_than: dt.timedelta) -> list[_Stale]:
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(SubscriptionOrder, Plan, Reseller.telegram_id, Panel.name)
                .join(Plan, Plan.id == SubscriptionOrder.plan_id)
                .join(Reseller, Reseller.id == SubscriptionOrder.reseller_id)
                .join(Panel, Panel.id == SubscriptionOrder.panel_id)
                .where(
                    SubscriptionOrder.status == OrderStatus.PENDING,
                    SubscriptionOrder.created_at <= now - older_than,
                )
                .order_by(SubscriptionOrder.id)
            )
        ).all()
        found = []
        for order, plan, chat_id, panel in rows:
            customer = None
            if order.customer_id is not None:
                customer = await _load(session, order.customer_id)
            pending = PendingOrder(
                order.id, order.hold_id, order.reseller_id, _plan(plan), order.username,
                customer, panel_id=order.panel_id, panel_expires_at=order.panel_expires_at,
            )  # fmt: skip
            found.append(_Stale(pending, OrderKind(order.kind), order.price, chat_id, panel))
        return found


def _settled(stale: _Stale) -> Callable[[CustomerView], Outgoing]:
    def notice(customer: CustomerView) -> Outgoing:
        return Outgoing(
            key=f"order-settled:{stale.pending.order_id}",
            chat_id=stale.chat_id,
            kind=Kind.SALE_SETTLED,
            payload={
                "kind": stale.kind.value,
                "username": customer.username,
                "customer_id": customer.id,
                "panel": stale.panel,
                "price": stale.price,
                "expires_at": customer.expires_at.isoformat(),
                "subscription_url": customer.details.get(SUBSCRIPTION_URL),
            },
        )

    return notice


def _voided(stale: _Stale) -> Outgoing:
    return Outgoing(
        key=f"order-voided:{stale.pending.order_id}",
        chat_id=stale.chat_id,
        kind=Kind.SALE_VOIDED,
        payload={
            "kind": stale.kind.value,
            "username": stale.pending.username,
            "panel": stale.panel,
            "price": stale.price,
        },
    )


async def reconcile_orders(
    db: Database,
    panels: Panels,
    *,
    now: dt.datetime,
    older_than: dt.timedelta,
    ask_seconds: float = 30.0,
) -> Reconciled:
    """Settle every panel order pending for longer than ``older_than``."""
    await panels.probe_open()
    completed = voided = unknown = 0
    for stale in await _stale(db, now, older_than):
        pending = stale.pending
        assert pending.panel_id is not None
        breaker = panels.breaker(pending.panel_id)
        if breaker.is_open and not breaker.probe_due():
            unknown += 1
            continue
        try:
            async with asyncio.timeout(ask_seconds):
                found = await ask_panel(panels.provider(pending.panel_id), pending)
        except (OutcomeUnknown, ProvisioningError, TimeoutError, PanelConfigError) as exc:
            log.warning("order %s: panel %s gave no answer: %s", pending.order_id, stale.panel, exc)
            unknown += 1
            continue
        if found is None:
            async with db.transaction() as session:
                reason = f"not on panel {stale.panel} when checked"
                voided += await fail_order(
                    session, pending.order_id, pending.hold_id, reason, now, _voided(stale)
                )
            continue
        try:
            await complete(db, pending, found, now, _settled(stale))
        except AlreadySettled:
            continue
        except IntegrityError:
            # The username was taken here meanwhile, yet the panel has the user: an
            # operator must decide; the hold stays and the order is tried again.
            log.error("order %s: on panel %s but its username is taken", pending.order_id,
                      stale.panel)  # fmt: skip
            unknown += 1
            continue
        completed += 1
    return Reconciled(completed, voided, unknown)
