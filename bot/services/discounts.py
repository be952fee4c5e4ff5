"""Discount codes on Stars invoices: created by admins, entered at the invoice.

A code takes Stars off one invoice (a reseller's top-up, or a customer's renewal): a
percentage (rounded down to whole Stars) or a fixed number of Stars, never below one Star
to pay. Entering it replaces the open invoice by a new one with the discount stated and
recorded on the payment (``discount_code_id``, ``discount_stars``); a top-up keeps its
credits, a renewal's revenue is what the customer pays. A use is a paid payment carrying
the code; the caps are checked when the code is entered and again at pre-checkout.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log
from bot.services.ledger import rowcount
from bot.services.stars import Payment, StarsError, require
from models import (
    Customer,
    DiscountCode,
    DiscountTarget,
    Plan,
    Reseller,
    StarPayment,
    StarPurpose,
    StarState,
)

CODE = re.compile(r"[A-Z0-9_-]{3,32}")
COUNTED = (StarState.PAID, StarState.REFUND_PENDING)  # a refunded use gives the use back


@dataclass(frozen=True)
class Discount:
    id: int
    code: str
    target: DiscountTarget
    percent_off: int | None
    stars_off: int | None
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    max_uses: int | None
    max_uses_per_user: int | None
    plan_code: str | None
    reseller_telegram_id: int | None
    active: bool
    uses: int
    stars_given: int  # Stars taken off by its uses, in all


def check_code(text: str) -> str:
    code = text.strip().upper()
    if not CODE.fullmatch(code):
        raise StarsError("bad_code", "A code is 3 to 32 letters, digits, - or _.")
    return code


def stars_off(code: DiscountCode, base: int) -> int:
    """What ``code`` takes off an invoice of ``base`` Stars: whole Stars, one left to pay."""
    off = base * code.percent_off // 100 if code.percent_off else code.stars_off or 0
    return max(0, min(off, base - 1))


async def _uses(session: AsyncSession, code_id: int, payer: int | None = None) -> int:
    query = select(func.count()).where(
        StarPayment.discount_code_id == code_id, StarPayment.state.in_(COUNTED)
    )
    if payer is not None:
        query = query.where(StarPayment.payer_telegram_id == payer)
    return int(await session.scalar(query) or 0)


async def refusal(
    session: AsyncSession, code: DiscountCode, payment: Payment, now: dt.datetime
) -> str | None:
    """Why ``code`` does not apply to ``payment`` (a StarsError code), or None."""
    target = DiscountTarget.RENEWAL if payment.purpose == StarPurpose.RENEWAL else None
    if not code.active or code.target != (target or DiscountTarget.TOPUP):
        return "code_not_for_this"
    if (code.valid_from and now < code.valid_from) or (code.valid_until and now > code.valid_until):
        return "code_expired"
    if code.plan_id is not None and code.plan_id != payment.plan_id:
        return "code_not_for_this"
    if code.reseller_id is not None and code.reseller_id != payment.reseller_id:
        return "code_not_for_this"
    if code.max_uses is not None and await _uses(session, code.id) >= code.max_uses:
        return "code_used_up"
    if code.max_uses_per_user is not None and (
        await _uses(session, code.id, payment.payer_telegram_id) >= code.max_uses_per_user
    ):
        return "code_used_up"
    return None


async def apply_code(
    db: Database, *, payment_id: int, telegram_id: int, text: str, now: dt.datetime
) -> Payment:
    """The open invoice ``payment_id`` replaced by one with ``text``'s discount (the old one
    cancelled), or refused with why (``unknown_code``, ``code_used_up``...)."""

    async def _apply(session: AsyncSession) -> Payment:
        old = await require(session, payment_id, lock=True)
        if old.payer_telegram_id != telegram_id or old.state != StarState.INVOICED:
            raise StarsError("not_invoiced", "That invoice is no longer open.")
        code = await session.scalar(
            select(DiscountCode).where(DiscountCode.code == check_code(text))
        )
        if code is None:
            raise StarsError("unknown_code", "There is no such code.")
        why = await refusal(session, code, old, now)
        if why is not None:
            raise StarsError(why, "That code cannot be used here.", discount=code.code)
        base = old.stars + old.discount_stars
        off = stars_off(code, base)
        if off == 0:
            raise StarsError("code_not_for_this", "That code takes nothing off this invoice.")
        moved = await session.execute(
            update(StarPayment)
            .where(StarPayment.id == old.id, StarPayment.state == StarState.INVOICED)
            .values(state=StarState.CANCELLED, cancelled_at=now)
        )
        assert rowcount(moved) == 1, "the invoice row is locked"
        stars = base - off
        prefix = old.payload.split(":", 1)[0]
        row = StarPayment(
            purpose=old.purpose, reseller_id=old.reseller_id, method_id=old.method_id,
            customer_id=old.customer_id, plan_id=old.plan_id, stars=stars,
            # A top-up keeps its credits; a renewal's revenue is what the customer pays.
            credits=stars * old.rate if old.purpose == StarPurpose.RENEWAL else old.credits,
            rate=old.rate, payload=f"{prefix}:{secrets.token_urlsafe(18)}",
            state=StarState.INVOICED, payer_telegram_id=old.payer_telegram_id,
            discount_code_id=code.id, discount_stars=off, created_at=now,
        )  # fmt: skip
        session.add(row)
        await session.flush()
        return await require(session, row.id)

    return await db.run(_apply)


async def still_valid(session: AsyncSession, payment: Payment, now: dt.datetime) -> bool:
    """At pre-checkout: the invoice's code (if any) is still good for it."""
    if payment.discount_code_id is None:
        return True
    code = await session.get(DiscountCode, payment.discount_code_id, populate_existing=True)
    return code is not None and await refusal(session, code, payment, now) is None


