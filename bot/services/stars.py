"""Reseller top-ups paid in Telegram Stars: the invoice, the pre-checkout check, the payment.

A reseller who picks a Stars method gets an invoice (state ``invoiced``) for
``ceil(credits / rate)`` Stars; nothing is granted until Telegram reports the payment.
The pre-checkout check refuses what should not be paid (cancelled, already paid, the
reseller suspended, the rate or the amount changed). The payment itself is
``bot.services.star_payments``, refunds ``star_refunds``, reconciliation
``star_reconcile``, the method's configuration ``star_methods``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import ledger
from bot.services.ledger import rowcount
from models import (
    MethodKind,
    PaymentMethod,
    Reseller,
    ResellerStatus,
    StarPayment,
    StarPurpose,
    StarState,
)

CURRENCY = "XTR"
MAX_STARS = 100_000  # what one invoice may ask, well inside Telegram's own bound


class StarsError(Exception):
    """A Stars step was refused: ``code`` says why, ``params`` are its plain values."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params: dict[str, Any] = params


class Refusal(StrEnum):
    """Why a pre-checkout query is refused."""

    UNKNOWN = "unknown"  # no such invoice, or someone else's
    CANCELLED = "cancelled"
    ALREADY_PAID = "already_paid"
    SUSPENDED = "suspended"
    CHANGED = "changed"  # the rate, the amount or the method changed: a fresh invoice
    CODE_INVALID = "code_invalid"  # its discount code is used up or expired meanwhile


@dataclass(frozen=True)
class StarsMethod:
    id: int
    code: str
    name: str
    rate: int  # hundredths of a credit per Star
    min_credits: int | None
    max_credits: int | None
    active: bool


@dataclass(frozen=True)
class Payment:
    id: int
    purpose: StarPurpose
    reseller_id: int
    reseller_telegram_id: int
    reseller_name: str
    account_id: int
    method_id: int
    stars: int
    credits: int
    rate: int
    payload: str
    state: StarState
    charge_id: str | None
    topup_request_id: int | None
    created_at: dt.datetime
    paid_at: dt.datetime | None
    refunded_at: dt.datetime | None
    refund_reason: str | None
    refund_shortfall: int
    payer_telegram_id: int = 0
    customer_id: int | None = None  # a renewal's customer and plan
    plan_id: int | None = None
    discount_code_id: int | None = None  # a code entered at the invoice
    discount_stars: int = 0  # ... and the Stars it took off
    # A refund under way: until when its caller holds it (``star_refund_claims``); the
    # holder's proof that no one took it over since.
    refund_claimed_until: dt.datetime | None = None
    refund_begun_at: dt.datetime | None = None  # (the payment's time for older ones)
    refund_error: str | None = None  # Telegram's last refusal of its refund
    refund_actor: str | None = None  # who decided its refund: ``tg:<admin>``, ``system``...

    @property
    def refund_by_admin(self) -> bool:
        """Its refund was an admin's decision (↩️ Refund, any payment), not the automatic
        refund of a customer's renewal or change that could not be done: Telegram's
        refusal gives the credits back (they were all taken), and the notices are a
        refund's, not a renewal's that failed."""
        if self.refund_actor is None:  # (recorded before the actor was)
            return self.purpose == StarPurpose.TOPUP
        return self.refund_actor.startswith("tg:")


@dataclass(frozen=True)
class Checked:
    """A pre-checkout answer: ok, or the refusal (and the payment it concerns)."""

    refusal: Refusal | None
    payment: Payment | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


