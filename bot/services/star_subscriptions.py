"""A customer's Stars subscription: its renewal paid automatically every 30 days.

The customer opens an invoice link made with ``subscription_period`` (30 days, the only
period Telegram allows) for a plan of 30 days. Telegram then charges it every period and
sends a ``successful_payment`` for each charge, with the same payload: each charge becomes
a ``star_payments`` row of its own (``subscription_id`` set), its revenue credited once
per charge id, and runs the renewal once, exactly as a single paid renewal does
(``star_renewal_outcome``). Cancelling (``editUserStarSubscription``) stops Telegram
charging: the period already paid stays renewed, the next one never comes.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services.ledger import rowcount
from bot.services.sale_errors import PlanChanged
from bot.services.self_pay import renewal_rate
from bot.services.star_renewals import (
    Checked,
    Offer,
    Recorded,
    Refusal,
    credit_revenue,
    current_offer,
)
from bot.services.stars import CURRENCY, StarsError, require
from models import (
    Customer,
    StarPayment,
    StarPurpose,
    StarState,
    StarSubscription,
    SubscriptionState,
)

PAYLOAD_PREFIX = "ss:"
PERIOD_SECONDS = 2_592_000  # 30 days: Telegram's only subscription period
MAX_STARS = 10_000  # Telegram's most for a subscription's price


def is_subscription(payload: str) -> bool:
    return payload.startswith(PAYLOAD_PREFIX)


@dataclass(frozen=True)
class Subscription:
    id: int
    customer_id: int
    payer_telegram_id: int
    stars: int
    payload: str
    state: SubscriptionState
    first_charge_id: str | None
    expires_at: dt.datetime | None


def _view(row: StarSubscription) -> Subscription:
    return Subscription(
        id=row.id,
        customer_id=row.customer_id,
        payer_telegram_id=row.payer_telegram_id,
        stars=row.stars,
        payload=row.payload,
        state=SubscriptionState(row.state),
        first_charge_id=row.first_charge_id,
        expires_at=row.expires_at,
    )


async def _by_payload(session: AsyncSession, payload: str) -> StarSubscription | None:
    return await session.scalar(
        select(StarSubscription)
        .where(StarSubscription.payload == payload)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def active(session: AsyncSession, customer_id: int) -> StarSubscription | None:
    """The Stars subscription renewing ``customer_id``, if one is active."""
    return await session.scalar(
        select(StarSubscription)
        .where(
            StarSubscription.customer_id == customer_id,
            StarSubscription.state == SubscriptionState.ACTIVE,
        )
        .order_by(StarSubscription.id.desc())
        .execution_options(populate_existing=True)
    )


async def active_for_chat(db: Database, chat_id: int) -> Subscription | None:
    """The subscription renewing the customer linked to ``chat_id``, if one is active."""
    async with db.transaction() as session:
        customer_id = await session.scalar(select(Customer.id).where(Customer.chat_id == chat_id))
        found = None if customer_id is None else await active(session, customer_id)
        return None if found is None else _view(found)


async def create(db: Database, *, chat_id: int, now: dt.datetime) -> tuple[Offer, Subscription]:
    """A pending subscription (its link is made by the caller) at today's price."""

    async def _create(session: AsyncSession) -> tuple[Offer, Subscription]:
        offer, refusal, rate = await current_offer(session, chat_id, now)
        if offer is None:
            assert refusal is not None
            raise StarsError(refusal.value, "This renewal cannot be paid now.")
        if not offer.subscribable or offer.stars > MAX_STARS:
            raise StarsError(Refusal.NOT_OFFERED.value, "Only 30-day plans renew by subscription.")
        if await active(session, offer.customer_id) is not None:
            raise StarsError("already_subscribed", "A subscription already renews it.")
        method = await renewal_rate(session)
        customer = await session.get(Customer, offer.customer_id)
        assert method is not None and customer is not None
        row = StarSubscription(
            reseller_id=customer.reseller_id, customer_id=customer.id, plan_id=offer.plan_id,
            method_id=method.id, stars=offer.stars, rate=rate,
            payload=f"{PAYLOAD_PREFIX}{secrets.token_urlsafe(18)}", payer_telegram_id=chat_id,
            state=SubscriptionState.PENDING, created_at=now,
        )  # fmt: skip
        session.add(row)
        await session.flush()
        return offer, _view(row)

    return await db.run(_create)


async def check_pre_checkout(
    db: Database, *, payload: str, telegram_id: int, total_amount: int, currency: str,
    now: dt.datetime,
) -> Checked:  # fmt: skip
    """The first payment of a subscription: the same checks as a single renewal's."""
    async with db.transaction() as session:
        row = await session.scalar(
            select(StarSubscription).where(StarSubscription.payload == payload)
        )
        if row is None or row.payer_telegram_id != telegram_id:
            return Checked(Refusal.UNKNOWN)
        if row.state != SubscriptionState.PENDING:
            return Checked(Refusal.ALREADY_PAID)
        offer, refusal, _ = await current_offer(session, telegram_id, now)
        if offer is None or offer.customer_id != row.customer_id:
            return Checked(refusal or Refusal.NOT_LINKED)
        if offer.plan_id != row.plan_id or offer.stars != row.stars:
            return Checked(Refusal.CHANGED)
        if currency != CURRENCY or total_amount != row.stars:
            return Checked(Refusal.CHANGED)
        return Checked(None)