@dataclass(frozen=True)
class NewCode:
    code: str
    target: DiscountTarget
    percent_off: int | None = None
    stars_off: int | None = None
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None
    max_uses: int | None = None
    max_uses_per_user: int | None = None
    plan_code: str | None = None
    reseller_telegram_id: int | None = None


async def create(db: Database, new: NewCode, *, actor: str, now: dt.datetime) -> Discount:
    """A new code (logged); refused when it is taken or its terms do not hold together."""
    code = check_code(new.code)
    if (new.percent_off is None) == (new.stars_off is None):
        raise StarsError("bad_discount", "Give either a percentage or a number of Stars.")
    if new.percent_off is not None and not 0 < new.percent_off < 100:
        raise StarsError("bad_discount", "A percentage is between 1 and 99.")
    if new.stars_off is not None and new.stars_off <= 0:
        raise StarsError("bad_discount", "The Stars off must be positive.")
    if new.valid_from and new.valid_until and new.valid_until <= new.valid_from:
        raise StarsError("bad_discount", "The code must end after it starts.")
    if any(n is not None and n <= 0 for n in (new.max_uses, new.max_uses_per_user)):
        raise StarsError("bad_discount", "Usage caps must be positive.")

    async def _create(session: AsyncSession) -> Discount:
        if await session.scalar(select(DiscountCode.id).where(DiscountCode.code == code)):
            raise StarsError("code_taken", f"There is already a code {code}.")
        plan_id = reseller_id = None
        if new.plan_code is not None:
            plan_id = await session.scalar(select(Plan.id).where(Plan.code == new.plan_code))
            if plan_id is None:
                raise StarsError("bad_discount", f"There is no plan {new.plan_code!r}.")
        if new.reseller_telegram_id is not None:
            reseller_id = await session.scalar(
                select(Reseller.id).where(Reseller.telegram_id == new.reseller_telegram_id)
            )
            if reseller_id is None:
                raise StarsError("bad_discount", "There is no such reseller.")
        row = DiscountCode(
            code=code, target=new.target, percent_off=new.percent_off, stars_off=new.stars_off,
            valid_from=new.valid_from, valid_until=new.valid_until, max_uses=new.max_uses,
            max_uses_per_user=new.max_uses_per_user, plan_id=plan_id, reseller_id=reseller_id,
            active=True, created_by=actor, created_at=now,
        )  # fmt: skip
        session.add(row)
        await session.flush()
        await admin_log.record(
            session, actor=actor, action="discount_added", now=now,
            after={"code": code, "target": new.target.value, "percent_off": new.percent_off,
                   "stars_off": new.stars_off, "max_uses": new.max_uses},
        )  # fmt: skip
        return await _view(session, row)

    return await db.run(_create)


async def disable(db: Database, *, code: str, actor: str, now: dt.datetime) -> Discount:
    async with db.transaction() as session:
        row = await session.scalar(
            select(DiscountCode).where(DiscountCode.code == check_code(code))
        )
        if row is None:
            raise StarsError("unknown_code", "There is no such code.")
        if row.active:
            row.active = False
            await admin_log.record(
                session, actor=actor, action="discount_disabled", now=now,
                before={"code": row.code, "active": True}, after={"active": False},
            )  # fmt: skip
        return await _view(session, row)


async def _view(session: AsyncSession, row: DiscountCode) -> Discount:
    plan = await session.get(Plan, row.plan_id) if row.plan_id else None
    reseller = await session.get(Reseller, row.reseller_id) if row.reseller_id else None
    given = await session.scalar(
        select(func.coalesce(func.sum(StarPayment.discount_stars), 0)).where(
            StarPayment.discount_code_id == row.id, StarPayment.state.in_(COUNTED)
        )
    )
    return Discount(
        id=row.id, code=row.code, target=DiscountTarget(row.target),
        percent_off=row.percent_off, stars_off=row.stars_off, valid_from=row.valid_from,
        valid_until=row.valid_until, max_uses=row.max_uses,
        max_uses_per_user=row.max_uses_per_user, plan_code=plan.code if plan else None,
        reseller_telegram_id=reseller.telegram_id if reseller else None, active=row.active,
        uses=await _uses(session, row.id), stars_given=int(given or 0),
    )  # fmt: skip


async def report(db: Database) -> list[Discount]:
    """Every code with its paid uses and the Stars it took off, newest first."""
    async with db.transaction() as session:
        rows = await session.scalars(select(DiscountCode).order_by(DiscountCode.id.desc()))
        return [await _view(session, row) for row in list(rows)]


@dataclass(frozen=True)
class Use:
    payment_id: int
    payer_telegram_id: int
    customer: str | None
    stars: int
    stars_off: int
    paid_at: dt.datetime | None


async def uses_of(db: Database, code: str) -> list[Use]:
    """Each paid use of ``code``: who paid, what and when."""
    async with db.transaction() as session:
        row = await session.scalar(
            select(DiscountCode).where(DiscountCode.code == check_code(code))
        )
        if row is None:
            raise StarsError("unknown_code", "There is no such code.")
        found = await session.execute(
            select(StarPayment, Customer.username)
            .outerjoin(Customer, Customer.id == StarPayment.customer_id)
            .where(StarPayment.discount_code_id == row.id, StarPayment.state.in_(COUNTED))
            .order_by(StarPayment.id)
        )
        return [
            Use(p.id, p.payer_telegram_id, name, p.stars, p.discount_stars, p.paid_at)
            for p, name in found
        ]
