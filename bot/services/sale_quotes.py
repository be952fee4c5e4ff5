"""Preparing a sale: the plans on offer at the seller's prices, a new customer's username,
and the quote the confirmation screen shows (cost, credit now and after, new expiry)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import downline, ledger, price_lists
from bot.services.customers import CustomerError, PlanView, _own, _plan, check_username
from bot.services.resellers import ResellerView, load_by_telegram_id, require_by_telegram_id
from bot.services.sale_errors import PlanUnavailable
from models import Customer, Plan, ResellerStatus


@dataclass(frozen=True)
class SaleQuote:
    plan: PlanView
    price: int
    available_now: int
    available_after: int
    expires_at: dt.datetime
    missing: int  # credit lacking, 0 when affordable


def new_expiry(current: dt.datetime | None, now: dt.datetime, days: int) -> dt.datetime:
    """The later of now and the current expiry, plus the plan's days."""
    start = max(now, current) if current is not None else now
    return start + dt.timedelta(days=days)


async def active_reseller(session: AsyncSession, telegram_id: int) -> ResellerView:
    reseller = await require_by_telegram_id(session, telegram_id)
    if reseller.status != ResellerStatus.ACTIVE:
        raise CustomerError("Your reseller account is suspended, so sales are paused.", "suspended")
    await downline.require_upline_active(session, reseller.id)  # a suspended parent: none below
    return reseller


async def active_plan(
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


async def check_new_username(db: Database, telegram_id: int, text: str) -> str:
    username = check_username(text)
    async with db.transaction() as session:
        await active_reseller(session, telegram_id)
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
        reseller = await active_reseller(session, telegram_id)
        plan = await active_plan(session, plan_id, reseller)
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
