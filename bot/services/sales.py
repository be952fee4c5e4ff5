"""Sales: activation and renewal of a customer's subscription, with holds.

A sale runs in three steps, each its own transaction so no write transaction is held
across the provider's network call:
1. hold the plan's price and record a pending order keyed by the confirmation nonce;
2. ask the provider to create or extend the subscription;
3. on success post the hold and save the customer; on failure (or timeout) void the hold.
A repeated nonce finds the order of the first tap and moves nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import metrics
from bot.db import Database
from bot.services import downline, ledger, ledger_holds, pauses, price_lists
from bot.services.customers import (
    CustomerError,
    CustomerView,
    PlanView,
    _load,
    _own,
    _plan,
    check_username,
)
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
from bot.services.resellers import ResellerView, load_by_telegram_id, require_by_telegram_id
from models import (
    Customer,
    CustomerStatus,
    EntryKind,
    OrderKind,
    OrderStatus,
    Panel,
    Plan,
    ResellerStatus,
    SubscriptionOrder,
    SystemAccount,
    TxType,
)

IN_DOUBT = (
    "The panel did not answer, so it is not known yet whether {username} was provisioned. "
    "The price is held, not charged; the bot checks with the panel and tells you the outcome."
)


class PlanUnavailable(CustomerError):
    code = "plan_unavailable"


class PriceChanged(CustomerError):
    """The plan's price is not the one on the confirmation screen: nothing was held."""

    code = "price_changed"


class SaleFailed(CustomerError):
    """Provisioning failed; the held credit was released and nothing was charged."""

    code = "sale_failed"


class SaleInProgress(CustomerError):
    code = "sale_in_progress"


# SaleInProgress's code when another sale of the customer is pending: this one was not
# started (nothing held, no order), unlike the same key's sale still running.
ANOTHER_SALE = "renewal_in_progress"


class CustomerCancelled(CustomerError):
    """The customer cancelled the subscription: a sale that must not revive it (a change
    of package) is refused, and nothing is held."""

    code = "customer_cancelled"


class PlanChanged(CustomerError):
    """The customer is on another plan now: a renewal of the plan it left (a Stars
    subscription's charge) would move it back, so it is refused, and nothing is held."""

    code = "plan_changed"


class AlreadyOnPlan(CustomerError):
    """A change of package to the plan the customer is on already: made by an earlier
    payment (two paid on two devices at once, say), so this sale would renew it a second
    time. Refused, and nothing is held."""

    code = "already_on_plan"


ALREADY_ON_PLAN = AlreadyOnPlan.code


class AlreadySettled(Exception):
    """The order was settled by someone else (the sale or reconciliation) meanwhile."""


class SaleInDoubt(CustomerError):
    """The panel did not answer: the credit stays held (not charged) until reconciliation
    asks the panel and settles the order, and tells the reseller."""

    code = "sale_in_doubt"


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


def new_expiry(current: dt.datetime | None, now: dt.datetime, days: int) -> dt.datetime:
    """The later of now and the current expiry, plus the plan's days."""
    start = max(now, current) if current is not None else now
    return start + dt.timedelta(days=days)


async def _active_reseller(session: AsyncSession, telegram_id: int) -> ResellerView:
    reseller = await require_by_telegram_id(session, telegram_id)
    if reseller.status != ResellerStatus.ACTIVE:
        raise CustomerError("Your reseller account is suspended, so sales are paused.", "suspended")
    await downline.require_upline_active(session, reseller.id)  # a suspended parent: none below
    return reseller


async def _active_plan(
    session: AsyncSession, plan_id: int, seller: ResellerView | None = None
) -> PlanView:
    """The plan, priced for ``seller`` (its price list: the one place a sale's price is
    decided; see bot.services.price_lists)."""
    plan = await session.get(Plan, plan_id, populate_existing=True)
    if plan is None or not plan.active:
        raise PlanUnavailable("That plan is no longer available. Pick another one.")
    return await _priced(session, _plan(plan), seller)


async def _priced(session: AsyncSession, plan: PlanView, seller: ResellerView | None) -> PlanView:
    if seller is None:
        return plan
    return replace(plan, price=await price_lists.price_for(session, seller.id, plan))


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


