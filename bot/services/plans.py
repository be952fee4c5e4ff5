"""Plans (packages) resellers sell."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from models import Plan

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_DAYS = 3660


class PlanError(Exception):
    """A plan operation was refused; the message says why."""


@dataclass(frozen=True)
class PlanView:
    id: int
    code: str
    name: str
    days: int
    price: int
    active: bool


def _view(plan: Plan) -> PlanView:
    return PlanView(plan.id, plan.code, plan.name, plan.days, plan.price, plan.active)


async def add_plan(db: Database, *, code: str, name: str, days: int, price: int) -> PlanView:
    code = code.strip().lower()
    name = name.strip()
    if not _CODE.fullmatch(code):
        raise PlanError("a plan code is 1 to 32 lowercase letters, digits, '-' or '_'")
    if not name or len(name) > 100:
        raise PlanError("the plan name must be 1 to 100 characters")
    if not 0 < days <= MAX_DAYS:
        raise PlanError(f"days must be between 1 and {MAX_DAYS}")
    if price <= 0:
        raise PlanError("the price must be greater than zero")

    async def _add(session: AsyncSession) -> PlanView:
        if await session.scalar(select(Plan.id).where(Plan.code == code)) is not None:
            raise PlanError(f"a plan with code {code!r} already exists")
        plan = Plan(code=code, name=name, days=days, price=price, active=True)
        session.add(plan)
        await session.flush()
        return _view(plan)

    return await db.run(_add)


async def list_plans(db: Database, *, active_only: bool = False) -> list[PlanView]:
    async with db.transaction() as session:
        query = select(Plan).order_by(Plan.price, Plan.id)
        if active_only:
            query = query.where(Plan.active.is_(True))
        return [_view(p) for p in await session.scalars(query)]
