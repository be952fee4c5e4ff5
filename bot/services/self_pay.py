"""A reseller's self-service renewals: whether its customers may pay their own renewal in
Stars, and at what price per plan.

The Stars a customer pays become revenue credited to the reseller at the renewal rate
(the first active Stars payment method's credits per Star); the renewal then charges the
reseller the plan's price as any renewal does, so what is left is its margin, in credits.
The renewal itself is ``bot.services.star_renewals``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.days import latin_digits
from bot.db import Database
from bot.services import admin_log
from bot.services.price_list_core import price_for
from bot.services.stars import MAX_STARS, StarsError, StarsMethod, method_view
from models import MethodKind, PaymentMethod, Plan, Reseller, SelfPayPrice


@dataclass(frozen=True)
class PlanPrice:
    """One plan as the reseller prices it for its customers."""

    plan_id: int
    name: str
    days: int
    cost: int  # what a renewal charges the reseller, hundredths of a credit
    stars: int | None  # what its customers pay; None: not offered
    revenue: int | None  # ``stars`` in credits at the rate (hundredths); None: no rate

    @property
    def margin(self) -> int | None:
        return None if self.revenue is None else self.revenue - self.cost


@dataclass(frozen=True)
class SelfPay:
    reseller_id: int
    telegram_id: int
    enabled: bool
    rate: int | None  # hundredths of a credit per Star; None: no active Stars method
    plans: list[PlanPrice]

    def plan(self, plan_id: int) -> PlanPrice | None:
        return next((p for p in self.plans if p.plan_id == plan_id), None)


def parse_stars(text: str) -> int:
    """A whole number of Stars as typed (any digits); 0 means "not offered"."""
    cleaned = latin_digits(text.strip())
    if not cleaned.isascii() or not cleaned.isdigit():
        raise StarsError("not_whole_stars", "Send a whole number of Stars, like 150.")
    stars = int(cleaned)
    if stars > MAX_STARS:
        raise StarsError("too_many_stars", "Too many Stars.", maximum=MAX_STARS)
    return stars


async def renewal_rate(session: AsyncSession) -> StarsMethod | None:
    """The Stars method whose rate converts customers' payments (the first active one)."""
    rows = await session.scalars(
        select(PaymentMethod)
        .where(PaymentMethod.kind == MethodKind.STARS, PaymentMethod.active.is_(True))
        .order_by(PaymentMethod.id)
    )
    for row in rows:
        found = method_view(row)
        if found is not None:
            return found
    return None


async def _reseller(session: AsyncSession, telegram_id: int) -> Reseller:
    row = await session.scalar(
        select(Reseller)
        .where(Reseller.telegram_id == telegram_id)
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise StarsError("not_reseller", "Only resellers set customer prices.")
    return row


async def _settings(session: AsyncSession, reseller: Reseller) -> SelfPay:
    method = await renewal_rate(session)
    rate = method.rate if method else None
    prices = dict(
        (
            await session.execute(
                select(SelfPayPrice.plan_id, SelfPayPrice.stars).where(
                    SelfPayPrice.reseller_id == reseller.id
                )
            )
        ).all()
    )
    plans = []
    for plan in await session.scalars(
        select(Plan).where(Plan.active.is_(True)).order_by(Plan.position, Plan.id)
    ):
        stars = prices.get(plan.id)
        plans.append(
            PlanPrice(
                plan_id=plan.id,
                name=plan.name,
                days=plan.days,
                cost=await price_for(session, reseller.id, plan),
                stars=stars,
                revenue=stars * rate if stars is not None and rate is not None else None,
            )
        )
    return SelfPay(reseller.id, reseller.telegram_id, reseller.self_pay_enabled, rate, plans)


async def settings_of(db: Database, telegram_id: int) -> SelfPay:
    async with db.transaction() as session:
        return await _settings(session, await _reseller(session, telegram_id))


async def set_enabled(
    db: Database, *, telegram_id: int, enabled: bool, actor: str, now: dt.datetime
) -> SelfPay:
    """Switch self-service renewals on or off for a reseller's customers (logged)."""

    async def _set(session: AsyncSession) -> SelfPay:
        reseller = await _reseller(session, telegram_id)
        if reseller.self_pay_enabled != enabled:
            reseller.self_pay_enabled = enabled
            await admin_log.record(
                session, actor=actor, action="self_pay", now=now, reseller_id=reseller.id,
                before={"enabled": not enabled}, after={"enabled": enabled},
            )  # fmt: skip
        return await _settings(session, reseller)

    return await db.run(_set)


async def set_price(
    db: Database, *, telegram_id: int, plan_id: int, stars: int, actor: str, now: dt.datetime
) -> SelfPay:
    """Set what customers pay in Stars for a plan; 0 stops offering it (logged).

    A price below the reseller's own cost is refused: the renewal would need more credit
    than the payment brings.
    """

    async def _set(session: AsyncSession) -> SelfPay:
        reseller = await _reseller(session, telegram_id)
        plan = await session.get(Plan, plan_id)
        if plan is None or not plan.active:
            raise StarsError("plan_unavailable", "That plan is no longer available.")
        row = await session.scalar(
            select(SelfPayPrice).where(
                SelfPayPrice.reseller_id == reseller.id, SelfPayPrice.plan_id == plan_id
            )
        )
        before = row.stars if row else None
        if stars == 0:
            await session.execute(
                delete(SelfPayPrice).where(
                    SelfPayPrice.reseller_id == reseller.id, SelfPayPrice.plan_id == plan_id
                )
            )
        else:
            method = await renewal_rate(session)
            if method is None:
                raise StarsError("no_rate", "No Stars payment method is set up.")
            cost = await price_for(session, reseller.id, plan)
            if stars * method.rate < cost:
                raise StarsError(
                    "below_cost", "Below your cost.", minimum=-(-cost // method.rate), cost=cost
                )
            if row is None:
                session.add(
                    SelfPayPrice(
                        reseller_id=reseller.id, plan_id=plan_id, stars=stars, updated_at=now
                    )
                )
            else:
                row.stars, row.updated_at = stars, now
        await session.flush()
        await admin_log.record(
            session, actor=actor, action="self_pay_price", now=now, reseller_id=reseller.id,
            before={"plan_id": plan_id, "stars": before},
            after={"plan_id": plan_id, "stars": stars or None},
        )  # fmt: skip
        return await _settings(session, reseller)

    return await db.run(_set)