async def active_plans(db: Database, telegram_id: int | None = None) -> list[PlanView]:
    """The plans on offer, at the base price or (``telegram_id``) at that seller's price."""
    async with db.transaction() as session:
        seller = await load_by_telegram_id(session, telegram_id) if telegram_id else None
        rows = await session.scalars(
            select(Plan).where(Plan.active.is_(True)).order_by(Plan.position, Plan.id)
        )
        return [await _priced(session, _plan(p), seller) for p in rows]


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
        plan = await _active_plan(session, plan_id, reseller)
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
    expected_price: int | None,
    refuse_cancelled: bool = False,
    same_plan_only: bool = False,
    refuse_same_plan: bool = False,
) -> SaleResult | _Pending:
    async def _open(session: AsyncSession) -> SaleResult | _Pending:
        replay = await _replay(session, key)
        if replay is not None:
            return replay
        reseller = await _active_reseller(session, telegram_id)
        plan = await _active_plan(session, plan_id, reseller)
        if expected_price is not None and plan.price != expected_price:
            raise PriceChanged(
                f"The price of {plan.name} is now {plan.price / 100:.2f}.",
                plan=plan.name,
                price=plan.price,
            )
        customer = None
        name = username
        if customer_id is not None:
            # Locked before anything of the customer is read, so all below (its plan, its
            # expiry, another sale's order) is as of the lock: see ``_locked_state``.
            await _locked_state(session, customer_id)
            customer = await _own(session, reseller, customer_id)
            name = customer.username
            if refuse_cancelled and customer.status == CustomerStatus.CANCELLED:
                raise CustomerCancelled(
                    f"{name} cancelled the subscription. Nothing was charged.", username=name
                )
            if refuse_same_plan and customer.plan.id == plan_id:
                raise AlreadyOnPlan(
                    f"{name} is on {plan.name} already. Nothing was charged.",
                    username=name,
                    plan=plan.name,
                )
            if same_plan_only and customer.plan.id != plan_id:
                raise PlanChanged(f"{name} is on another plan now. Nothing was charged.")
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
                ANOTHER_SALE,
                username=name,
            )
        row = await session.get(Plan, plan.id)
        assert row is not None
        target = new_expiry(customer.expires_at if customer else None, now, plan.days)
        hold = await ledger_holds.place_hold(
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


async def _locked_state(session: AsyncSession, customer_id: int) -> None:
    """The customer's row locked in the order's transaction, before the sale reads any of
    it: every sale of an existing customer takes it, so on PostgreSQL two sales of one
    customer open one after the other. A Cancel committed before is seen, and one still
    running waits for the order (cancelling does not end a sale); another sale's order
    opened before is seen pending, and one completed before has moved the plan and the
    expiry (its completion locks the row too). SQLite's writes are serialised already."""
    await session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())


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
    await ledger_holds.void_hold(session, hold_id, now=now)
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


async def _pay_margins(session: AsyncSession, pending: _Pending, charged: int) -> None:
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


async def _resume_if_paused(
    db: Database,
    panels: Panels | None,
    *,
    telegram_id: int,
    customer_id: int,
    key: str,
    now: dt.datetime,
    seconds: float,
) -> None:
    """A renewal of a paused subscription resumes it first, so its frozen days are given
    back (and the panel enables the user) before the bought ones are added; renewing over
    the pause would drop them. A panel that cannot resume it refuses the sale."""
    async with db.transaction() as session:
        if await session.scalar(
            select(SubscriptionOrder.id).where(SubscriptionOrder.idempotency_key == key)
        ):
            return  # a repeat: the order answers for itself
        reseller = await _active_reseller(session, telegram_id)
        customer = await _own(session, reseller, customer_id)  # the seller's own, or refused
        if customer.status != CustomerStatus.PAUSED:
            return
        panel = await session.scalar(
            select(Panel.name)
            .join(Plan, Plan.panel_id == Panel.id)
            .where(Plan.id == customer.plan.id)
        )
    try:
        await pauses.resume(
            db, panels, customer_id=customer_id, now=now, seconds=seconds, notify=True
        )
    except pauses.PauseError as exc:
        if exc.code == "not_paused":  # resumed meanwhile
            return
        raise SaleFailed(
            "The panel could not resume the paused subscription; nothing was charged.",
            "panel_down",
            panel=panel or "",
        ) from exc


@metrics.observed_sale
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
    expected_price: int | None = None,
    refuse_cancelled: bool = False,
    same_plan_only: bool = False,
    refuse_same_plan: bool = False,
) -> SaleResult:
    """Activate ``username`` or renew ``customer_id`` on a plan, once per ``key``.

    ``expected_price``: the price the seller was shown; if the plan's price is another
    now, PriceChanged is raised and nothing is held. ``refuse_cancelled``: a cancelled
    customer is refused (CustomerCancelled) in the transaction that would hold the price,
    for sales the customer asked for (a change of package) rather than the reseller.
    ``same_plan_only``: a customer on another plan than ``plan_id`` is refused
    (PlanChanged) in that transaction too, for renewals that must not change it back.
    ``refuse_same_plan``: a customer already on ``plan_id`` is refused (AlreadyOnPlan)
    there too, for a change of package paid once per change, not once per payment.

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
    if customer_id is not None:
        await _resume_if_paused(
            db, panels, telegram_id=telegram_id, customer_id=customer_id, key=key, now=now,
            seconds=provider_seconds,
        )  # fmt: skip
    opened = await _open_order(
        db,
        kind=kind,
        telegram_id=telegram_id,
        plan_id=plan_id,
        key=key,
        username=username,
        customer_id=customer_id,
        now=now,
        expected_price=expected_price,
        refuse_cancelled=refuse_cancelled,
        same_plan_only=same_plan_only,
        refuse_same_plan=refuse_same_plan,
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
