"""A customer pays its own renewal in Stars: the offer, the invoice, the pre-checkout check
and the payment.

The payment is recorded once per ``telegram_payment_charge_id`` and its Stars are credited
to the reseller as revenue (at the invoice's rate) in the same transaction, before the
renewal runs: the renewal then charges the reseller the plan's price through the normal
sale path, so the reseller keeps the difference. The renewal and, when it cannot be
done, the automatic refund are ``bot.services.star_renewal_outcome``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import ledger, star_renewal_outcome
from bot.services.discounts import still_valid
from bot.services.ledger import rowcount
from bot.services.sale_quotes import new_expiry
from bot.services.self_pay import renewal_rate
from bot.services.stars import (
    CURRENCY,
    Payment,
    StarsError,
    add_invoice,
    by_payload,
    charge_key,
    require,
)
from models import (
    Customer,
    CustomerStatus,
    EntryKind,
    Plan,
    Reseller,
    ResellerStatus,
    SelfPayPrice,
    StarPayment,
    StarPurpose,
    StarState,
    TxType,
)

PAYLOAD_PREFIX = "sr:"  # a renewal's invoice payload; a top-up's begins "st:"
# What a customer's payment paid for, in the ledger's comments.
_WHAT = {StarPurpose.RENEWAL: "Renewal", StarPurpose.PLAN_CHANGE: "Change of package"}
SUBSCRIPTION_DAYS = 30


def is_renewal(payload: str) -> bool:
    return payload.startswith(PAYLOAD_PREFIX)


class Refusal(StrEnum):
    """Why a renewal cannot be paid (offered, invoiced, or taken at pre-checkout)."""

    UNKNOWN = "unknown"  # no such invoice, or someone else's
    ALREADY_PAID = "already_paid"
    NOT_LINKED = "not_linked"  # the chat is no longer linked to the subscription
    SUSPENDED = "suspended"  # the reseller is suspended
    NOT_OFFERED = "not_offered"  # self-service off, no price, no rate, customer paused...
    PLAN_UNAVAILABLE = "plan_unavailable"
    CHANGED = "changed"  # the price changed since the invoice
    CODE_INVALID = "code_invalid"  # its discount code is used up or expired meanwhile
    PAYMENT_PENDING = "payment_pending"  # a payment of the customer's is still being made


@dataclass(frozen=True)
class Offer:
    """What the customer is offered: its plan renewed for ``stars``."""

    customer_id: int
    username: str
    plan_id: int
    plan_name: str
    days: int
    stars: int
    expires_at: dt.datetime  # the expiry after the renewal, if paid now

    @property
    def subscribable(self) -> bool:
        """Telegram's Stars subscriptions have one period, 30 days: so must the plan."""
        return self.days == SUBSCRIPTION_DAYS


@dataclass(frozen=True)
class Checked:
    refusal: Refusal | None
    payment: Payment | None = None


@dataclass(frozen=True)
class Recorded:
    payment: Payment
    replayed: bool  # the same charge reported again: nothing was credited this time


async def current_offer(
    session: AsyncSession, chat_id: int, now: dt.datetime
) -> tuple[Offer | None, Refusal | None, int]:
    """The offer for the subscription linked to ``chat_id`` (or why none), and the rate.
    None while a payment of the customer's is still being made (``payment_pending``)."""
    customer = await session.scalar(
        select(Customer)
        .where(Customer.chat_id == chat_id)
        .execution_options(populate_existing=True)
    )
    if customer is None:
        return None, Refusal.NOT_LINKED, 0
    reseller = await session.get(Reseller, customer.reseller_id, populate_existing=True)
    plan = await session.get(Plan, customer.plan_id, populate_existing=True)
    assert reseller is not None and plan is not None
    if reseller.status != ResellerStatus.ACTIVE:
        return None, Refusal.SUSPENDED, 0
    if not plan.active:
        return None, Refusal.PLAN_UNAVAILABLE, 0
    stars = await session.scalar(
        select(SelfPayPrice.stars).where(
            SelfPayPrice.reseller_id == reseller.id, SelfPayPrice.plan_id == plan.id
        )
    )
    method = await renewal_rate(session)
    if (
        not reseller.self_pay_enabled
        or stars is None
        or method is None
        or customer.status not in (CustomerStatus.ACTIVE, CustomerStatus.EXPIRED)
    ):
        return None, Refusal.NOT_OFFERED, 0
    if await star_renewal_outcome.in_doubt(session, customer.id):
        # Its sale could not start beside the one awaited: the payment would be refunded.
        return None, Refusal.PAYMENT_PENDING, 0
    offer = Offer(
        customer_id=customer.id,
        username=customer.username,
        plan_id=plan.id,
        plan_name=plan.name,
        days=plan.days,
        stars=stars,
        expires_at=new_expiry(customer.expires_at, now, plan.days),
    )
    return offer, None, method.rate


@dataclass(frozen=True)
class Offered:
    """The renewal on offer, or None; ``payment_pending``: none is, only because a payment
    of the customer's is still being made (offered again once it is settled)."""

    offer: Offer | None
    payment_pending: bool = False


async def offered(db: Database, chat_id: int, now: dt.datetime) -> Offered:
    """The renewal the customer in ``chat_id`` may pay itself, or why not, if for now."""
    async with db.transaction() as session:
        offer, refusal, _ = await current_offer(session, chat_id, now)
        return Offered(offer, payment_pending=refusal == Refusal.PAYMENT_PENDING)


