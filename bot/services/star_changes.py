"""A customer pays its own change of package in Stars, where its reseller sells in Stars.

Offered when the reseller has self-service payment on and a Stars price for both the
current and the new plan, the new plan is not cheaper in Stars, and no Stars
subscription renews the current plan (its next charge would sell that plan again). The
change is what the reseller's Approve does (``sales.sell`` on the new plan: its days
start after the days left, which move to the new plan at once), so the customer pays:

    the new plan's Stars price
  + for the whole days left, the difference of the two plans' Stars prices per day, when
    the new plan costs more per day (rounded up to a whole Star; never a credit).

A cheaper plan (fewer Stars than the current one) is not paid here: its request goes to
the reseller, who settles what is owed either way, as without self-service payment.

The invoice, pre-checkout and payment follow a renewal's (``star_renewals``): the payment
recorded once per charge with its revenue credited at the invoice's rate; the change then
runs through ``star_renewal_outcome`` (sold once, keyed by the payment), or is refunded.

Nothing is offered, invoiced or let through the pre-checkout while a payment of the
customer's is still being made (``star_renewal_outcome.in_doubt``): a second sale cannot
start beside it, so that payment would only be refunded. Two payments that both passed
the pre-checkout before either arrived are caught by the sale itself: the second finds
the first's order pending, or the customer already on the plan, and is refunded.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import star_renewal_outcome, star_subscriptions
from bot.services.customers import CustomerError
from bot.services.portal import DAY, owned
from bot.services.sale_quotes import new_expiry
from bot.services.self_pay import renewal_rate
from bot.services.star_renewals import Checked, Refusal
from bot.services.stars import CURRENCY, Payment, StarsError, add_invoice, by_payload
from models import (
    ChangeStatus,
    Customer,
    CustomerStatus,
    Plan,
    PlanChangeRequest,
    Reseller,
    ResellerStatus,
    SelfPayPrice,
    StarPurpose,
    StarState,
)

PAYLOAD_PREFIX = "sc:"  # a change's invoice payload (a renewal's is "sr:")


def is_change(payload: str) -> bool:
    return payload.startswith(PAYLOAD_PREFIX)


@dataclass(frozen=True)
class ChangeOffer:
    """The change of ``customer_id`` to ``plan_id`` for ``stars``, and how it adds up."""

    customer_id: int
    username: str
    from_plan: str
    plan_id: int
    plan_name: str
    days: int
    plan_stars: int  # the new plan's Stars price
    current_stars: int  # the current plan's
    days_left: int
    extra_stars: int  # the days left moved to the dearer plan
    expires_at: dt.datetime  # the expiry after the change, if paid now

    @property
    def stars(self) -> int:
        return self.plan_stars + self.extra_stars


def extra_for_days_left(
    days_left: int, *, plan_stars: int, plan_days: int, current_stars: int, current_days: int
) -> int:
    """Whole Stars for ``days_left`` at the new plan's daily price over the current one's
    (rounded up); 0 when the new plan is not dearer per day."""
    numerator = days_left * (plan_stars * current_days - current_stars * plan_days)
    if numerator <= 0:
        return 0
    return -(-numerator // (plan_days * current_days))


async def _stars_price(session: AsyncSession, reseller_id: int, plan_id: int) -> int | None:
    return await session.scalar(
        select(SelfPayPrice.stars).where(
            SelfPayPrice.reseller_id == reseller_id, SelfPayPrice.plan_id == plan_id
        )
    )


async def quote(
    session: AsyncSession, customer: Customer, plan_id: int, now: dt.datetime
) -> ChangeOffer | Refusal:
    """What changing ``customer`` to ``plan_id`` costs in Stars at ``now``, or why it is
    not paid here (the request flow then applies)."""
    reseller = await session.get(Reseller, customer.reseller_id, populate_existing=True)
    current = await session.get(Plan, customer.plan_id, populate_existing=True)
    plan = await session.get(Plan, plan_id, populate_existing=True)
    assert reseller is not None and current is not None
    if reseller.status != ResellerStatus.ACTIVE:
        return Refusal.SUSPENDED
    if plan is None or not plan.active or plan.id == current.id:
        return Refusal.PLAN_UNAVAILABLE
    if customer.status not in (CustomerStatus.ACTIVE, CustomerStatus.EXPIRED):
        return Refusal.NOT_OFFERED  # cancelled, or paused (resume first, as a request)
    if await star_renewal_outcome.in_doubt(session, customer.id):
        return Refusal.PAYMENT_PENDING
    if await _pending_request(session, customer.id):
        # One change at a time: a paid one beside a request the reseller may still
        # approve would sell the customer two.
        return Refusal.NOT_OFFERED
    if await star_subscriptions.active(session, customer.id) is not None:
        # Its charges (no pre-checkout) renew the plan it was made for: the next one
        # would sell the old plan again, undoing the change paid for.
        return Refusal.NOT_OFFERED
    plan_stars = await _stars_price(session, reseller.id, plan.id)
    current_stars = await _stars_price(session, reseller.id, current.id)
    if (
        not reseller.self_pay_enabled
        or plan_stars is None
        or current_stars is None
        or plan_stars < current_stars
        or await renewal_rate(session) is None
    ):
        return Refusal.NOT_OFFERED
    days_left = max(0, (customer.expires_at - now) // DAY)
    return ChangeOffer(
        customer_id=customer.id,
        username=customer.username,
        from_plan=current.name,
        plan_id=plan.id,
        plan_name=plan.name,
        days=plan.days,
        plan_stars=plan_stars,
        current_stars=current_stars,
        days_left=days_left,
        extra_stars=extra_for_days_left(
            days_left,
            plan_stars=plan_stars,
            plan_days=plan.days,
            current_stars=current_stars,
            current_days=current.days,
        ),
        expires_at=new_expiry(customer.expires_at, now, plan.days),
    )


async def _customer(session: AsyncSession, chat_id: int, customer_id: int) -> Customer:
    """The chat's subscription (anyone else's is refused as not linked), as its row."""
    view = await owned(session, chat_id, customer_id)
    row = await session.get(Customer, view.id, populate_existing=True)
    assert row is not None
    return row


async def _pending_request(session: AsyncSession, customer_id: int) -> bool:
    found = await session.scalar(
        select(PlanChangeRequest.id).where(
            PlanChangeRequest.customer_id == customer_id,
            PlanChangeRequest.status == ChangeStatus.PENDING,
        )
    )
    return found is not None


@dataclass(frozen=True)
class Offers:
    """The paid changes on offer, by plan; ``payment_pending``: none is, because a payment
    of the customer's is still being made."""

    by_plan: dict[int, ChangeOffer]
    payment_pending: bool = False