def stars_for(credits: int, rate: int) -> int:
    """Stars for ``credits`` at ``rate`` (both hundredths): rounded up to a whole Star."""
    return -(-credits // rate)


def charge_key(prefix: str, charge_id: str) -> str:
    """An idempotency key derived from Telegram's charge id (hashed when it is long)."""
    if len(prefix) + len(charge_id) + 1 > ledger.MAX_KEY:
        charge_id = hashlib.sha256(charge_id.encode()).hexdigest()
    return f"{prefix}:{charge_id}"


def method_view(row: PaymentMethod) -> StarsMethod | None:
    if row.kind != MethodKind.STARS or not row.stars_rate:
        return None
    return StarsMethod(
        id=row.id,
        code=row.code,
        name=row.name,
        rate=row.stars_rate,
        min_credits=row.stars_min_credits,
        max_credits=row.stars_max_credits,
        active=row.active,
    )


async def stars_method(db: Database, method_id: int) -> StarsMethod | None:
    """The method if it is a Stars method (active or not), else None."""
    async with db.transaction() as session:
        row = await session.get(PaymentMethod, method_id)
        return None if row is None else method_view(row)


def _payment(row: StarPayment, reseller: Reseller, account_id: int) -> Payment:
    return Payment(
        id=row.id,
        purpose=StarPurpose(row.purpose),
        reseller_id=reseller.id,
        reseller_telegram_id=reseller.telegram_id,
        reseller_name=reseller.name,
        account_id=account_id,
        method_id=row.method_id,
        stars=row.stars,
        credits=row.credits,
        rate=row.rate,
        payload=row.payload,
        state=StarState(row.state),
        charge_id=row.telegram_payment_charge_id,
        topup_request_id=row.topup_request_id,
        created_at=row.created_at,
        paid_at=row.paid_at,
        refunded_at=row.refunded_at,
        refund_reason=row.refund_reason,
        refund_shortfall=row.refund_shortfall,
        payer_telegram_id=row.payer_telegram_id,
        customer_id=row.customer_id,
        plan_id=row.plan_id,
        discount_code_id=row.discount_code_id,
        discount_stars=row.discount_stars,
        refund_claimed_until=row.refund_claimed_until,
        refund_begun_at=row.refund_begun_at or row.paid_at,
        refund_error=row.refund_error,
        refund_actor=row.refund_actor,
    )


async def load(session: AsyncSession, payment_id: int, *, lock: bool = False) -> Payment | None:
    query = select(StarPayment).where(StarPayment.id == payment_id)
    if lock:
        query = query.with_for_update()
    row = (await session.scalars(query.execution_options(populate_existing=True))).first()
    if row is None:
        return None
    reseller = await session.get(Reseller, row.reseller_id)
    assert reseller is not None
    return _payment(row, reseller, await ledger.reseller_account_id(session, reseller.id))


async def require(session: AsyncSession, payment_id: int, *, lock: bool = False) -> Payment:
    found = await load(session, payment_id, lock=lock)
    if found is None:
        raise StarsError("unknown_payment", f"There is no Stars payment #{payment_id}.")
    return found


async def add_invoice(
    session: AsyncSession,
    *,
    purpose: StarPurpose,
    prefix: str,
    reseller_id: int,
    method_id: int,
    stars: int,
    credits: int,
    rate: int,
    payer_telegram_id: int,
    now: dt.datetime,
    customer_id: int | None = None,
    plan_id: int | None = None,
) -> Payment:
    """A payment invoiced now, under a fresh unguessable payload beginning ``prefix``."""
    payment = StarPayment(
        purpose=purpose,
        reseller_id=reseller_id,
        method_id=method_id,
        customer_id=customer_id,
        plan_id=plan_id,
        stars=stars,
        credits=credits,
        rate=rate,
        payload=f"{prefix}{secrets.token_urlsafe(18)}",
        state=StarState.INVOICED,
        payer_telegram_id=payer_telegram_id,
        created_at=now,
    )
    session.add(payment)
    await session.flush()
    return await require(session, payment.id)


async def by_payload(session: AsyncSession, payload: str, *, lock: bool = False) -> Payment | None:
    found = await session.scalar(select(StarPayment.id).where(StarPayment.payload == payload))
    return None if found is None else await load(session, found, lock=lock)


async def get_payment(db: Database, payment_id: int) -> Payment | None:
    async with db.transaction() as session:
        return await load(session, payment_id)


# --- the invoice ------------------------------------------------------------------------


def _check_bounds(credits: int, method: StarsMethod, min_credits: int, max_credits: int) -> None:
    low = max(min_credits, method.min_credits or 0)
    high = min(max_credits, method.max_credits or max_credits)
    if credits < low:
        raise StarsError("below_minimum", "Below the smallest Stars top-up.", minimum=low)
    if credits > high:
        raise StarsError("above_maximum", "Above the largest Stars top-up.", maximum=high)


async def create_invoice(
    db: Database,
    *,
    telegram_id: int,
    method_id: int,
    credits: int,
    min_credits: int,
    max_credits: int,
    now: dt.datetime,
) -> Payment:
    """A new invoice (state invoiced) for ``credits`` at the method's current rate."""

    async def _create(session: AsyncSession) -> Payment:
        reseller = await session.scalar(select(Reseller).where(Reseller.telegram_id == telegram_id))
        if reseller is None:
            raise StarsError("not_reseller", "Only resellers top up.")
        if reseller.status != ResellerStatus.ACTIVE:
            raise StarsError("suspended", "Your reseller account is suspended.")
        row = await session.get(PaymentMethod, method_id)
        method = None if row is None else method_view(row)
        if method is None or not method.active:
            raise StarsError("method_unavailable", "That payment method is not available.")
        _check_bounds(credits, method, min_credits, max_credits)
        stars = stars_for(credits, method.rate)
        if stars > MAX_STARS:
            raise StarsError("too_many_stars", "Too many Stars for one invoice.", maximum=MAX_STARS)
        return await add_invoice(
            session,
            purpose=StarPurpose.TOPUP,
            prefix="st:",
            reseller_id=reseller.id,
            method_id=method.id,
            stars=stars,
            credits=credits,
            rate=method.rate,
            payer_telegram_id=telegram_id,
            now=now,
        )

    return await db.run(_create)


async def cancel_invoice(
    db: Database, *, payment_id: int, telegram_id: int, now: dt.datetime
) -> Payment:
    """The reseller withdraws an unpaid invoice; its pre-checkout is refused from now on."""
    async with db.transaction() as session:
        found = await load(session, payment_id)
        if found is None or found.reseller_telegram_id != telegram_id:
            raise StarsError("unknown_payment", "You have no such invoice.")
        moved = await session.execute(
            update(StarPayment)
            .where(StarPayment.id == payment_id, StarPayment.state == StarState.INVOICED)
            .values(state=StarState.CANCELLED, cancelled_at=now)
        )
        if rowcount(moved) != 1:
            raise StarsError("not_invoiced", "That invoice is no longer open.", state=found.state)
        return await require(session, payment_id)


async def check_pre_checkout(
    db: Database,
    *,
    payload: str,
    telegram_id: int,
    total_amount: int,
    currency: str,
    now: dt.datetime | None = None,
) -> Checked:
    """Whether Telegram may take this payment: one quick read, well within 10 seconds."""
    async with db.transaction() as session:
        found = await by_payload(session, payload)
        if found is None or found.reseller_telegram_id != telegram_id:
            return Checked(Refusal.UNKNOWN)
        if found.state == StarState.CANCELLED:
            return Checked(Refusal.CANCELLED, found)
        if found.state != StarState.INVOICED:
            return Checked(Refusal.ALREADY_PAID, found)
        reseller = await session.get(Reseller, found.reseller_id)
        if reseller is None or reseller.status != ResellerStatus.ACTIVE:
            return Checked(Refusal.SUSPENDED, found)
        row = await session.get(PaymentMethod, found.method_id)
        method = None if row is None else method_view(row)
        if (
            method is None
            or not method.active
            or method.rate != found.rate
            or currency != CURRENCY
            or total_amount != found.stars
        ):
            return Checked(Refusal.CHANGED, found)
        # Imported here: discounts builds on this module.
        from bot.services.discounts import still_valid

        if not await still_valid(session, found, now or dt.datetime.now(dt.UTC)):
            return Checked(Refusal.CODE_INVALID, found)
        return Checked(None, found)


async def reissue(
    db: Database,
    *,
    payment_id: int,
    telegram_id: int,
    min_credits: int,
    max_credits: int,
    now: dt.datetime,
) -> Payment:
    """A fresh invoice for the same credits at today's rate; the old one is cancelled."""
    async with db.transaction() as session:
        old = await load(session, payment_id)
        if old is None or old.reseller_telegram_id != telegram_id:
            raise StarsError("unknown_payment", "You have no such invoice.")
        await session.execute(
            update(StarPayment)
            .where(StarPayment.id == payment_id, StarPayment.state == StarState.INVOICED)
            .values(state=StarState.CANCELLED, cancelled_at=now)
        )
    return await create_invoice(
        db, telegram_id=telegram_id, method_id=old.method_id, credits=old.credits,
        min_credits=min_credits, max_credits=max_credits, now=now,
    )  # fmt: skip