async def offer_for_chat(db: Database, chat_id: int, now: dt.datetime) -> Offer | None:
    """The renewal the customer in ``chat_id`` may pay itself, or None."""
    return (await offered(db, chat_id, now)).offer


async def create_invoice(db: Database, *, chat_id: int, now: dt.datetime) -> tuple[Offer, Payment]:
    """A renewal invoice (state invoiced) for the customer in ``chat_id``, at today's price."""

    async def _create(session: AsyncSession) -> tuple[Offer, Payment]:
        offer, refusal, rate = await current_offer(session, chat_id, now)
        if offer is None:
            assert refusal is not None
            raise StarsError(refusal.value, "This renewal cannot be paid now.")
        method = await renewal_rate(session)
        assert method is not None
        customer = await session.get(Customer, offer.customer_id)
        assert customer is not None
        payment = await add_invoice(
            session,
            purpose=StarPurpose.RENEWAL,
            prefix=PAYLOAD_PREFIX,
            reseller_id=customer.reseller_id,
            method_id=method.id,
            customer_id=offer.customer_id,
            plan_id=offer.plan_id,
            stars=offer.stars,
            credits=offer.stars * rate,
            rate=rate,
            payer_telegram_id=chat_id,
            now=now,
        )
        return offer, payment

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
    """Whether Telegram may take this renewal payment: the customer still linked, the
    reseller active, the plan on offer, no other payment of theirs still being made, the
    price the invoice's."""
    async with db.transaction() as session:
        found = await by_payload(session, payload)
        if found is None or found.payer_telegram_id != telegram_id:
            return Checked(Refusal.UNKNOWN)
        if found.state == StarState.CANCELLED:  # replaced (a discount code entered, say)
            return Checked(Refusal.UNKNOWN, found)
        if found.state != StarState.INVOICED:
            return Checked(Refusal.ALREADY_PAID, found)
        offer, refusal, _ = await current_offer(session, telegram_id, now)
        if offer is None or offer.customer_id != found.customer_id:
            return Checked(refusal or Refusal.NOT_LINKED, found)
        if (
            offer.plan_id != found.plan_id
            or offer.stars != found.stars + found.discount_stars  # the price before a code
            or currency != CURRENCY
            or total_amount != found.stars
        ):
            return Checked(Refusal.CHANGED, found)
        if not await still_valid(session, found, now):
            return Checked(Refusal.CODE_INVALID, found)
        return Checked(None, found)


async def record_payment(
    db: Database,
    *,
    charge_id: str,
    provider_charge_id: str | None,
    payload: str,
    total_amount: int,
    currency: str,
    now: dt.datetime,
    purpose: StarPurpose = StarPurpose.RENEWAL,
) -> Recorded:
    """The payment, once per ``charge_id``: paid, and its revenue credited to the reseller.
    A change of package paid by the customer (``purpose``) is recorded the same way.

    Taken whatever happened since the pre-checkout: Telegram has the customer's Stars, so
    either the renewal is done or the Stars go back (``star_renewal_outcome``).
    """

    async def _record(session: AsyncSession) -> Recorded:
        seen = await session.scalar(
            select(StarPayment.id).where(StarPayment.telegram_payment_charge_id == charge_id)
        )
        if seen is not None:
            return Recorded(await require(session, seen), replayed=True)
        found = await by_payload(session, payload, lock=True)
        if found is None or found.purpose != purpose:
            raise StarsError("unknown_payload", f"No {purpose} invoice has payload {payload!r}.")
        if found.state not in (StarState.INVOICED, StarState.CANCELLED):
            raise StarsError(
                "paid_twice",
                f"Invoice #{found.id} was already paid with another charge.",
                payment_id=found.id,
            )
        if currency != CURRENCY or total_amount != found.stars:
            raise StarsError(
                "amount_mismatch",
                f"Invoice #{found.id} is for {found.stars} XTR, paid {total_amount} {currency}.",
                payment_id=found.id,
            )
        transfer_id = await credit_revenue(session, found, charge_id, now)
        moved = await session.execute(
            update(StarPayment)
            .where(StarPayment.id == found.id, StarPayment.state == found.state)
            .values(
                state=StarState.PAID,
                telegram_payment_charge_id=charge_id,
                provider_payment_charge_id=provider_charge_id,
                grant_transfer_id=transfer_id,
                paid_at=now,
            )
        )
        assert rowcount(moved) == 1, "the invoice row is locked"
        return Recorded(await require(session, found.id), replayed=False)

    return await db.run(_record)


async def credit_revenue(
    session: AsyncSession, payment: Payment, charge_id: str, now: dt.datetime
) -> int:
    """The payment's Stars credited to its reseller at the invoice's rate, once per charge."""
    customer = await session.get(Customer, payment.customer_id)
    name = customer.username if customer else "?"
    movement = await ledger.grant(
        session,
        account_id=payment.account_id,
        amount=payment.credits,
        kind=EntryKind.STARS_REVENUE,
        tx_type=TxType.PURCHASE,
        actor=f"tg:{payment.payer_telegram_id}",
        key=charge_key("stars-revenue", charge_id),
        now=now,
        comment=f"{_WHAT[payment.purpose]} of {name} paid by the customer with "
        f"{payment.stars} Stars"[: ledger.MAX_COMMENT],
        related=f"stars:{payment.id}",
    )
    return movement.transfer_id