async def record_charge(
    db: Database,
    *,
    charge_id: str,
    provider_charge_id: str | None,
    payload: str,
    total_amount: int,
    currency: str,
    expires_at: dt.datetime | None,
    now: dt.datetime,
) -> Recorded:
    """One period's charge, once per ``charge_id``: a paid payment of its own, its revenue
    credited; the subscription active until ``expires_at`` (unless it was cancelled)."""

    async def _record(session: AsyncSession) -> Recorded:
        seen = await session.scalar(
            select(StarPayment.id).where(StarPayment.telegram_payment_charge_id == charge_id)
        )
        if seen is not None:
            return Recorded(await require(session, seen), replayed=True)
        row = await _by_payload(session, payload)
        if row is None:
            raise StarsError("unknown_payload", f"No subscription has payload {payload!r}.")
        if currency != CURRENCY or total_amount != row.stars:
            raise StarsError(
                "amount_mismatch",
                f"Subscription #{row.id} is for {row.stars} XTR, paid {total_amount} {currency}.",
            )
        charges = await session.scalar(
            select(func.count()).where(StarPayment.subscription_id == row.id)
        )
        payment = StarPayment(
            purpose=StarPurpose.RENEWAL, reseller_id=row.reseller_id, method_id=row.method_id,
            customer_id=row.customer_id, plan_id=row.plan_id, subscription_id=row.id,
            stars=row.stars, credits=row.stars * row.rate, rate=row.rate,
            payload=f"{row.payload}#{(charges or 0) + 1}", state=StarState.PAID,
            telegram_payment_charge_id=charge_id, provider_payment_charge_id=provider_charge_id,
            payer_telegram_id=row.payer_telegram_id, created_at=now, paid_at=now,
        )  # fmt: skip
        session.add(payment)
        await session.flush()
        transfer_id = await credit_revenue(
            session, await require(session, payment.id), charge_id, now
        )
        payment.grant_transfer_id = transfer_id
        if row.state == SubscriptionState.PENDING:
            row.state = SubscriptionState.ACTIVE
        row.first_charge_id = row.first_charge_id or charge_id
        row.expires_at = expires_at or row.expires_at
        await session.flush()
        return Recorded(await require(session, payment.id), replayed=False)

    return await db.run(_record)


async def by_id(db: Database, subscription_id: int) -> Subscription:
    async with db.transaction() as session:
        row = await session.get(StarSubscription, subscription_id, populate_existing=True)
        if row is None:
            raise StarsError("no_subscription", f"There is no subscription #{subscription_id}.")
        return _view(row)


async def renewing_another_plan(
    session: AsyncSession, customer_id: int, plan_id: int
) -> StarSubscription | None:
    """The customer's active subscription when it renews a plan other than ``plan_id``:
    its next charge would sell that plan again, undoing a change of package."""
    found = await active(session, customer_id)
    if found is None or found.plan_id == plan_id or found.first_charge_id is None:
        return None
    return found


async def subscription_to_cancel(db: Database, *, chat_id: int) -> Subscription:
    """The active subscription of the customer in ``chat_id`` (for the caller to cancel at
    Telegram, then ``mark_cancelled``)."""
    found = await active_for_chat(db, chat_id)
    if found is None or found.first_charge_id is None:
        raise StarsError("no_subscription", "No Stars subscription renews this subscription.")
    return found


async def mark_cancelled(db: Database, *, subscription_id: int, now: dt.datetime) -> bool:
    """Active -> cancelled, once (False: it was not active any more)."""
    async with db.transaction() as session:
        moved = await session.execute(
            update(StarSubscription)
            .where(
                StarSubscription.id == subscription_id,
                StarSubscription.state == SubscriptionState.ACTIVE,
            )
            .values(state=SubscriptionState.CANCELLED, cancelled_at=now)
        )
        return rowcount(moved) == 1


async def left_for_refund(db: Database, payment_id: int) -> Subscription | None:
    """The subscription whose charge ``payment_id`` is refunded because the customer has
    left its plan (``plan_changed``), while it is still active: the live path cancels it
    at Telegram beside the refund (its next charge would sell the plan left again); a
    caller finishing such a refund later (the bot stopped in between) does the same.
    None when there is nothing to cancel (a single payment, another reason, or cancelled
    already: so it is cancelled once)."""
    async with db.transaction() as session:
        found = (
            await session.execute(
                select(StarPayment.subscription_id, StarPayment.refund_reason).where(
                    StarPayment.id == payment_id
                )
            )
        ).first()
        if found is None or found.subscription_id is None:
            return None
        if not (found.refund_reason or "").endswith(f" not done: {PlanChanged.code}"):
            return None
        row = await session.get(StarSubscription, found.subscription_id, populate_existing=True)
        if row is None or row.state != SubscriptionState.ACTIVE or row.first_charge_id is None:
            return None
        return _view(row)
