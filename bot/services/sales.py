"""Sales: activation and renewal of a customer's subscription, with holds.

A sale runs in three steps, each its own transaction so no write transaction is held
across the provider's network call:
1. hold the plan's price and record a pending order keyed by the confirmation nonce;
2. ask the provider to create or extend the subscription;
3. on success post the hold and save the customer; on failure (or timeout) void the hold.
A repeated nonce finds the order of the first tap and moves nothing.

Here: opening the order and ``sell``, which runs the three steps. Beside it:
``sale_quotes`` (the plans on offer, the confirmation screen's quote),
``sale_settlement`` (what an order came to; completing or failing one, shared with
reconciliation) and ``sale_errors`` (why a sale was refused).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot import metrics
from bot.db import Database
from bot.services import ledger, ledger_holds, pauses
from bot.services.customers import CustomerError, _own
from bot.services.panel_provider import PanelProvider, Panels
from bot.services.provisioning import (
    CreateSubscription,
    ExtendSubscription,
    OutcomeUnknown,
    Provider,
    Provisioned,
    ProvisioningError,
)
from bot.services.sale_errors import (
    ANOTHER_SALE,
    IN_DOUBT,
    AlreadyOnPlan,
    CustomerCancelled,
    PlanChanged,
    PriceChanged,
    SaleFailed,
    SaleInDoubt,
    SaleInProgress,
)
from bot.services.sale_quotes import active_plan, active_reseller, new_expiry
from bot.services.sale_settlement import (
    PendingOrder,
    SaleResult,
    ask_panel,
    complete,
    fail,
    mark_in_doubt,
    replay_order,
)
from models import (
    Customer,
    CustomerStatus,
    EntryKind,
    OrderKind,
    OrderStatus,
    Panel,
    Plan,
    SubscriptionOrder,
)


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
) -> SaleResult | PendingOrder:
    async def _open(session: AsyncSession) -> SaleResult | PendingOrder:
        replay = await replay_order(session, key)
        if replay is not None:
            return replay
        reseller = await active_reseller(session, telegram_id)
        plan = await active_plan(session, plan_id, reseller)
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
        return PendingOrder(
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


async def _plan_panel(db: Database, plan_id: int) -> int | None:
    async with db.transaction() as session:
        return await session.scalar(select(Plan.panel_id).where(Plan.id == plan_id))


async def _provision(provider: Provider, pending: PendingOrder, now: dt.datetime) -> Provisioned:
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
        reseller = await active_reseller(session, telegram_id)
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
        await fail(db, opened, reason, now)
        raise SaleFailed(
            f"The subscription could not be provisioned ({reason}). Nothing was charged.",
            exc.code,
            **exc.params,
        ) from exc
    except (OutcomeUnknown, TimeoutError) as exc:
        if not isinstance(provider, PanelProvider):
            # The local provider acts in this process: nothing outside to ask.
            reason = "the provider did not answer in time"
            await fail(db, opened, reason, now)
            raise SaleFailed(
                f"The subscription could not be provisioned ({reason}). Nothing was charged.",
                "provider_timeout",
            ) from exc
        return await _unknown_outcome(db, provider, opened, exc, now, provider_seconds)
    try:
        return await complete(db, opened, provisioned, now)
    except IntegrityError as exc:
        # Another activation took the username in between: release the credit.
        await fail(db, opened, "username taken", now)
        raise CustomerError(
            f"The username {opened.username} was just taken.",
            "username_taken",
            username=opened.username,
        ) from exc


async def _unknown_outcome(
    db: Database,
    provider: PanelProvider,
    pending: PendingOrder,
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
                found = await ask_panel(provider, pending)
        except (OutcomeUnknown, ProvisioningError, TimeoutError):
            pass
        else:
            if found is not None:
                return await complete(db, pending, found, now)
            await fail(db, pending, reason, now)
            raise SaleFailed(
                f"Sorry, {reason}. Nothing was charged.", exc.code, **exc.params
            ) from exc
    await mark_in_doubt(db, pending, reason)
    raise SaleInDoubt(
        IN_DOUBT.format(username=pending.username), username=pending.username
    ) from exc