async def offers(
    db: Database, *, chat_id: int, customer_id: int, plan_ids: list[int], now: dt.datetime
) -> Offers:
    """The paid changes the chat's subscription may make, by plan; a plan left out goes
    to the reseller instead (self-service off, no Stars price, a cheaper plan, a request
    already waiting, a payment still being made). Another chat's subscription is refused
    (``not_linked``)."""
    async with db.transaction() as session:
        customer = await _customer(session, chat_id, customer_id)
        if await star_renewal_outcome.in_doubt(session, customer.id):
            return Offers({}, payment_pending=True)
        found = [await quote(session, customer, plan_id, now) for plan_id in plan_ids]
        return Offers({o.plan_id: o for o in found if isinstance(o, ChangeOffer)})


async def create_invoice(
    db: Database, *, chat_id: int, customer_id: int, plan_id: int, now: dt.datetime
) -> tuple[ChangeOffer, Payment]:
    """A change invoice (state invoiced) at today's prices; StarsError with the refusal's
    code when the change cannot be paid."""

    async def _create(session: AsyncSession) -> tuple[ChangeOffer, Payment]:
        try:
            customer = await _customer(session, chat_id, customer_id)
        except CustomerError:
            raise StarsError(Refusal.NOT_LINKED.value, "Not this chat's subscription.") from None
        found = await quote(session, customer, plan_id, now)
        if not isinstance(found, ChangeOffer):
            raise StarsError(found.value, "This change cannot be paid now.")
        method = await renewal_rate(session)
        assert method is not None
        payment = await add_invoice(
            session,
            purpose=StarPurpose.PLAN_CHANGE,
            prefix=PAYLOAD_PREFIX,
            reseller_id=customer.reseller_id,
            method_id=method.id,
            customer_id=customer.id,
            plan_id=found.plan_id,
            stars=found.stars,
            credits=found.stars * method.rate,
            rate=method.rate,
            payer_telegram_id=chat_id,
            now=now,
        )
        return found, payment

    return await db.run(_create)


async def check_pre_checkout(
    db: Database,
    *,
    payload: str,
    telegram_id: int,
    total_amount: int,
    currency: str,
    now: dt.datetime,
) -> Checked:
    """Whether Telegram may take this change's payment: still this chat's subscription,
    not cancelled or paused, no other payment of its still being made (this one would be
    refunded), self-service still on, the new plan still active, and the
    quote at ``now`` the invoice's amount (the days left are counted when paying: an
    invoice paid after some ran out is repriced, not charged for days gone)."""
    async with db.transaction() as session:
        found = await by_payload(session, payload)
        if found is None or found.payer_telegram_id != telegram_id:
            return Checked(Refusal.UNKNOWN)
        if found.state != StarState.INVOICED:
            return Checked(Refusal.ALREADY_PAID, found)
        assert found.customer_id is not None and found.plan_id is not None
        customer = await session.scalar(
            select(Customer)
            .where(Customer.id == found.customer_id, Customer.chat_id == telegram_id)
            .execution_options(populate_existing=True)
        )
        if customer is None:
            return Checked(Refusal.NOT_LINKED, found)
        again = await quote(session, customer, found.plan_id, now)
        if not isinstance(again, ChangeOffer):
            return Checked(again, found)
        if again.stars != found.stars or currency != CURRENCY or total_amount != found.stars:
            return Checked(Refusal.CHANGED, found)
        return Checked(None, found)
